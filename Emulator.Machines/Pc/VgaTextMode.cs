using Emulator.Core.Io;

namespace Emulator.Machines.Pc;

/// <summary>
/// What a VGA BIOS leaves behind at power-on, for a direct kernel boot, which runs no firmware:
/// the standard VGA in mode 3 (80x25 colour text, 9x16 cells, 720x400, memory at B8000h) with the
/// default palette. The values are the IBM VGA's mode 3 register set (IBM VGA Technical Reference,
/// the BIOS video mode parameter tables), written through the VGA's own ports as a BIOS writes them. Linux's vgacon
/// (console=tty0) then writes its text to B8000h, as it does after the BIOS set the mode.
/// Not loaded: a font in plane 2 (emu has none of its own), so the text screen reads back
/// (screen dumps to .txt, the curses display) but a PNG screen dump shows blank glyphs.
/// </summary>
public static class VgaTextMode
{
    /// <summary>Columns and rows of mode 3.</summary>
    public const int Columns = 80, Rows = 25;

    /// <summary>Character height of mode 3 (scan lines per cell).</summary>
    public const int CharHeight = 16;

    private const ushort Misc = 0x3c2, SequencerIndex = 0x3c4, CrtcIndex = 0x3d4, GraphicsIndex = 0x3ce, AttributeIndex = 0x3c0,
        InputStatus1 = 0x3da, DacWriteIndex = 0x3c8, DacData = 0x3c9;

    // Miscellaneous output: colour I/O at 3Dxh, RAM enabled, 28.322 MHz clock (720 dots), 400-line sync polarity.
    private const byte MiscValue = 0x67;

    // Sequencer 0-4: reset off, 9-dot cells, planes 0 and 1 written, font at plane 2 offset 0, odd/even (no chain-4).
    private static readonly byte[] Sequencer = [0x03, 0x00, 0x03, 0x00, 0x02];

    // CRTC 0-18h: 80 columns of 9 dots, 400 scan lines, 16-line cells, cursor on lines 14-15, word mode, offset 40 words.
    private static readonly byte[] Crtc =
    [
        0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
        0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
    ];

    // Graphics controller 0-8: odd/even, memory map B8000h-BFFFFh, text (alphanumeric) mode.
    private static readonly byte[] Graphics = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];

    // Attribute controller 0-14h: the 16 EGA colours' DAC entries, text mode with line graphics and blink, all planes.
    private static readonly byte[] Attribute =
    [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
        0x0c, 0x00, 0x0f, 0x08, 0x00,
    ];

    /// <summary>Programs mode 3 and the default 64-colour palette through <paramref name="io"/>.</summary>
    public static void Set(IoPortBus io)
    {
        io.Write(Misc, 1, MiscValue);
        WriteIndexed(io, SequencerIndex, Sequencer);

        // CRTC registers 0-7 are write-protected while bit 7 of register 11h is set; it is clear in the table.
        WriteIndexed(io, CrtcIndex, Crtc);
        WriteIndexed(io, GraphicsIndex, Graphics);

        // The attribute controller takes index and data on one port, its flip-flop reset by reading
        // input status 1; index bit 5 (palette address source) set at the end turns the display on.
        io.Read(InputStatus1, 1);
        for (int i = 0; i < Attribute.Length; i++)
        {
            io.Write(AttributeIndex, 1, (uint)i);
            io.Write(AttributeIndex, 1, Attribute[i]);
        }

        io.Write(AttributeIndex, 1, 0x20);

        // The EGA-compatible palette in DAC entries 0-63: bits 0-2 are the blue, green and red
        // primaries at 2/3 intensity, bits 3-5 the same at 1/3 (6-bit DAC values 2Ah and 15h).
        io.Write(DacWriteIndex, 1, 0);
        for (int i = 0; i < 64; i++)
        {
            io.Write(DacData, 1, Level(i, 2, 5));
            io.Write(DacData, 1, Level(i, 1, 4));
            io.Write(DacData, 1, Level(i, 0, 3));
        }
    }

    private static uint Level(int index, int strong, int weak) => (uint)((((index >> strong) & 1) * 0x2a) + (((index >> weak) & 1) * 0x15));

    private static void WriteIndexed(IoPortBus io, ushort indexPort, byte[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            io.Write(indexPort, 1, (uint)i);
            io.Write((ushort)(indexPort + 1), 1, values[i]);
        }
    }
}
