using Xunit;

namespace Emulator.Tests.EndToEnd.Terminal;

/// <summary>
/// Blinking and a reprogrammed DAC on the terminal: Roms/vga/scanout's scenario 4 writes "BLINK"
/// with attribute 9Eh under the BIOS's mode 03h (blinking on: yellow on blue, blinking) and
/// "PALETTE" in color 5 after setting DAC entry 5 to 3Fh, 2Ch, 00h (FFB000h). pyte shows what the
/// terminal would: SGR 5; on TERM=xterm the nearest of the 16 PC colors (FFFF55h, bright yellow,
/// which pyte names "brown" in bold); on TERM=xterm-256color xterm's cube entry 214 (FFAF00h).
/// QEMU's curses display shows neither (it drops attribute bit 7 and never reads the DAC).
/// </summary>
public sealed partial class CursesDisplayTests
{
    [SkippableTheory]
    [InlineData("xterm", "brown", true)]
    [InlineData("xterm-256color", "ffaf00", false)]
    public void BlinkingCellsAndTheReprogrammedPaletteReachTheTerminal(string term, string orange, bool bold)
    {
        Skip.If(PtyScreen.Missing is not null, PtyScreen.Missing);
        Skip.If(!File.Exists(BootImages.SeaBios) || !File.Exists(BootImages.VgaBios), $"{BootImages.SeaBios} or {BootImages.VgaBios} is missing (apt-get install seabios)");
        string disk = Path.Combine(_dir, "scanout.img");
        byte[] image = new byte[1 << 20];
        File.ReadAllBytes(Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "vga", "scanout.bin")).CopyTo(image, 0);
        image[0x1fd] = 4;
        File.WriteAllBytes(disk, image);

        PtyScreen.Result emu = PtyScreen.Run(
            [Wait("PALETTE", 120), Sleep(1), Dump("screen"), Send("\u0001x"), Exit(30)],
            new Dictionary<string, string> { ["LANG"] = "C.UTF-8", ["TERM"] = term },
            ["dotnet", Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", "-m", "64", "--accel", "jit",
                "--drive", $"file={disk},if=ide,format=raw", "--display", "curses"]);
        Assert.True(emu.Error is null, $"{emu.Error}\n{emu.Stderr}");
        PtyScreen.Dump d = emu.Dumps["screen"];
        Assert.StartsWith("BLINK", d.Lines[0], StringComparison.Ordinal);
        Assert.StartsWith("PALETTE", d.Lines[1], StringComparison.Ordinal);
        for (int x = 0; x < 5; x++)
        {
            Assert.Equal(("brown", true, "blue", true), (d.Foreground[0][x], d.Bold[0][x], d.Background[0][x], d.Blink[0][x]));
            Assert.Equal((orange, bold, false), (d.Foreground[1][x], d.Bold[1][x], d.Blink[1][x]));
        }

        Assert.False(d.Blink[0][5]); // the blank after BLINK (attribute 07h)
    }
}
