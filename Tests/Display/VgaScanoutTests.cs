using Emulator.Core.Display;
using Emulator.Devices.Display;
using Xunit;

namespace Emulator.Tests.Display;

/// <summary>
/// What the VGA scans out, programmed through its ports like a guest: blinking (AC10 bit 3, the
/// cursor on a 16-frame and characters on a 32-frame cycle), the split screen (Line Compare CR18
/// with CR7 bit 4 and CR9 bit 6: the line after it restarts at address 0 and row scan 0), the
/// Preset Row Scan and byte panning (CR8), Horizontal Pixel Panning (AC13, with AC10 bit 5 stopping
/// it below the split), and 256 colors unchained ("mode X": planes 0-3 in turn, byte mode). The
/// expected pixels follow from the IBM VGA Technical Reference's register descriptions and the 16
/// default colors in the DAC (<see cref="VgaPorts"/>).
/// </summary>
public sealed class VgaScanoutTests
{
    private static readonly uint[] Colors = VgaPorts.DefaultColors;
    private readonly VgaPorts _vga = new();

    private void Cell(int row, int column, byte character, byte attribute)
    {
        int a = 0x18000 + (2 * ((row * 80) + column));
        _vga.Poke(a, character);
        _vga.Poke(a + 1, attribute);
    }

    private static uint At(VgaFrame frame, int x, int y) => frame.Pixels[(y * frame.Width) + x];

    // Line Compare = value: CR18 low byte, CR7 bit 4 bit 8, CR9 bit 6 bit 9 (the rest of CR7/CR9 as mode 03h has them).
    private void LineCompare(int value, byte cr7, byte cr9)
    {
        _vga.Cr(0x18, (byte)value);
        _vga.Cr(7, (byte)((cr7 & ~0x10) | ((value >> 4) & 0x10)));
        _vga.Cr(9, (byte)((cr9 & ~0x40) | ((value >> 3) & 0x40)));
    }

    [Fact]
    public void BlinkingCharactersAndCursorFollowTheirFrameCycles()
    {
        _vga.Mode03();
        Cell(0, 0, 0xf0, 0x9e); // blink, background 1 (9 without blinking), foreground 14; dots 0-3 on
        Cell(1, 0, 0x00, 0x07);
        _vga.Cr(0x0a, 0x0d);
        _vga.Cr(0x0b, 0x0e);
        _vga.Cr(0x0e, 0);
        _vga.Cr(0x0f, 80); // cursor on row 1, column 0, lines 13-14

        VgaFrame shown = VgaRenderer.Render(_vga.Vga, 0), hidden = VgaRenderer.Render(_vga.Vga, 16), cursorOff = VgaRenderer.Render(_vga.Vga, 8);
        Assert.Equal((Colors[14], Colors[1]), (At(shown, 0, 0), At(shown, 5, 0)));
        Assert.Equal((Colors[1], Colors[1]), (At(hidden, 0, 0), At(hidden, 5, 0)));
        Assert.Equal(Colors[7], At(shown, 4, 16 + 13));     // the cursor, in the cell's foreground
        Assert.Equal(Colors[7], At(hidden, 4, 16 + 13));    // frame 16: the cursor's cycle is 16 frames
        Assert.Equal(Colors[0], At(cursorOff, 4, 16 + 13));
        Assert.Equal(Colors[14], At(cursorOff, 0, 0));      // characters keep their 32-frame cycle
        Assert.Equal(At(shown, 0, 0), At(VgaRenderer.Render(_vga.Vga), 0, 0)); // dumps draw the shown phase

        _vga.Ac(0x10, 0x04); // blinking off: bit 7 brightens the background
        VgaFrame bright = VgaRenderer.Render(_vga.Vga, 16);
        Assert.Equal((Colors[14], Colors[9]), (At(bright, 0, 0), At(bright, 5, 0)));
    }

