namespace Emulator.Devices.Display;

/// <summary>An image of the screen: <see cref="Width"/> x <see cref="Height"/> pixels, each 0xRRGGBB, row-major.</summary>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="Pixels">The pixels.</param>
public sealed record VgaFrame(int Width, int Height, uint[] Pixels);

/// <summary>
/// Reads what a <see cref="Vga"/> displays, the way its CRT controller, attribute controller and DAC
/// would scan it out: text modes (characters from planes 0 and 1, glyphs from plane 2, 8- or 9-dot
/// cells, the cursor), 16-color planar graphics, 256-color chain-4 graphics and the VBE linear
/// modes (8, 15, 16, 24, 32 bits per pixel). One frame, no blinking (blink-enabled attributes show
/// their background without the intensity bit; the cursor is drawn). Registers are taken as
/// programmed, bounded so that any values give some finite image.
/// </summary>
public static class VgaRenderer
{
    private const int MaxWidth = 2560, MaxHeight = 1600;

    // Plane 2 offsets of the eight character maps selectable through Sequencer register 3.
    private static readonly int[] FontBases = [0x0000, 0x4000, 0x8000, 0xc000, 0x2000, 0x6000, 0xa000, 0xe000];

    /// <summary>True when the VGA is in a text (alphanumeric) mode.</summary>
    public static bool IsTextMode(Vga vga) => !vga.Dispi.Enabled && (vga.Graphics[6] & 1) == 0;

    /// <summary>The text screen, or null in a graphics mode.</summary>
    public static VgaTextScreen? Text(Vga vga)
    {
        if (!IsTextMode(vga))
        {
            return null;
        }

        ReadOnlySpan<byte> cr = vga.Crtc;
        int columns = Math.Clamp(cr[1] + 1, 1, 255);
        int charWidth = (vga.Sequencer[1] & 1) != 0 ? 8 : 9;
        int charHeight = (cr[9] & 0x1f) + 1;
        int rows = Math.Max(1, VerticalDisplayEnd(vga) / charHeight);
        int start = (cr[0x0c] << 8) | cr[0x0d];
        int pitch = cr[0x13] * 2; // characters per row in word mode (Offset register counts words)
        var cells = new VgaCell[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                int address = TextAddress(vga, start + (r * pitch) + c);
                cells[(r * columns) + c] = new VgaCell(vga.Plane(0, address), vga.Plane(1, address));
            }
        }

        int cursor = (cr[0x0e] << 8) | cr[0x0f];
        int cursorRow = -1, cursorColumn = 0;
        if ((cr[0x0a] & 0x20) == 0 && pitch > 0 && cursor >= start)
        {
            int relative = cursor - start;
            int row = relative / pitch, column = relative % pitch;
            if (row < rows && column < columns)
            {
                (cursorRow, cursorColumn) = (row, column);
            }
        }

