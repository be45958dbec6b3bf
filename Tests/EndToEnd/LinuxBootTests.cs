using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The stock Debian 12 kernel and a busybox initramfs (scripts/guest-images.sh, cached outside the
/// repository) booted in the software CPU, driven over the serial console as a user would: the
/// oracles are the kernel package's own version string, the CPU model emu advertises, and the
/// host's SHA-256 of the same bytes the guest hashes.
/// </summary>
public sealed class LinuxBootTests
{
    [SkippableFact]
    public void DebianKernelBootsToTheBusyboxShellAndPowersOff()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string version = File.ReadAllText(Path.Combine(GuestConsole.Cache, "kernel-version")).Trim();

        using GuestConsole guest = GuestConsole.Boot();
        guest.WaitForShell(TimeSpan.FromMinutes(12));
        guest.Command("uname -r", version);
        guest.Command("grep -m1 'model name' /proc/cpuinfo", Emulator.Core.Cpu.CpuModel.Brand);

        // 1,000,000 bytes of "emu\n" repeated, hashed in the guest by busybox and here by .NET.
        byte[] data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("emu\n", 250_000)));
        string expected = Convert.ToHexStringLower(SHA256.HashData(data));
        guest.Command("yes emu | head -c 1000000 | sha256sum", expected);

        int? status = guest.PowerOff(TimeSpan.FromMinutes(2));
        Assert.True(status == 0, $"emu exit status {status?.ToString() ?? "none (still running)"} after poweroff -f; stderr: {guest.Stderr}");
    }
}
