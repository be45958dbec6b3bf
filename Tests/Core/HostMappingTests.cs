using Emulator.Core.Memory;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class HostMappingTests
{
    [Fact]
    public unsafe void MappingIsPageAlignedAndRoundedUp()
    {
        using var mapping = new HostMapping(5000);

        Assert.Equal(2 * HostMapping.PageSize, mapping.Size);
        Assert.Equal(0UL, (ulong)mapping.Pointer % HostMapping.PageSize);
    }

    [Fact]
    public void MappingStartsZeroed()
    {
        using var mapping = new HostMapping(3 * HostMapping.PageSize);

        Span<byte> all = mapping.AsSpan(0, (int)mapping.Size);
        Assert.Equal(-1, all.IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void SpanOutsideTheMappingIsRejected()
    {
        using var mapping = new HostMapping(HostMapping.PageSize);

        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.AsSpan(HostMapping.PageSize - 1, 2));
    }

    // The host kernel is the oracle: /proc/self/smaps lists a mapping's advice in VmFlags, "hg" for
    // MADV_HUGEPAGE and "nh" for MADV_NOHUGEPAGE (proc(5)).
    [SkippableFact]
    public unsafe void HugePageAdviceReachesTheHostKernel()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "transparent huge pages and /proc/self/smaps are Linux's");
        using var mapping = new HostMapping(2 * HostMapping.HugePageSize);

        mapping.AdviseHugePages(false);
        string[] small = VmFlags((ulong)mapping.Pointer);
        mapping.AdviseHugePages(true);
        string[] huge = VmFlags((ulong)mapping.Pointer);

        Assert.Contains("nh", small);
        Assert.DoesNotContain("hg", small);
        Assert.Contains("hg", huge);
        Assert.DoesNotContain("nh", huge);
    }

    private static string[] VmFlags(ulong address)
    {
        string? flags = null;
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && Uri.IsHexDigit(line[0]) && line.Contains('-', StringComparison.Ordinal))
            {
                string[] range = line.Split(' ')[0].Split('-');
                inside = Convert.ToUInt64(range[0], 16) <= address && address < Convert.ToUInt64(range[1], 16);
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                flags = line["VmFlags:".Length..];
            }
        }

        Assert.NotNull(flags);
        return flags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void ZeroSizeIsRejected() => Assert.Throws<ArgumentOutOfRangeException>(() => new HostMapping(0));
}
