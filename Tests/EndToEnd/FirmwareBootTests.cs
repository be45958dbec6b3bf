using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emulator.Tests.Display;
using Emulator.Tests.EndToEnd.Control;
using Emulator.Tests.Kvm;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// Booting through Debian's SeaBIOS as a user would: `emu run` with a disk or an ISO and no kernel.
/// The oracles are the firmware's own version string (read from the ROM file), the boot loaders'
/// banners, the guest kernel's view of its disks, the host's SHA-256 of the same bytes, and the
/// glyphs of Debian's VGA BIOS font for the saved screen image.
/// </summary>
public sealed class FirmwareBootTests : IDisposable
{
    private static readonly TimeSpan ShellTimeout = TimeSpan.FromMinutes(12);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-fwboot").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>
    /// The banner the ROM will print: its format "SeaBIOS (version %s)" with the one string in the
    /// ROM that looks like a version (digits.digits.digits then anything up to the NUL).
    /// </summary>
    private static string SeaBiosBanner()
    {
        string rom = Encoding.Latin1.GetString(File.ReadAllBytes(BootImages.SeaBios));
        Assert.Contains("SeaBIOS (version %s)", rom, StringComparison.Ordinal);
        string[] versions = [.. rom.Split('\0').Where(s => Regex.IsMatch(s, @"^[0-9]+\.[0-9]+\.[0-9]+[\x21-\x7e]*$")).Distinct()];
        Assert.Single(versions);
        return $"SeaBIOS (version {versions[0]})";
    }

    // libata and virtio probe their disks asynchronously after /init loaded the modules: a shell
    // loop waits (at most two minutes) for the device node.
    private static string WaitForDevice(string node) => $"n=0; while [ ! -b {node} ] && [ $n -lt 120 ]; do sleep 1; n=$((n+1)); done; ";

    private static string Sha256Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    [SkippableFact]
    public void SeaBiosBannerIsOnTheScreenTheSerialConsoleAndTheDebugPort() => BannerWithoutBootDevice("jit");

    [SkippableFact]
    public void SeaBiosBannerUnderKvm()
    {
        KvmHost.SkipUnlessUsable();
        BannerWithoutBootDevice("kvm");
    }

    private void BannerWithoutBootDevice(string accel)
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        string banner = SeaBiosBanner();
        using (GuestConsole emu = GuestConsole.Start("--accel", accel, "--bios", BootImages.SeaBios, "--debugcon", $"file:{Out("402.log")},port=0x402",
            "--screendump-on-exit", Out("screen.txt"), "--screendump-on-exit", Out("screen.png"), "--qmp", $"unix:{Out("qmp.sock")},server,wait=off"))
        {
            emu.WaitFor("No bootable device.", TimeSpan.FromMinutes(3));
            using (RawQmp qmp = RawQmp.Connect(Out("qmp.sock"), TimeSpan.FromSeconds(30)))
            {
                qmp.Send("""{"execute":"qmp_capabilities"}""");
                var screendump = new JsonObject { ["execute"] = "screendump", ["arguments"] = new JsonObject { ["filename"] = Out("qmp.png"), ["format"] = "png" } };
                Assert.True(qmp.Send(screendump.ToJsonString())["return"] is JsonObject, "QMP screendump failed");
            }

            Assert.Equal(0, emu.Terminate(TimeSpan.FromSeconds(30)));
            Assert.Contains(banner, emu.Output, StringComparison.Ordinal);
        }

        string[] screen = File.ReadAllLines(Out("screen.txt"));
        Assert.Equal(25, screen.Length);
        Assert.Equal(banner, screen[0]);
        Assert.Contains(screen, l => l.StartsWith("No bootable device.", StringComparison.Ordinal));
        Assert.Contains(banner, File.ReadAllText(Out("402.log")), StringComparison.Ordinal);