    [Fact]
    public void TextSplitScreenRestartsAtAddressZeroAfterTheLineCompareScanLine()
    {
        _vga.Mode03();
        _vga.Cr(0x0c, 800 >> 8);
        _vga.Cr(0x0d, 800 & 0xff); // start at row 10
        Cell(10, 0, (byte)'A', 0x07);
        Cell(11, 0, (byte)'B', 0x07);
        Cell(0, 0, 0xff, 0x1f);
        Cell(1, 0, (byte)'Z', 0x07);
        LineCompare(31, 0x1f, 0x4f); // after row 1's last scan line

        VgaTextScreen text = VgaRenderer.Text(_vga.Vga)!;
        Assert.Equal("AB\xffZ", string.Concat(Enumerable.Range(0, 4).Select(r => (char)text[r, 0].Character)));
        VgaFrame frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal(Colors[15], At(frame, 0, 32));
        Assert.Equal(Colors[1], At(frame, 8, 32)); // ninth dot of FFh: background

        LineCompare(39, 0x1f, 0x4f); // mid-row: scan line 40 is glyph line 0 of address 0
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal(Colors[0], At(frame, 0, 39)); // row 12 of memory, empty
        Assert.Equal(Colors[15], At(frame, 0, 40));
        Assert.Equal('\0', (char)VgaRenderer.Text(_vga.Vga)!.Cells[2 * 80].Character); // a row shows what its first scan line fetches
    }

