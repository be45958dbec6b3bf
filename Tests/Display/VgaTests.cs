using Emulator.Backends.Display;
using Emulator.Core.Io;
using Emulator.Devices.Display;
using Xunit;

namespace Emulator.Tests.Display;

/// <summary>
/// The VGA programmed through its ports and memory window the way the IBM VGA Technical Reference
/// (and FreeVGA) describe: write mode 0 with set/reset and the bit mask, read mode 1's color compare,
/// chain-4, a text mode with a glyph loaded into plane 2 rendered with 9-dot cells and the cursor,
/// and the Bochs VBE interface with a linear mode.
/// </summary>
public sealed class VgaTests
{
    private readonly Vga _vga = new();
    private readonly IoPortBus _io = new(new Lock());
    private readonly VgaMemoryWindow _window;

    public VgaTests()
    {
        _io.Register(Vga.PortBase, Vga.PortCount, _vga);
        _io.Register(BochsDispi.IndexPort, 2, _vga.Dispi);
        _window = new VgaMemoryWindow(_vga);
    }

    private void Seq(int index, byte value) => _io.Write(0x3c4, 2, (uint)(index | (value << 8)));

    private void Gr(int index, byte value) => _io.Write(0x3ce, 2, (uint)(index | (value << 8)));

    private void Cr(int index, byte value)
    {
        _io.Write(0x3d4, 1, (uint)index);
        _io.Write(0x3d5, 1, value);
    }

    private void Ac(int index, byte value)
    {
        _io.Read(0x3da, 1); // reset the flip-flop to "index"
        _io.Write(0x3c0, 1, (uint)index);
        _io.Write(0x3c0, 1, value);
    }

    private void Poke(int address, byte value) => _window.Write((ulong)address, [value]);

    private byte Peek(int address)
    {
        byte[] b = new byte[1];
        _window.Read((ulong)address, b);
        return b[0];
    }

    private void Dispi(int index, ushort value)
    {
        _io.Write(0x1ce, 2, (uint)index);
        _io.Write(0x1cf, 2, value);
    }

    private ushort DispiRead(int index)
    {
        _io.Write(0x1ce, 2, (uint)index);
        return (ushort)_io.Read(0x1cf, 2);
    }

    [Fact]
    public void WriteMode0SetResetAndBitMaskThenReadModes()
    {
        _io.Write(0x3c2, 1, 0x67);
        Seq(2, 0x0f); // all planes
        Seq(4, 0x06); // sequential (odd/even off)
        Gr(5, 0x00);
        Gr(6, 0x05); // graphics, A0000-AFFFF
        Gr(0, 0x05); // set/reset color 0101b
        Gr(1, 0x0f); // set/reset for every plane
        Gr(8, 0xf0); // bit mask: upper nibble from the data, lower from the latches (0)
        Poke(0x10, 0x00);

        for (int plane = 0; plane < 4; plane++)
        {
            Gr(4, (byte)plane);
            Assert.Equal((plane & 1) == 0 ? 0xf0 : 0x00, Peek(0x10));
        }

        Gr(5, 0x08); // read mode 1
        Gr(2, 0x05); // color compare 0101b
        Gr(7, 0x0f); // every plane counts
        Assert.Equal(0xf0, Peek(0x10));
        Gr(7, 0x00); // no plane counts: everything matches
        Assert.Equal(0xff, Peek(0x10));

        // Write mode 1 copies the latches (loaded by the read) to another address.
        Gr(5, 0x01);
        Poke(0x20, 0x55);
        Gr(5, 0x00);
        Gr(4, 2);
        Assert.Equal(0xf0, Peek(0x20));
    }

    [Fact]
    public void Chain4AddressesPlanesByTheLowAddressBits()
    {
        Seq(2, 0x0f);
        Seq(4, 0x0e); // chain-4
        Gr(6, 0x05);
        Poke(0x1235, 0x42);
        Assert.Equal(0x42, Peek(0x1235));
        Assert.Equal(0x42, _vga.Plane(1, 0x1234 / 4));
        Seq(2, 0x0d); // plane 1 masked off
        Poke(0x1235, 0x99);
        Assert.Equal(0x42, Peek(0x1235));
    }

    // Mode 3 as the IBM VGA Technical Reference tabulates it (80x25, 9x16 cells, B8000).
    private void SetTextMode()
    {
        _io.Write(0x3c2, 1, 0x67);
        byte[] seq = [0x03, 0x00, 0x03, 0x00, 0x02];
        for (int i = 0; i < seq.Length; i++)
        {
            Seq(i, seq[i]);
        }

        byte[] crtc = [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
            0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff];
        for (int i = 0; i < crtc.Length; i++)
        {
            Cr(i, crtc[i]);
        }

        byte[] gr = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
        for (int i = 0; i < gr.Length; i++)
        {
            Gr(i, gr[i]);
        }

        byte[] ac = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00];
        for (int i = 0; i < ac.Length; i++)
        {
            Ac(i, ac[i]);
        }

