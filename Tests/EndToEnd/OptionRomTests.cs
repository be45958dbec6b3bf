using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Emulator.Tests.EndToEnd.Control;
using Emulator.Tests.Kvm;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// <c>emu run --option-rom FILE</c>: the file reaches SeaBIOS through fw_cfg as <c>genroms/NAME</c>, and
/// SeaBIOS deploys and runs it. The ROM is Roms/optionroms/hello (a PnP option ROM whose init prints
/// the segment it runs at through INT 10h teletype, as firmware prints, so the line reaches the VGA
/// screen and SeaBIOS's serial console in order with SeaBIOS's own text). The oracles are SeaBIOS's
/// own log on port 0x402 ("Running option rom at SSSS:0003"), the order of SeaBIOS's output on the
/// serial console and on the VGA text screen, the text held in the ROM's bytes, and QEMU's
/// <c>-option-rom</c> running the same ROM under the same SeaBIOS.
/// </summary>
public sealed class OptionRomTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-optionrom").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    private static string HelloRom => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "optionroms", "hello.bin");

    private static string DemoRom => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin");

    // The text the ROM prints before the segment: the run of printable characters in its bytes that ends in "at segment ".
    private static string RomText()
    {
        string rom = Encoding.Latin1.GetString(File.ReadAllBytes(HelloRom));
        return Assert.Single(Regex.Matches(rom, "[\x20-\x7e]+at segment ")).Value;
    }

    // The segments SeaBIOS says it called option ROMs at after "Scan for option roms" (the VGA BIOS's comes before).
    private static List<string> RomSegmentsFromSeaBiosLog(string log)
    {
        int scan = log.IndexOf("Scan for option roms", StringComparison.Ordinal);
        Assert.True(scan >= 0, "SeaBIOS scanned for option ROMs");
        return [.. Regex.Matches(log[scan..], @"Running option rom at ([0-9a-f]{4}):0003").Select(m => m.Groups[1].Value)];
    }

    [SkippableFact]
    public void SeaBiosRunsTheRomFromFwCfgBetweenItsBannerAndTheBoot() => RomRunsUnderSeaBios("jit");

    [SkippableFact]
    public void SeaBiosRunsTheRomFromFwCfgUnderKvm()
    {
        KvmHost.SkipUnlessUsable();
        RomRunsUnderSeaBios("kvm");
    }

    private void RomRunsUnderSeaBios(string accel)
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        string text = RomText();
        string log = Out("402.log"), screenFile = Out("screen.txt");
        using (GuestConsole emu = GuestConsole.Start("--accel", accel, "--bios", BootImages.SeaBios, "--option-rom", HelloRom,
            "--debugcon", $"file:{log},port=0x402", "--screendump-on-exit", screenFile))
        {
            emu.WaitFor("No bootable device.", TimeSpan.FromMinutes(3));
            Assert.Equal(0, emu.Terminate(TimeSpan.FromSeconds(30)));
            string serial = emu.Output;

            // A whole line of its own on the serial console: it went through SeaBIOS's console like SeaBIOS's text did.
            Match line = Regex.Match(serial, "\r\n" + Regex.Escape(text) + "([0-9a-f]{4})\r\n");
            Assert.True(line.Success, $"the ROM's line is on the serial console: {serial}");
            Assert.Single(Regex.Matches(serial, Regex.Escape(text)));

            // SeaBIOS's banner (printed once the VGA BIOS ran) comes first; the ROM runs while SeaBIOS
            // scans option ROMs, before it tries any boot device.
            int banner = serial.IndexOf("SeaBIOS (version ", StringComparison.Ordinal);
            int boot = serial.IndexOf("Booting from ", StringComparison.Ordinal);
            Assert.True(banner >= 0 && boot > 0, serial);
            Assert.InRange(line.Index, banner + 1, boot - 1);

            // The same line, in the same place among SeaBIOS's lines, on the VGA text screen.
            string[] screen = File.ReadAllLines(screenFile);
            int onScreen = Array.IndexOf(screen, line.Value.Trim());
            Assert.True(onScreen >= 0, $"the ROM's line is a row of the VGA text screen: {string.Join('\n', screen)}");
            Assert.InRange(onScreen, Array.FindIndex(screen, l => l.StartsWith("SeaBIOS (version ", StringComparison.Ordinal)) + 1,
                Array.FindIndex(screen, l => l.StartsWith("Booting from ", StringComparison.Ordinal)) - 1);

            // The segment the ROM saw is the one SeaBIOS reports calling, in the option-ROM area after the VGA BIOS.
            Assert.Equal([line.Groups[1].Value], RomSegmentsFromSeaBiosLog(File.ReadAllText(log)));
            Assert.InRange(int.Parse(line.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), 0xc001, 0xefff);
        }
    }

    // QEMU's -option-rom with the same SeaBIOS: the ROM prints the same text, at the segment QEMU's
    // SeaBIOS reports (QEMU's own ROMs can move it, so only the text is compared across the two).
    // graphics=off makes QEMU give SeaBIOS a serial console ("etc/sercon-port"), as emu always does,
    // so what the ROM prints through INT 10h also reaches the serial port.
    [SkippableFact]
    public void QemuRunsTheSameRomAndItPrintsTheSameText()
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        string text = RomText();
        string serial = Out("qemu.serial"), log = Out("qemu.402");
        var psi = new ProcessStartInfo("qemu-system-x86_64",
        [
            "-accel", "tcg", "-m", "128", "-display", "none", "-machine", "graphics=off", "-net", "none", "-bios", BootImages.SeaBios, "-option-rom", HelloRom,
            "-serial", $"file:{serial}", "-chardev", $"file,id=dbg,path={log}", "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
        ])
        { RedirectStandardError = true, UseShellExecute = false };
        using Process qemu = Process.Start(psi)!;
        Match line = Match.Empty;
        try
        {
            var clock = Stopwatch.StartNew();
            while (!line.Success && clock.Elapsed < TimeSpan.FromMinutes(2) && !qemu.HasExited)
            {
                Thread.Sleep(200);
                line = File.Exists(serial) ? Regex.Match(File.ReadAllText(serial), "\r\n" + Regex.Escape(text) + "([0-9a-f]{4})\r\n") : Match.Empty;
            }
        }
        finally
        {
            if (!qemu.HasExited)
            {
                qemu.Kill();
            }

            qemu.WaitForExit();
        }

        Assert.True(line.Success, $"QEMU's serial console shows the ROM's line: {(File.Exists(serial) ? File.ReadAllText(serial) : "(no file)")}");
        Assert.Contains(line.Groups[1].Value, RomSegmentsFromSeaBiosLog(File.ReadAllText(log)));
    }

    // What SeaBIOS checks before it runs a ROM (signature, whole blocks, length byte, checksum) and
    // where it puts ROMs (C0000h-EFFFFh): each bad file is one line naming it, exit status 2, and the
    // guest never starts (the firmware given would otherwise run until the timeout).
    [Theory]
    [InlineData("missing", "no such file")]
    [InlineData("odd-size", "is not a non-zero multiple of 512 bytes")]
    [InlineData("no-signature", "no option ROM signature")]
    [InlineData("bad-checksum", "not 0 mod 256")]
    [InlineData("length-past-end", "the header's length byte says 2 blocks (1024 bytes), but the file holds 512 bytes")]
    [InlineData("too-large", "larger than the option-ROM area")]
    [InlineData("area-full", "do not fit in the option-ROM area")]
    public void BadRomIsOneLineNamingTheFile(string kind, string why)
    {
        string bad = Out(kind + ".rom");
        string[] roms = [bad];
        switch (kind)
        {
            case "odd-size":
                File.WriteAllBytes(bad, Rom(1)[..500]);
                break;
            case "no-signature":
                File.WriteAllBytes(bad, new byte[512]);
                break;
            case "bad-checksum":
                byte[] image = Rom(1);
                image[100] ^= 1;
                File.WriteAllBytes(bad, image);
                break;
            case "length-past-end":
                byte[] shortRom = Rom(1);
                shortRom[2] = 2;
                shortRom[^1]--;
                File.WriteAllBytes(bad, shortRom);
                break;
            case "too-large":
                File.WriteAllBytes(bad, [.. Rom(255), .. new byte[0x30000 - (255 * 512) + 512]]);
                break;
            case "area-full":
                // Two ROMs of 255 blocks (127.5 KiB each) fill more than the 192 KiB from C0000h to EFFFFh.
                string first = Out("first.rom");
                File.WriteAllBytes(first, Rom(255));
                File.WriteAllBytes(bad, Rom(255));
                roms = [first, bad];
                break;
        }

        EmuProcess.Result r = EmuProcess.Run(Timeout, ["run", "--vga", "none", "--bios", DemoRom, .. roms.SelectMany(f => new[] { "--option-rom", f })]);
        Assert.Equal(2, r.ExitCode);
        string error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"emu: --option-rom {bad}: ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
        Assert.Empty(r.Stdout);
    }

    // A valid ROM of <paramref name="blocks"/> 512-byte blocks: 55 AA, the length, a RETF at the init
    // entry, and the last byte making the sum 0 mod 256.
    private static byte[] Rom(int blocks)
    {
        byte[] image = new byte[blocks * 512];
        image[0] = 0x55;
        image[1] = 0xaa;
        image[2] = (byte)blocks;
        image[3] = 0xcb;
        image[^1] = (byte)-image.Aggregate(0, (sum, b) => sum + b);
        return image;
    }
}