    [Fact]
    public void PresetRowScanAndBytePanningMoveTheTopRowAndTheStartAddress()
    {
        _vga.Mode03();
        _vga.Seq(2, 0x04);
        _vga.Seq(4, 0x06);
        _vga.Gr(5, 0x00);
        _vga.Gr(6, 0x04);
        for (int line = 0; line < 32; line++)
        {
            _vga.Poke((1 * 32) + line, line == 3 ? (byte)0xff : (byte)0); // glyph 01h: only line 3 lit
        }

        _vga.Seq(2, 0x03);
        _vga.Seq(4, 0x02);
        _vga.Gr(5, 0x10);
        _vga.Gr(6, 0x0e);
        Cell(0, 0, 0x01, 0x0f);
        Cell(0, 1, 0xff, 0x0c);
        Cell(1, 0, 0xff, 0x0a);

        VgaFrame frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[0], Colors[15]), (At(frame, 0, 0), At(frame, 0, 3)));

        _vga.Cr(8, 0x03); // the first row starts at its scan line 3; the second row at scan line 13
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[15], Colors[0], Colors[10]), (At(frame, 0, 0), At(frame, 0, 1), At(frame, 0, 13)));
        Assert.Equal(Colors[0], At(frame, 0, 12));

        _vga.Cr(8, 0x20); // byte panning 1: the screen starts one character later
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal(Colors[12], At(frame, 0, 0));
        Assert.Equal(0xff, VgaRenderer.Text(_vga.Vga)![0, 0].Character);
    }

    [Fact]
    public void PixelPanningShiftsNineDotTextAndStopsBelowTheSplitWithPanningCompatibility()
    {
        _vga.Mode03();
        Cell(0, 0, 0xf0, 0x0f); // dots 0-3 white, 4-8 black
        Cell(0, 1, 0xff, 0x0a);
        VgaFrame frame = VgaRenderer.Render(_vga.Vga); // AC13 = 8: no shift with 9 dots
        Assert.Equal((Colors[15], Colors[0]), (At(frame, 3, 0), At(frame, 4, 0)));

        _vga.Ac(0x13, 0x00); // 9-dot cells: 0 shifts by 1
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[15], Colors[0]), (At(frame, 2, 0), At(frame, 3, 0)));

        _vga.Ac(0x13, 0x03); // shifts by 4: dot 9 (the next character's dot 0) at x = 5
        LineCompare(15, 0x1f, 0x4f); // scan line 16 shows address 0 again
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[0], Colors[10]), (At(frame, 0, 0), At(frame, 5, 0)));
        Assert.Equal(Colors[0], At(frame, 0, 16)); // compatibility off: the lower part pans too

        _vga.Ac(0x10, 0x2c); // AC10 bit 5: a line compare stops the panning
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[0], Colors[15]), (At(frame, 0, 0), At(frame, 0, 16)));
    }

    [Fact]
    public void PlanarSplitScreenAndPanningInMode12h()
    {
        _vga.Mode12();
        _vga.Seq(2, 0x05); // planes 0 and 2: color 5
        _vga.Poke(0, 0x80);
        _vga.Seq(2, 0x02); // plane 1: color 2
        _vga.Poke(800, 0x80);
        _vga.Cr(0x0c, 800 >> 8);
        _vga.Cr(0x0d, 800 & 0xff); // start at pixel row 10
        _vga.Cr(0x18, 99);
        _vga.Cr(7, 0x2e); // line compare bit 8 clear
        _vga.Cr(9, 0x00); // line compare bit 9 clear

        VgaFrame frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((640, 480), (frame.Width, frame.Height));
        Assert.Equal((Colors[2], Colors[0], Colors[5]), (At(frame, 0, 0), At(frame, 0, 99), At(frame, 0, 100)));
        Assert.Equal(Colors[0], At(frame, 1, 0));

        _vga.Ac(0x13, 1);
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[0], Colors[0]), (At(frame, 0, 0), At(frame, 0, 100)));
        _vga.Ac(0x10, 0x21); // panning compatibility
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[0], Colors[5]), (At(frame, 0, 0), At(frame, 0, 100)));
    }

    [Fact]
    public void UnchainedModeXTakesPixelsFromPlanes0To3InTurn()
    {
        _vga.Mode13();
        _vga.Seq(4, 0x06); // chain-4 off, sequential
        _vga.Cr(0x14, 0x00); // double-word mode off
        _vga.Cr(0x17, 0xe3); // byte mode
        for (int x = 0; x < 8; x++)
        {
            _vga.Seq(2, (byte)(1 << (x & 3)));
            _vga.Poke(x >> 2, (byte)(x + 1));
        }

        _vga.Seq(2, 0x0f);
        _vga.Poke(80, 9); // the next pixel row: 4 pixels of color 9

        VgaFrame frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((640, 400), (frame.Width, frame.Height)); // 320x200, each pixel 2 dots by 2 lines
        for (int x = 0; x < 8; x++)
        {
            Assert.Equal([Colors[x + 1], Colors[x + 1], Colors[x + 1]], [At(frame, 2 * x, 0), At(frame, (2 * x) + 1, 0), At(frame, 2 * x, 1)]);
        }

        Assert.Equal((Colors[9], Colors[9], Colors[0]), (At(frame, 0, 2), At(frame, 7, 3), At(frame, 8, 2)));

        _vga.Ac(0x13, 2); // 256 colors: 2 shifts by one pixel
        frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((Colors[2], Colors[5]), (At(frame, 0, 0), At(frame, 6, 0)));
    }

    [Fact]
    public void Chain4Mode13hIsTheSameBytesInCpuOrder()
    {
        _vga.Mode13();
        _vga.Poke(5, 3);
        _vga.Poke(320 + 1, 12);
        VgaFrame frame = VgaRenderer.Render(_vga.Vga);
        Assert.Equal((640, 400), (frame.Width, frame.Height));
        Assert.Equal((Colors[3], Colors[3], Colors[0]), (At(frame, 10, 0), At(frame, 11, 1), At(frame, 12, 0)));
        Assert.Equal((Colors[12], Colors[12]), (At(frame, 2, 2), At(frame, 3, 3)));
    }

    [Fact]
    public void TextSourceSeesTheReprogrammedPaletteAndBlinking()
    {
        _vga.Mode03();
        Cell(0, 0, (byte)'x', 0x9e);
        Cell(0, 1, (byte)'y', 0x14);
        _vga.Ac(4, 0x3f); // attribute color 4 now shows DAC entry 3Fh
        var source = new VgaTextSource(_vga.Vga, new Lock());
        TextScreenFrame frame = source.ReadText()!;
        Assert.Equal(new TextCell((byte)'x', Colors[14], Colors[1], true), frame[0, 0]);
        Assert.Equal(new TextCell((byte)'y', 0x000000u, Colors[1], false), frame[0, 1]); // DAC 3Fh was never written: black

        _vga.Ac(0x10, 0x04);
        Assert.Equal(new TextCell((byte)'x', Colors[14], Colors[9], false), source.ReadText()![0, 0]);
    }
}
