namespace Emulator.Devices.Display;

/// <summary>What the CRT controller fetches for one displayed scan line.</summary>
/// <param name="Address">The character address counter at the start of the line (CRTC units, before <see cref="VgaScanLines.MemoryAddress"/>).</param>
/// <param name="RowScan">The row scan counter: the glyph line in text modes, the repeat count in graphics modes.</param>
/// <param name="PixelShift">Pixels the attribute controller drops from the left of the line (Horizontal Pixel Panning).</param>
internal readonly record struct VgaScanLine(int Address, int RowScan, int PixelShift);

/// <summary>
/// The CRT controller's vertical scan (IBM VGA Technical Reference, CRT controller and attribute
/// controller registers; FreeVGA's descriptions): the start address plus byte panning, the preset
/// row scan of the first row, rows of Maximum Scan Line + 1 lines (doubled by CR9 bit 7), each row
/// Offset x 2 characters after the last, and the split screen at Line Compare.
/// </summary>
internal static class VgaScanLines
{
    /// <summary>The scan lines 0 to <paramref name="height"/> - 1 from the top of the display.</summary>
    public static VgaScanLine[] Compute(Vga vga, int height)
    {
        ReadOnlySpan<byte> cr = vga.Crtc;
        ReadOnlySpan<byte> ac = vga.Attribute;

        // CR8 Preset Row Scan: bits 4:0 the row scan counter at the top of the frame, bits 6:5 byte
        // panning (characters added to the start address).
        int presetRowScan = cr[8] & 0x1f, bytePanning = (cr[8] >> 5) & 3;

        // CR9 Maximum Scan Line: bits 4:0 lines per row minus one; bit 7 scan doubling (each row scan twice).
        int maxScan = cr[9] & 0x1f, doubling = (cr[9] & 0x80) != 0 ? 2 : 1;
        int linesPerRow = (maxScan + 1) * doubling;

        // CR13 Offset: the counter advances by twice this value from one row to the next.
        int offset = cr[0x13] * 2;

        // CR18 Line Compare, bit 8 in CR7 bit 4, bit 9 in CR9 bit 6: after this scan line the
        // counter restarts at 0 and the row scan at 0 (the lower part of a split screen).
        int lineCompare = cr[0x18] | ((cr[7] & 0x10) << 4) | ((cr[9] & 0x40) << 3);

        // AC10 bit 5 Pixel Panning Compatibility: a line compare forces pixel panning and byte
        // panning to 0 for the rest of the frame; clear, the lower part pans as the upper part.
        bool panningCompatibility = (ac[0x10] & 0x20) != 0;

        int address = StartAddress(vga) + bytePanning;
        int sub = Math.Min(presetRowScan, maxScan) * doubling;
        int shift = PixelShift(vga);
        var lines = new VgaScanLine[height];
        for (int y = 0; y < height; y++)
        {
            lines[y] = new VgaScanLine(address, sub / doubling, shift);
            if (y == lineCompare)
            {
                address = panningCompatibility ? 0 : bytePanning;
                shift = panningCompatibility ? 0 : shift;
                sub = 0;
                continue;
            }

            if (++sub >= linesPerRow)
            {
                sub = 0;
                address += offset;
            }
        }

        return lines;
    }

    /// <summary>CR0C (high) and CR0D (low) Start Address.</summary>
    public static int StartAddress(Vga vga) => (vga.Crtc[0x0c] << 8) | vga.Crtc[0x0d];

    /// <summary>
    /// The plane offset the CRT controller reads for counter value <paramref name="n"/>. Double-word
    /// mode (CR14 bit 6) shifts it left by two and rotates counter bits 13:12 into bits 1:0 (their
    /// name: MA12, MA13); word mode (CR17 bit 6 clear) shifts it left by one with MA13, or MA15 when
    /// CR17 bit 5 (Address Wrap Select) is set, in bit 0; byte mode uses it as is.
    /// </summary>
    public static int MemoryAddress(Vga vga, int n)
    {
        ReadOnlySpan<byte> cr = vga.Crtc;
        if ((cr[0x14] & 0x40) != 0)
        {
            return ((n << 2) | ((n >> 12) & 3)) & 0xffff;
        }

        if ((cr[0x17] & 0x40) == 0)
        {
            int wrapBit = (cr[0x17] & 0x20) != 0 ? 15 : 13;
            return ((n << 1) | ((n >> wrapBit) & 1)) & 0xffff;
        }

        return n & 0xffff;
    }

    /// <summary>
    /// AC13 Horizontal Pixel Panning as pixels: with 9-dot characters 0-7 shift 1-8 dots and 8
    /// shifts none; with 8-dot characters and 16-color graphics 0-7 shift 0-7; in 256-color mode
    /// (AC10 bit 6) 0, 2, 4, 6 shift 0-3 pixels (the odd values are undefined and taken as the even
    /// value below). IBM VGA Technical Reference, Horizontal PEL Panning Register.
    /// </summary>
    public static int PixelShift(Vga vga)
    {
        int pan = vga.Attribute[0x13] & 0x0f;
        if ((vga.Attribute[0x10] & 0x40) != 0 && (vga.Graphics[6] & 1) != 0)
        {
            return (pan >> 1) & 3;
        }

        bool nineDots = (vga.Graphics[6] & 1) == 0 && (vga.Sequencer[1] & 1) == 0;
        return nineDots ? (pan >= 8 ? 0 : pan + 1) : pan & 7;
    }
}