        ScreenImageMatchesTheTextThroughTheVgaBiosFont(screen, File.ReadAllBytes(Out("screen.png")));
        ScreenImageMatchesTheTextThroughTheVgaBiosFont(screen, File.ReadAllBytes(Out("qmp.png"))); // QMP screendump of the same, still screen
    }

    // The PNG must be the text screen drawn with the 8x16 font of Debian's vgabios-stdvga (found in
    // the ROM by the IBM VGA glyph of 'A'), 9-dot cells, light gray (AAAAAAh, attribute 07h) on
    // black. One cell, the cursor's, may differ, and only in its last scan lines.
    private static void ScreenImageMatchesTheTextThroughTheVgaBiosFont(string[] screen, byte[] png)
    {
        byte[] rom = File.ReadAllBytes(BootImages.VgaBios);
        byte[] glyphA = [0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00];
        int a = rom.AsSpan().IndexOf(glyphA);
        Assert.True(a >= 0x41 * 16, "vgabios-stdvga.bin holds the IBM 8x16 font");
        int font = a - (0x41 * 16);

        (int width, int height, uint[] pixels) = PngDecoder.Decode(png);
        Assert.Equal((720, 400), (width, height));
        var differing = new List<(int Row, int Column, int Line)>();
        for (int row = 0; row < 25; row++)
        {
            string line = screen[row].PadRight(80);
            for (int column = 0; column < 80; column++)
            {
                char ch = line[column];
                Assert.True(ch < 0x80, $"row {row} holds '{ch}', which this check does not map back to the font");
                for (int y = 0; y < 16; y++)
                {
                    byte bits = rom[font + (ch * 16) + y];
                    for (int x = 0; x < 9; x++)
                    {
                        bool on = x < 8 && (bits & (0x80 >> x)) != 0;
                        if (pixels[(((row * 16) + y) * 720) + (column * 9) + x] != (on ? 0xaaaaaau : 0u))
                        {
                            differing.Add((row, column, y));
                        }
                    }
                }
            }
        }

        var cells = differing.Select(d => (d.Row, d.Column)).Distinct().ToList();
        Assert.True(cells.Count <= 1, $"{cells.Count} cells differ from the font rendering, first at row {differing.FirstOrDefault().Row} column {differing.FirstOrDefault().Column}");
        Assert.All(differing, d => Assert.InRange(d.Line, 12, 15));
    }

    [SkippableFact]
    public void SyslinuxDiskBootsFromIdeToTheShell() => BootSyslinuxDisk("jit", "ide", "/dev/sda", "/sys/block/sda/device/model", "EMU HARDDISK");

    [SkippableFact]
    public void SyslinuxDiskBootsFromVirtioToTheShell() => BootSyslinuxDisk("jit", "virtio", "/dev/vda", "/sys/block/vda/device/vendor", "0x1af4");

    [SkippableFact]
    public void SyslinuxDiskBootsFromIdeToTheShellUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        BootSyslinuxDisk("kvm", "ide", "/dev/sda", "/sys/block/sda/device/model", "EMU HARDDISK");
    }

    [SkippableFact]
    public void SyslinuxDiskBootsFromVirtioToTheShellUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        BootSyslinuxDisk("kvm", "virtio", "/dev/vda", "/sys/block/vda/device/vendor", "0x1af4");
    }

    private void BootSyslinuxDisk(string accel, string bus, string device, string identity, string expectedIdentity)
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        string banner = SeaBiosBanner();
        byte[] mbr = File.ReadAllBytes(BootImages.Disk)[..512];
        using (GuestConsole guest = GuestConsole.Start("--accel", accel, "-m", "512M", "--drive", $"file={BootImages.Disk},if={bus},readonly=on",
            "--screendump-on-exit", Out("screen.txt")))
        {
            guest.WaitFor("SYSLINUX 6.", TimeSpan.FromMinutes(4));
            guest.WaitForShell(ShellTimeout);
            guest.Command(WaitForDevice(device) + $"cat {identity}", expectedIdentity);
            guest.Command($"head -c 512 {device} | sha256sum", Sha256Hex(mbr));

            // Linux found the FACS through the FADT of the tables SeaBIOS loaded (etc/table-loader),
            // 64 bytes with its signature (lower-cased, so that the echoed command cannot match).
            guest.Command("echo $(wc -c < /sys/firmware/acpi/tables/FACS)$(head -c 4 /sys/firmware/acpi/tables/FACS | tr A-Z a-z)", "64facs");
            Assert.Equal(0, guest.PowerOff(TimeSpan.FromMinutes(2)));
            Assert.Contains(banner, guest.Output, StringComparison.Ordinal);
        }

        string[] screen = File.ReadAllLines(Out("screen.txt"));
        Assert.Equal(banner, screen[0]);
        Assert.Contains(screen, l => l.StartsWith("SYSLINUX 6.", StringComparison.Ordinal));
    }

    // --boot c,menu=on: SeaBIOS offers its menu (etc/show-boot-menu, etc/boot-menu-wait), lists the
    // disk first as the boot order asks, and ESC then 2, typed on the serial console (SeaBIOS reads
    // its sercon port as a keyboard), boots the CD-ROM's ISOLINUX instead of the disk's SYSLINUX.
    [SkippableFact]
    public void BootMenuOnRequestListsTheDrivesInBootOrderAndBootsTheOneChosen() => BootMenu("jit");

    [SkippableFact]
    public void BootMenuOnRequestListsTheDrivesInBootOrderAndBootsTheOneChosenUnderKvm()
    {
        KvmHost.SkipUnlessUsable();
        BootMenu("kvm");
    }

    private void BootMenu(string accel)
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        using (GuestConsole guest = GuestConsole.Start("--accel", accel, "-m", "512M", "--drive", $"file={BootImages.Disk},if=ide,readonly=on",
            "--cdrom", BootImages.Iso, "--boot", "c,menu=on", "--screendump-on-exit", Out("screen.txt")))
        {
            guest.WaitFor("Press ESC for boot menu.", TimeSpan.FromMinutes(3));
            guest.Press("\u001b");
            guest.WaitFor("Select boot device:", TimeSpan.FromMinutes(1));
            guest.WaitFor("2. DVD/CD [ata1-0: EMU DVD-ROM", TimeSpan.FromMinutes(1));
            Assert.Matches(@"Select boot device:\s+1\. ata0-0: EMU HARDDISK", guest.Output);
            guest.Press("2");
            guest.WaitFor("ISOLINUX 6.", TimeSpan.FromMinutes(3));
            Assert.Equal(0, guest.Terminate(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain("SYSLINUX 6.", guest.Output, StringComparison.Ordinal);
        }

        string[] screen = File.ReadAllLines(Out("screen.txt"));
        Assert.Contains(screen, l => l.StartsWith("Select boot device:", StringComparison.Ordinal));
        Assert.Contains(screen, l => l.StartsWith("ISOLINUX 6.", StringComparison.Ordinal));
    }

    // GRUB's rescue image from the CD-ROM: its menu (the test's one entry) drawn on the VGA text screen
    // with the version of the grub-mkrescue that made it; Enter on the serial console boots Linux with
    // the command line grub.cfg gives.
    [SkippableFact]
    public void GrubIsoShowsItsMenuOnTheVgaScreenAndBootsLinux() => GrubIso("jit");

    [SkippableFact]
    public void GrubIsoShowsItsMenuOnTheVgaScreenAndBootsLinuxUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        GrubIso("kvm");
    }

    private void GrubIso(string accel)
    {
        Skip.If(BootImages.GrubMissing is not null, BootImages.GrubMissing);
        using var version = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("grub-mkrescue", "--version") { RedirectStandardOutput = true })!;
        string grub = Regex.Match(version.StandardOutput.ReadToEnd(), @"\(GRUB\) (\S+)").Groups[1].Value;
        version.WaitForExit();
        Assert.NotEmpty(grub);
        string[] boot = ["--accel", accel, "-m", "512M", "--cdrom", BootImages.GrubIso, "--boot", "d"];

        // The menu waits (timeout -1): stop there and read the screen.
        using (GuestConsole guest = GuestConsole.Start([.. boot, "--screendump-on-exit", Out("menu.txt")]))
        {
            guest.WaitFor("emu test Linux", TimeSpan.FromMinutes(4));
            Thread.Sleep(1000);
            Assert.Equal(0, guest.Terminate(TimeSpan.FromSeconds(30)));
        }

        string[] menu = File.ReadAllLines(Out("menu.txt"));
        Assert.Contains(menu, l => l.Trim() == $"GNU GRUB  version {grub}");
        Assert.Contains(menu, l => l.Contains("*emu test Linux", StringComparison.Ordinal));

        using GuestConsole linux = GuestConsole.Start(boot);
        linux.WaitFor("emu test Linux", TimeSpan.FromMinutes(4));
        Thread.Sleep(1000);
        linux.Press("\r");
        linux.WaitForShell(ShellTimeout);
        linux.Command("cat /proc/cmdline", "emu.loader=grub");
        Assert.Equal(0, linux.PowerOff(TimeSpan.FromMinutes(2)));
    }

    [SkippableFact]
    public void IsolinuxIsoBootsFromTheIdeCdromAndTheGuestReadsItsFiles() => BootIsolinuxIso("jit");

    [SkippableFact]
    public void IsolinuxIsoBootsFromTheIdeCdromUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        BootIsolinuxIso("kvm");
    }

    private void BootIsolinuxIso(string accel)
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        string sha = BootImages.PayloadSha256;
        using (GuestConsole guest = GuestConsole.Start("--accel", accel, "-m", "512M", "--cdrom", BootImages.Iso, "--boot", "d",
            "--screendump-on-exit", Out("screen.txt")))
        {
            guest.WaitFor("ISOLINUX 6.", TimeSpan.FromMinutes(4));
            guest.WaitForShell(ShellTimeout);
            guest.Command(WaitForDevice("/dev/sr0") + "cat /sys/block/sr0/device/model", "EMU DVD-ROM");
            guest.Command("mount -t iso9660 -o ro /dev/sr0 /mnt && sha256sum /mnt/payload.bin", sha);
            Assert.Equal(0, guest.PowerOff(TimeSpan.FromMinutes(2)));
        }

        Assert.Contains(File.ReadAllLines(Out("screen.txt")), l => l.StartsWith("ISOLINUX 6.", StringComparison.Ordinal));
    }
}
