using System.Text.RegularExpressions;
using Emulator.Kvm;
using Xunit;

namespace Emulator.Tests.Kvm;

public sealed partial class KvmProbeTests
{
    [GeneratedRegex(@"^flags\s*:.*\b(vmx|svm)\b", RegexOptions.Multiline)]
    private static partial Regex VirtualizationFlag();

    private static bool CpuInfoHasVirtualization() =>
        File.Exists("/proc/cpuinfo") && VirtualizationFlag().IsMatch(File.ReadAllText("/proc/cpuinfo"));

    [Fact]
    public void ProbeReturnsWithoutThrowing()
    {
        KvmProbeResult result = KvmProbe.Run();

        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
        Assert.DoesNotContain('\n', result.Reason);
        Assert.Contains(result.Reason, result.FormatReport(), StringComparison.Ordinal);
        Assert.True(!result.Fast || result.Usable);
    }

    [Fact]
    public void AbsentDeviceIsReportedNotThrown()
    {
        KvmProbeResult result = KvmProbe.Run("/nonexistent/kvm", "/nonexistent/cpuinfo");

        Assert.False(result.DeviceExists);
        Assert.False(result.CanOpen);
        Assert.False(result.Usable);
        Assert.False(result.Fast);
        Assert.Contains("/nonexistent/kvm", result.Reason, StringComparison.Ordinal);
        Assert.Contains("absent", result.FormatReport(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ApiVersionIsTwelveWhereKvmExists()
    {
        Skip.IfNot(File.Exists("/dev/kvm"), "/dev/kvm does not exist on this host");
        KvmProbeResult result = KvmProbe.Run();
        Skip.IfNot(result.CanOpen, $"/dev/kvm exists but cannot be opened: {result.OpenError}");

        Assert.True(result.DeviceExists);
        Assert.Equal(12, result.ApiVersion);
        Assert.Contains(result.Capabilities, c => c.Name == "USER_MEMORY" && c.Number == 3 && c.Present);
    }

    [Fact]
    public void HardwareVirtualizationMatchesCpuInfoAndFastNeedsIt()
    {
        KvmProbeResult result = KvmProbe.Run();
        bool flag = CpuInfoHasVirtualization();

        Assert.Equal(flag, result.HardwareVirtualization);
        Assert.Equal(result.Usable && flag, result.Fast);
        if (result.Usable && !flag)
        {
            Assert.Contains("no vmx/svm", result.Reason, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("processor\t: 0\nflags\t\t: fpu vme vmx sse\n", true, false)]
    [InlineData("flags\t\t: fpu svm hypervisor\n", true, true)]
    [InlineData("flags\t\t: fpu hypervisor vmxnotreal\n", false, true)]
    [InlineData("vmx flags\t: ept vpid\nflags\t\t: fpu\n", false, false)]
    [InlineData("", false, false)]
    public void CpuFlagsAreParsedAsWholeWords(string cpuInfo, bool hardware, bool hypervisor) =>
        Assert.Equal((hardware, hypervisor), KvmProbe.ParseCpuFlags(cpuInfo));
}