        return new VgaTextScreen(columns, rows, charWidth, charHeight, cells, cursorRow, cursorColumn, cr[0x0a] & 0x1f, cr[0x0b] & 0x1f);
    }

    /// <summary>Renders the current mode, or a black 640x480 frame while the display is off.</summary>
    public static VgaFrame Render(Vga vga)
    {
        if (vga.Dispi.Enabled)
        {
            return RenderLinear(vga);
        }

        if (!vga.DisplayEnabled)
        {
            return new VgaFrame(640, 480, new uint[640 * 480]);
        }

        if (Text(vga) is { } text)
        {
            return RenderText(vga, text);
        }

        return (vga.Graphics[5] & 0x40) != 0 ? RenderChain4(vga) : RenderPlanar(vga);
    }

    /// <summary>The RGB color of DAC entry <paramref name="index"/> (6-bit components widened to 8 bits unless the DAC is 8-bit).</summary>
    public static uint DacColor(Vga vga, int index)
    {
        ReadOnlySpan<byte> dac = vga.Dac;
        index &= vga.DacPixelMask;
        uint r = dac[3 * index], g = dac[(3 * index) + 1], b = dac[(3 * index) + 2];
        if (!vga.Dispi.EightBitDac)
        {
            (r, g, b) = ((r << 2) | (r >> 4), (g << 2) | (g >> 4), (b << 2) | (b >> 4));
        }

        return (r << 16) | (g << 8) | b;
    }

    /// <summary>
    /// The color of a 4-bit attribute color: the attribute controller's palette register, then
    /// bits 7:4 from the Color Select register (bits 5:4 only with Mode Control bit 7), then the DAC.
    /// </summary>
    public static uint AttributeColor(Vga vga, int color)
    {
        ReadOnlySpan<byte> ac = vga.Attribute;
        int palette = ac[color & 0x0f] & 0x3f;
        int index = (ac[0x10] & 0x80) != 0
            ? ((ac[0x14] & 0x0f) << 4) | (palette & 0x0f)
            : ((ac[0x14] & 0x0c) << 4) | palette;
        return DacColor(vga, index);
    }

    // Vertical Display End: CR12 plus bit 8 from CR7 bit 1 and bit 9 from CR7 bit 6.
    private static int VerticalDisplayEnd(Vga vga)
    {
        ReadOnlySpan<byte> cr = vga.Crtc;
        int end = cr[0x12] | ((cr[7] & 0x02) << 7) | ((cr[7] & 0x40) << 3);
        return Math.Clamp(end + 1, 1, MaxHeight);
    }

    // The plane offset the CRT controller reads for character address counter value n: word mode
    // (CR17 bit 6 clear) shifts it left by one, double-word mode (CR14 bit 6) by two.
    private static int TextAddress(Vga vga, int n)
    {
        ReadOnlySpan<byte> cr = vga.Crtc;
        if ((cr[0x14] & 0x40) != 0)
        {
            return (n << 2) & 0xffff;
        }

        return (cr[0x17] & 0x40) == 0 ? (n << 1) & 0xffff : n & 0xffff;
    }

    private static VgaFrame RenderText(Vga vga, VgaTextScreen text)
    {
        int width = text.Columns * text.CharWidth, height = text.Rows * text.CharHeight;
        var pixels = new uint[width * height];
        ReadOnlySpan<byte> ac = vga.Attribute;
        bool blink = (ac[0x10] & 0x08) != 0, lineGraphics = (ac[0x10] & 0x04) != 0;
        int sr3 = vga.Sequencer[3];
        // Sequencer register 3: map A from bits 5,3,2, map B from bits 4,1,0; attribute bit 3 picks A.
        int mapA = FontBases[((sr3 >> 3) & 4) | ((sr3 >> 2) & 3)], mapB = FontBases[((sr3 >> 2) & 4) | (sr3 & 3)];
        for (int r = 0; r < text.Rows; r++)
        {
            for (int c = 0; c < text.Columns; c++)
            {
                VgaCell cell = text[r, c];
                int fontBase = (cell.Attribute & 0x08) != 0 ? mapA : mapB;
                uint fg = AttributeColor(vga, cell.Attribute & 0x0f);
                uint bg = AttributeColor(vga, blink ? (cell.Attribute >> 4) & 7 : cell.Attribute >> 4);
                bool cursorCell = r == text.CursorRow && c == text.CursorColumn;
                for (int line = 0; line < text.CharHeight; line++)
                {
                    int glyph = line < 32 ? vga.Plane(2, fontBase + (cell.Character * 32) + line) : 0;
                    if (cursorCell && line >= text.CursorStart && line <= text.CursorEnd)
                    {
                        glyph = 0x1ff;
                    }

                    int y = (r * text.CharHeight) + line;
                    for (int x = 0; x < text.CharWidth; x++)
                    {
                        // The ninth dot repeats the eighth for the line-drawing characters C0h-DFh (Mode Control bit 2).
                        bool on = x < 8
                            ? (glyph & (0x80 >> x)) != 0
                            : glyph == 0x1ff || (lineGraphics && cell.Character is >= 0xc0 and <= 0xdf && (glyph & 1) != 0);
                        pixels[(y * width) + (c * text.CharWidth) + x] = on ? fg : bg;
                    }
                }
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    // Scan lines per row of pixels: CR9 bits 4:0 repeat each line, bit 7 doubles it.
    private static int LineRepeat(Vga vga) => ((vga.Crtc[9] & 0x1f) + 1) * ((vga.Crtc[9] & 0x80) != 0 ? 2 : 1);

    private static VgaFrame RenderChain4(Vga vga)
    {
        ReadOnlySpan<byte> cr = vga.Crtc;
        int width = Math.Clamp((cr[1] + 1) * 4, 1, MaxWidth);
        int height = Math.Max(1, VerticalDisplayEnd(vga) / LineRepeat(vga));
        int start = ((cr[0x0c] << 8) | cr[0x0d]) * 4, pitch = cr[0x13] * 8;
        var pixels = new uint[width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int a = (start + (y * pitch) + x) & 0x3ffff;
                pixels[(y * width) + x] = DacColor(vga, vga.Vram[a]);
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    private static VgaFrame RenderPlanar(Vga vga)
    {
        ReadOnlySpan<byte> cr = vga.Crtc;
        int width = Math.Clamp((cr[1] + 1) * 8, 8, MaxWidth);
        int height = Math.Max(1, VerticalDisplayEnd(vga) / LineRepeat(vga));
        int start = (cr[0x0c] << 8) | cr[0x0d], pitch = cr[0x13] * 2;
        int planeEnable = vga.Attribute[0x12] & 0x0f;
        var pixels = new uint[width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int address = (start + (y * pitch) + (x / 8)) & 0xffff;
                int bit = 7 - (x % 8), color = 0;
                for (int p = 0; p < 4; p++)
                {
                    color |= ((vga.Plane(p, address) >> bit) & 1) << p;
                }

                pixels[(y * width) + x] = AttributeColor(vga, color & planeEnable);
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    private static VgaFrame RenderLinear(Vga vga)
    {
        BochsDispi d = vga.Dispi;
        int width = Math.Clamp(d.Xres, 1, MaxWidth), height = Math.Clamp(d.Yres, 1, MaxHeight);
        int bytes = (d.Bpp + 7) / 8;
        var pixels = new uint[width * height];
        byte[] vram = vga.Vram;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                long a = d.StartOffset + ((long)y * d.LineOffset) + ((long)x * bytes);
                if (a + bytes > vram.Length)
                {
                    continue;
                }

                int i = (int)a;
                pixels[(y * width) + x] = d.Bpp switch
                {
                    8 => DacColor(vga, vram[i]),
                    15 => Rgb555(vram[i] | (vram[i + 1] << 8)),
                    16 => Rgb565(vram[i] | (vram[i + 1] << 8)),
                    24 => (uint)(vram[i] | (vram[i + 1] << 8) | (vram[i + 2] << 16)),
                    _ => (uint)(vram[i] | (vram[i + 1] << 8) | (vram[i + 2] << 16)),
                };
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    private static uint Rgb555(int v) => Widen5((v >> 10) & 31) << 16 | Widen5((v >> 5) & 31) << 8 | Widen5(v & 31);

    private static uint Rgb565(int v) => Widen5((v >> 11) & 31) << 16 | (uint)((((v >> 5) & 63) << 2) | (((v >> 5) & 63) >> 4)) << 8 | Widen5(v & 31);

    private static uint Widen5(int v) => (uint)((v << 3) | (v >> 2));
}
