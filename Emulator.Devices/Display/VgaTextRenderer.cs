namespace Emulator.Devices.Display;

/// <summary>
/// Draws a VGA text mode scan line by scan line as the CRT controller fetches it
/// (<see cref="VgaScanLines"/>: start address, byte panning, preset row scan, split screen): the
/// character and attribute from planes 0 and 1, the glyph line from the plane 2 font, 8 or 9 dots
/// per character shifted left by the horizontal pixel panning, the cursor where the character
/// address counter equals the Cursor Location (CR0E/CR0F), and blinking (<see cref="VgaBlink"/>).
/// </summary>
internal static class VgaTextRenderer
{
    // Plane 2 offsets of the eight character maps selectable through Sequencer register 3.
    private static readonly int[] FontBases = [0x0000, 0x4000, 0x8000, 0xc000, 0x2000, 0x6000, 0xa000, 0xe000];

    public static VgaFrame Render(Vga vga, VgaTextScreen text, int frame)
    {
        int cw = text.CharWidth, width = text.Columns * cw, height = text.Rows * text.CharHeight;
        var pixels = new uint[width * height];
        ReadOnlySpan<byte> ac = vga.Attribute, cr = vga.Crtc;
        bool blink = VgaBlink.Enabled(vga), lineGraphics = (ac[0x10] & 0x04) != 0;
        bool charactersShown = VgaBlink.CharactersShown(frame);
        int sr3 = vga.Sequencer[3];
        // Sequencer register 3: map A from bits 5,3,2, map B from bits 4,1,0; attribute bit 3 picks A.
        int mapA = FontBases[((sr3 >> 3) & 4) | ((sr3 >> 2) & 3)], mapB = FontBases[((sr3 >> 2) & 4) | (sr3 & 3)];

        // CR0A bit 5 turns the cursor off; CR0A/CR0B bits 4:0 are its first and last scan lines.
        bool cursorOn = (cr[0x0a] & 0x20) == 0 && VgaBlink.CursorShown(frame);
        int cursor = (cr[0x0e] << 8) | cr[0x0f];
        Span<uint> palette = stackalloc uint[16];
        for (int i = 0; i < 16; i++)
        {
            palette[i] = VgaRenderer.AttributeColor(vga, i);
        }

        VgaScanLine[] lines = VgaScanLines.Compute(vga, height);
        for (int y = 0; y < height; y++)
        {
            VgaScanLine line = lines[y];
            int glyphLine = line.RowScan;
            bool cursorLine = cursorOn && glyphLine >= text.CursorStart && glyphLine <= text.CursorEnd;
            for (int x = 0; x < width; x++)
            {
                int dot = x + line.PixelShift;
                int n = line.Address + (dot / cw), dx = dot % cw;
                int address = VgaScanLines.MemoryAddress(vga, n);
                byte character = vga.Plane(0, address), attribute = vga.Plane(1, address);
                int fontBase = (attribute & 0x08) != 0 ? mapA : mapB;
                int glyph = vga.Plane(2, fontBase + (character * 32) + glyphLine);
                // The ninth dot repeats the eighth for the line-drawing characters C0h-DFh (AC10 bit 2).
                bool on = dx < 8
                    ? (glyph & (0x80 >> dx)) != 0
                    : lineGraphics && character is >= 0xc0 and <= 0xdf && (glyph & 1) != 0;
                if (!charactersShown && VgaBlink.Blinks(attribute, blink))
                {
                    on = false; // the hidden phase shows the background
                }

                // The cursor blinks on its own cycle and covers all 8 or 9 dots in the foreground color.
                on |= cursorLine && (n & 0xffff) == cursor;

                pixels[(y * width) + x] = on ? palette[attribute & 0x0f] : palette[VgaBlink.Background(attribute, blink)];
            }
        }

        return new VgaFrame(width, height, pixels);
    }
}
