using Emulator.Backends.Display;
using Emulator.Core.Display;
using Xunit;

namespace Emulator.Tests.Display;

/// <summary>
/// Colors and blinking on the terminal: the PC's 16 default colors (IBM VGA) map to themselves as
/// ECMA-48's 30-37/90-97 and 40-47/100-107, other colors to the nearest of them, or on a 256-color
/// terminal to the nearest of xterm's cube and gray ramp (whose RGB values xterm's 256colres.h
/// fixes: levels 0, 5Fh, 87h, AFh, D7h, FFh; grays 8 + 10k); a blinking cell carries SGR 5.
/// </summary>
public sealed class TerminalColorsTests
{
    [Fact]
    public void DefaultColorsMapToThemselvesAndOthersToTheNearest()
    {
        var colors16 = new TerminalColors(false);
        Assert.Equal("30;44", colors16.Sgr(0x000000, 0x0000aa));
        Assert.Equal("33;103", colors16.Sgr(0xaa5500, 0xffff55));
        Assert.Equal("97;100", colors16.Sgr(0xffffff, 0x555555));
        Assert.Equal("31;40", colors16.Sgr(0xff0000, 0x101010)); // pure red is nearer AA0000 than FF5555
        Assert.Equal(6, TerminalColors.NearestPcColor(0xa85400)); // QEMU's widening of 2Ah, 15h: still brown

        var colors256 = new TerminalColors(true);
        Assert.Equal("33;44", colors256.Sgr(0xaa5500, 0x0000aa)); // the 16 keep the user's theme
        Assert.Equal("38;5;23;48;5;196", colors256.Sgr(0x123456, 0xff0000));
        Assert.Equal("38;5;244;48;5;16", colors256.Sgr(0x808080, 0x000001));
        Assert.True(TerminalColors.TermHas256Colors("xterm-256color"));
        Assert.False(TerminalColors.TermHas256Colors("xterm"));
        Assert.False(TerminalColors.TermHas256Colors(null));
    }

    [Fact]
    public void BlinkingCellsCarrySgr5()
    {
        var writer = new AnsiScreenWriter();
        TextCell[] cells = [new((byte)'A', 0xffff55, 0x0000aa, true), new((byte)'B', 0xffff55, 0x0000aa, false)];
        string sent = writer.Update(new TextScreenFrame(2, 1, cells, -1, 0), 80, 25);
        Assert.Contains("\e[0;5;93;44mA\e[0;93;44mB", sent, StringComparison.Ordinal);
    }
}
