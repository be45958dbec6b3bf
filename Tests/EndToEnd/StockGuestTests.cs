using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// Stock software from Debian 12 packages that emu was not written against (scripts/stock-guests.sh
/// builds the images at run time into a cache outside the repository): Debian's 32-bit kernel
/// (686-pae) with a busybox-static:i386 initramfs, and iPXE's ipxe.lkrn (a Linux-header image with
/// only a real-mode entry) and ipxe.iso. The oracles are the packages' own version strings, the
/// host's SHA-256 of the bytes the guest hashes, and what QEMU's SeaBIOS path prints for the same
/// iPXE image.
/// </summary>
public sealed class StockGuestTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private static readonly Lazy<string?> Built = new(Build);

    private static string Cache { get; } = Environment.GetEnvironmentVariable("EMU_STOCK_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "emu", "stock");

    private static string I386(string name) => Path.Combine(Cache, "i386", name);

    private static string Ipxe(string name) => Path.Combine(Cache, "ipxe", name);

    [SkippableFact]
    public void DebianI386KernelBootsToTheShell()
    {
        string? missing = Missing(I386("vmlinuz"), I386("initramfs.gz"), I386("kernel-version"));
        Skip.If(missing is not null, missing);
        string version = File.ReadAllText(I386("kernel-version")).Trim();

        using GuestConsole guest = GuestConsole.Start("--accel", "jit", "-m", "512M", "--kernel", I386("vmlinuz"), "--initrd", I386("initramfs.gz"),
            "--append", "console=ttyS0 panic=-1");
        guest.WaitForOutput($"emu-guest: init reached ({version} i686)", Timeout);
        guest.WaitForShell(Timeout);

        // 1,000,000 bytes of "emu\n", hashed by the 32-bit busybox in the guest and by .NET here.
        string expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("emu\n", 250_000)))));
        guest.Command("yes emu | head -c 1000000 | sha256sum", expected);

        // PAE paging with NX, as the 686-pae kernel requires of the CPU and enables.
        guest.Command("for f in pae nx; do grep -m1 '^flags' /proc/cpuinfo | grep -qw $f && printf '%s,' $f; done; echo", "pae,nx,");

        // Nothing went wrong in the kernel: no oops, BUG or WARN splat (they all print a call trace).
        guest.Command("echo traces=$(dmesg | grep -c -e 'Call Trace' -e 'BUG:' -e 'WARNING:')", "traces=0");

        int? status = guest.PowerOff(TimeSpan.FromMinutes(2));
        Assert.True(status == 0, $"emu exit status {status?.ToString() ?? "none (still running)"} after poweroff -f; stderr: {guest.Stderr}");
    }

    // console=tty0 on a direct boot: no VGA BIOS runs, so emu sets text mode 3 and fills
    // boot_params.screen_info. The kernel must take the VGA text console as it does under QEMU
    // (its own line "Console: colour VGA+ 80x25"), and every kernel line on the screen must be one
    // the kernel also printed on its serial console (ttyS0 comes last, so the shell stays there).
    [SkippableFact]
    public void DebianKernelConsoleOnTheVgaTextScreen()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string screen = Path.Combine(Path.GetTempPath(), $"emu-tty0-{Environment.ProcessId}.txt");
        try
        {
            string serial;
            using (GuestConsole guest = GuestConsole.Start("--accel", "jit", "-m", "512M", "--kernel", GuestConsole.Kernel, "--initrd", GuestConsole.Initrd,
                "--append", "console=tty0 console=ttyS0", "--screendump-on-exit", screen))
            {
                guest.WaitForShell(Timeout);
                guest.Command("dmesg | grep -m1 'Console: colour'", "Console: colour VGA+ 80x25");
                Assert.Equal(0, guest.Terminate(TimeSpan.FromSeconds(30)));
                serial = guest.Output;
            }

            string[] kernelLines = [.. File.ReadAllLines(screen).Select(l => l.TrimEnd()).Where(l => l.StartsWith('[') && l.Contains("] ", StringComparison.Ordinal))];
            Assert.True(kernelLines.Length >= 10, $"the screen holds {kernelLines.Length} kernel lines:\n{File.ReadAllText(screen)}");
            Assert.All(kernelLines, l => Assert.Contains(l, serial, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(screen);
        }
    }

    // ipxe.lkrn has code32_start 0: emu boots it through SeaBIOS and its linuxboot option ROM. With no
    // network card iPXE prints its banner and features, finds no device and returns to the BIOS.
    // SeaBIOS's serial console (etc/sercon-port, QEMU's -machine graphics=off) mirrors that screen
    // text to COM1 under both emulators: emu's must be QEMU's, byte for byte, up to iPXE's last line.
    [SkippableFact]
    public void IpxeLkrnAsKernelPrintsWhatItPrintsUnderQemu()
    {
        string? missing = Missing(Ipxe("ipxe.lkrn")) ?? NoSeaBios;
        Skip.If(missing is not null, missing);
        const string Last = "No more network devices";

        string qemuText;
        using (GuestConsole qemu = GuestConsole.StartQemu("-accel", "tcg", "-machine", "graphics=off", "-m", "256", "-nic", "none", "-kernel", Ipxe("ipxe.lkrn")))
        {
            qemu.WaitForOutput(Last, Timeout);
            qemuText = UpTo(qemu.Output, Last);
        }

        using GuestConsole emu = GuestConsole.Start("--accel", "jit", "-m", "256M", "--kernel", Ipxe("ipxe.lkrn"));
        emu.WaitForOutput(Last, Timeout);
        Assert.Contains("iPXE initialising devices...ok", qemuText, StringComparison.Ordinal);
        Assert.Equal(qemuText, UpTo(emu.Output, Last));
    }

    // ipxe.iso from the CD-ROM (ISOLINUX loads ipxe.krn through INT 13h), with a virtio network card on
    // user-mode networking: iPXE drives the card itself and gets the address libslirp's DHCP server
    // hands out (10.0.2.15, gateway 10.0.2.2, as under QEMU's -nic user,model=virtio-net-pci).
    [SkippableFact]
    public void IpxeIsoConfiguresTheVirtioNetworkCardByDhcp()
    {
        string? missing = Missing(Ipxe("ipxe.iso")) ?? NoSeaBios;
        Skip.If(missing is not null, missing);
        Skip.IfNot(File.Exists("/usr/lib/x86_64-linux-gnu/libslirp.so.0"), "libslirp0 is not installed (--nic user needs it)");

        using GuestConsole emu = GuestConsole.Start("--accel", "jit", "-m", "256M", "--cdrom", Ipxe("ipxe.iso"), "--boot", "d", "--nic", "user");
        emu.WaitForOutput("using virtio-net on 0000:00:03.0", Timeout);
        emu.WaitForOutput("net0: 10.0.2.15/255.255.255.0 gw 10.0.2.2", Timeout);
    }

    private static string UpTo(string output, string last)
    {
        int end = output.IndexOf(last, StringComparison.Ordinal) + last.Length;
        int start = output.IndexOf("SeaBIOS (version", StringComparison.Ordinal);
        Assert.True(start >= 0 && start < end, $"SeaBIOS's banner before \"{last}\":\n{output}");
        return output[start..end];
    }

    private static string? NoSeaBios => File.Exists(BootImages.SeaBios) ? null : $"{BootImages.SeaBios} is missing (apt-get install seabios)";

    private static string? Missing(params string[] files) =>
        Built.Value ?? (files.FirstOrDefault(f => !File.Exists(f)) is { } f ? $"{f} is missing (scripts/stock-guests.sh builds it; .ci/run does)" : null);

    // Built once per test run, reusing the cache: a no-op after the first time.
    private static string? Build()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(DemoGuestTests.RepositoryRoot(), "scripts", "stock-guests.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["EMU_STOCK_CACHE"] = Cache;
        using var p = System.Diagnostics.Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _ = stdout.Result;
        // The script builds the iPXE images before it may stop for want of i386 packages: a missing
        // file is reported per test, by Missing.
        return p.ExitCode == 0 || File.Exists(Ipxe("ipxe.lkrn")) ? null : $"stock-guests.sh failed: {stderr.Trim()}";
    }
}