        _io.Read(0x3da, 1);
        _io.Write(0x3c0, 1, 0x20); // palette address source: display on
        _io.Write(0x3c8, 1, 0);
        for (int i = 0; i < 64; i++)
        {
            // DAC entries 0 (black), 1 (blue, 2Ah), 0x3f (white) as the default palette has them.
            (byte r, byte g, byte b) = i switch { 1 => ((byte)0, (byte)0, (byte)0x2a), 0x3f => ((byte)0x3f, (byte)0x3f, (byte)0x3f), _ => ((byte)0, (byte)0, (byte)0) };
            _io.Write(0x3c9, 1, r);
            _io.Write(0x3c9, 1, g);
            _io.Write(0x3c9, 1, b);
        }
    }

    [Fact]
    public void TextModeShowsCharactersThroughTheFontInPlane2()
    {
        SetTextMode();

        // Load the glyph of 0xC4 (a horizontal line, a line-drawing character) and 'A' into plane 2,
        // the way a BIOS does: plane 2 only, sequential addressing, A0000.
        Seq(2, 0x04);
        Seq(4, 0x06);
        Gr(5, 0x00);
        Gr(6, 0x04);
        for (int line = 0; line < 16; line++)
        {
            Poke((0xc4 * 32) + line, line == 7 ? (byte)0xff : (byte)0);
            Poke(('A' * 32) + line, line is >= 2 and <= 12 ? (byte)0x81 : (byte)0);
        }

        Seq(2, 0x03);
        Seq(4, 0x02);
        Gr(5, 0x10);
        Gr(6, 0x0e);

        // Row 1, columns 0 and 1: 'A' and 0xC4, white on blue (attribute 0x1F).
        int cell = 0x18000 + (2 * 80);
        Poke(cell, (byte)'A');
        Poke(cell + 1, 0x1f);
        Poke(cell + 2, 0xc4);
        Poke(cell + 3, 0x1f);
        Cr(0x0e, 0);
        Cr(0x0f, 80 + 1); // cursor on row 1, column 1

        VgaTextScreen text = VgaRenderer.Text(_vga)!;
        Assert.Equal((80, 25, 9, 16), (text.Columns, text.Rows, text.CharWidth, text.CharHeight));
        Assert.Equal("A─", text.Line(1));
        Assert.Equal((1, 1, 13, 14), (text.CursorRow, text.CursorColumn, text.CursorStart, text.CursorEnd));

        VgaFrame frame = VgaRenderer.Render(_vga);
        Assert.Equal((720, 400), (frame.Width, frame.Height));
        uint white = 0xffffff, blue = 0x0000aa;
        uint At(int x, int y) => frame.Pixels[(y * 720) + x];
        Assert.Equal(white, At(0, 16 + 5));        // 'A' left column
        Assert.Equal(blue, At(1, 16 + 5));         // inside
        Assert.Equal(white, At(7, 16 + 5));        // right column
        Assert.Equal(blue, At(8, 16 + 5));         // 9th dot of a letter is background
        Assert.Equal(blue, At(0, 16 + 0));         // above the glyph
        Assert.Equal(white, At(9 + 8, 16 + 7));    // 9th dot of C4h repeats the 8th (line graphics enable)
        Assert.Equal(white, At(9 + 3, 16 + 13));   // cursor scan lines 13-14 in the foreground color
        Assert.Equal(blue, At(9 + 3, 16 + 15));
        Assert.Equal(0u, At(0, 0));               // row 0 is empty: attribute 0, black
    }

    [Fact]
    public void BochsDispiLinearModeIsRenderedFromTheFramebuffer()
    {
        Dispi(BochsDispi.IndexId, BochsDispi.Id0);
        Assert.Equal(BochsDispi.Id0, DispiRead(BochsDispi.IndexId));
        Dispi(BochsDispi.IndexEnable, BochsDispi.GetCaps);
        Assert.Equal(BochsDispi.MaxXres, DispiRead(BochsDispi.IndexXres));
        Assert.Equal(32, DispiRead(BochsDispi.IndexBpp));
        Assert.Equal(Vga.VramSize >> 16, DispiRead(BochsDispi.IndexVideoMemory64K));

        _vga.Vram[100] = 0x77;
        Dispi(BochsDispi.IndexXres, 640);
        Dispi(BochsDispi.IndexYres, 480);
        Dispi(BochsDispi.IndexBpp, 32);
        Dispi(BochsDispi.IndexEnable, BochsDispi.EnabledFlag | BochsDispi.LfbEnabled);
        Assert.Equal(0, _vga.Vram[100]); // cleared by the mode set
        Assert.Equal(640, DispiRead(BochsDispi.IndexVirtWidth));

        var lfb = new VgaLinearFramebuffer(_vga);
        lfb.Write((ulong)(((10 * 640) + 20) * 4), [0x33, 0x22, 0x11, 0x00]); // B, G, R
        Dispi(BochsDispi.IndexBank, 1);
        Poke(0, 0xaa); // the window shows bank 1: byte 65536
        Assert.Equal(0xaa, _vga.Vram[65536]);

        VgaFrame frame = VgaRenderer.Render(_vga);
        Assert.Equal((640, 480), (frame.Width, frame.Height));
        Assert.Equal(0x112233u, frame.Pixels[(10 * 640) + 20]);
        Assert.Null(VgaRenderer.Text(_vga));
    }

    [Fact]
    public void PngWriterOutputDecodesToTheSamePixels()
    {
        var rng = new Random(5);
        uint[] pixels = [.. Enumerable.Range(0, 37 * 11).Select(_ => (uint)rng.Next(0x100_0000))];
        using var png = new MemoryStream();
        PngWriter.Write(png, 37, 11, pixels);
        (int w, int h, uint[] decoded) = PngDecoder.Decode(png.ToArray());
        Assert.Equal((37, 11), (w, h));
        Assert.Equal(pixels, decoded);
    }
}
