using Emulator.Core.Io;
using Emulator.Devices.Display;

namespace Emulator.Tests.Display;

/// <summary>
/// A <see cref="Vga"/> on an I/O bus, programmed through its ports and memory window as a guest or
/// a VGA BIOS does, with the register tables of the IBM VGA Technical Reference for modes 03h, 12h
/// and 13h and the 16 default colors in DAC entries 0-15.
/// </summary>
internal sealed class VgaPorts
{
    /// <summary>The IBM VGA's 16 default text colors (DAC values 00h, 15h, 2Ah, 3Fh widen to 00, 55, AA, FF).</summary>
    public static readonly uint[] DefaultColors =
    [
        0x000000, 0x0000aa, 0x00aa00, 0x00aaaa, 0xaa0000, 0xaa00aa, 0xaa5500, 0xaaaaaa,
        0x555555, 0x5555ff, 0x55ff55, 0x55ffff, 0xff5555, 0xff55ff, 0xffff55, 0xffffff,
    ];

    private readonly IoPortBus _io = new(new Lock());
    private readonly VgaMemoryWindow _window;

    public VgaPorts()
    {
        _io.Register(Vga.PortBase, Vga.PortCount, Vga);
        _window = new VgaMemoryWindow(Vga);
    }

    public Vga Vga { get; } = new();

    public void Seq(int index, byte value) => _io.Write(0x3c4, 2, (uint)(index | (value << 8)));

    public void Gr(int index, byte value) => _io.Write(0x3ce, 2, (uint)(index | (value << 8)));

    public void Cr(int index, byte value)
    {
        _io.Write(0x3d4, 1, (uint)index);
        _io.Write(0x3d5, 1, value);
    }

    public void Ac(int index, byte value)
    {
        _io.Read(0x3da, 1);
        _io.Write(0x3c0, 1, (uint)index);
        _io.Write(0x3c0, 1, value);
        _io.Read(0x3da, 1);
        _io.Write(0x3c0, 1, 0x20); // palette address source: display on
    }

    public void Poke(int address, byte value) => _window.Write((ulong)address, [value]);

    /// <summary>Mode 03h: 80x25 text, 9x16 cells, B8000h, blinking enabled; a font whose glyph for every character is its code on every line.</summary>
    public void Mode03()
    {
        Program(0x67, [0x03, 0x00, 0x03, 0x00, 0x02],
            [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff],
            [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff], 0x0c, 0x08);

        // Plane 2 only, sequential, A0000h: glyph line k of character c is the byte c.
        Seq(2, 0x04);
        Seq(4, 0x06);
        Gr(5, 0x00);
        Gr(6, 0x04);
        for (int c = 0; c < 256; c++)
        {
            for (int line = 0; line < 32; line++)
            {
                Poke((c * 32) + line, (byte)c);
            }
        }

        Seq(2, 0x03);
        Seq(4, 0x02);
        Gr(5, 0x10);
        Gr(6, 0x0e);
    }

    /// <summary>Mode 12h: 640x480, 16 colors, planar.</summary>
    public void Mode12() => Program(0xe3, [0x03, 0x01, 0x0f, 0x00, 0x06],
        [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff],
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff], 0x01, 0x00);

    /// <summary>Mode 13h: 320x200, 256 colors, chain-4.</summary>
    public void Mode13() => Program(0x63, [0x03, 0x01, 0x0f, 0x00, 0x0e],
        [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff],
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff], 0x41, 0x00);

    private void Program(byte misc, byte[] seq, byte[] crtc, byte[] gr, byte modeControl, byte panning)
    {
        _io.Write(0x3c2, 1, misc);
        for (int i = 0; i < seq.Length; i++)
        {
            Seq(i, seq[i]);
        }

        Cr(0x11, 0x00); // unlock CR0-CR7
        for (int i = 0; i < crtc.Length; i++)
        {
            Cr(i, crtc[i]);
        }

        for (int i = 0; i < gr.Length; i++)
        {
            Gr(i, gr[i]);
        }

        // Attribute palette: color c is DAC entry c; mode control; overscan 0; all planes; panning as the table; color select 0.
        for (int i = 0; i < 16; i++)
        {
            Ac(i, (byte)i);
        }

        Ac(0x10, modeControl);
        Ac(0x11, 0);
        Ac(0x12, 0x0f);
        Ac(0x13, panning);
        Ac(0x14, 0);
        _io.Write(0x3c8, 1, 0);
        foreach (uint rgb in DefaultColors)
        {
            _io.Write(0x3c9, 1, (rgb >> 18) & 0x3f);
            _io.Write(0x3c9, 1, (rgb >> 10) & 0x3f);
            _io.Write(0x3c9, 1, (rgb >> 2) & 0x3f);
        }
    }
}
