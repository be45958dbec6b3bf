namespace Emulator.Devices.Display;

/// <summary>An image of the screen: <see cref="Width"/> x <see cref="Height"/> pixels, each 0xRRGGBB, row-major.</summary>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="Pixels">The pixels.</param>
public sealed record VgaFrame(int Width, int Height, uint[] Pixels);

/// <summary>
/// Reads what a <see cref="Vga"/> displays, the way its CRT controller, attribute controller and DAC
/// would scan it out (<see cref="VgaScanLines"/>): text modes (<see cref="VgaTextRenderer"/>), 16-color
/// planar and 256-color chained or unchained graphics (<see cref="VgaGraphicsRenderer"/>), with the
/// split screen, the preset row scan and byte and pixel panning, and the VBE linear modes (8, 15, 16,
/// 24, 32 bits per pixel). Blinking is drawn for a given frame (<see cref="VgaBlink"/>). Registers are
/// taken as programmed, bounded so that any values give some finite image.
/// </summary>
public static class VgaRenderer
{
    private const int MaxWidth = 2560, MaxHeight = 1600;

    /// <summary>True when the VGA is in a text (alphanumeric) mode.</summary>
    public static bool IsTextMode(Vga vga) => !vga.Dispi.Enabled && (vga.Graphics[6] & 1) == 0;

    /// <summary>
    /// The text screen, or null in a graphics mode: for each row the characters the CRT controller
    /// fetches on the row's first scan line (<see cref="VgaScanLines"/>, so the split screen and
    /// byte panning move whole rows and cells; pixel panning and the preset row scan, less than a
    /// cell, do not), and the cell where the character address counter meets the Cursor Location.
    /// </summary>
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
        VgaScanLine[] lines = VgaScanLines.Compute(vga, rows * charHeight);
        var cells = new VgaCell[rows * columns];
        int cursor = (cr[0x0e] << 8) | cr[0x0f];
        int cursorRow = -1, cursorColumn = 0;
        for (int r = 0; r < rows; r++)
        {
            int rowAddress = lines[r * charHeight].Address;
            for (int c = 0; c < columns; c++)
            {
                int address = VgaScanLines.MemoryAddress(vga, rowAddress + c);
                cells[(r * columns) + c] = new VgaCell(vga.Plane(0, address), vga.Plane(1, address));
                if (cursorRow < 0 && ((rowAddress + c) & 0xffff) == cursor && (cr[0x0a] & 0x20) == 0)
                {
                    (cursorRow, cursorColumn) = (r, c);
                }
            }
        }

        return new VgaTextScreen(columns, rows, charWidth, charHeight, cells, cursorRow, cursorColumn, cr[0x0a] & 0x1f, cr[0x0b] & 0x1f);
    }

    /// <summary>Renders the current mode in the shown phase of blinking (<see cref="VgaBlink.ShownFrame"/>), or a black 640x480 frame while the display is off.</summary>
    public static VgaFrame Render(Vga vga) => Render(vga, VgaBlink.ShownFrame);

    /// <summary>Renders the current mode as it looks <paramref name="frame"/> vertical retraces into the blink cycles (<see cref="VgaBlink"/>).</summary>
    public static VgaFrame Render(Vga vga, int frame)
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
            return VgaTextRenderer.Render(vga, text, frame);
        }

        // GR5 bit 6 (256-color shift mode): one byte per pixel; otherwise one bit per plane. The frame
        // has a row per scan line and a column per dot, as the monitor shows it (and QEMU draws it):
        // mode 13h is 640x400, each of its 320x200 pixels two dots wide and two lines high.
        int height = VerticalDisplayEnd(vga);
        return (vga.Graphics[5] & 0x40) != 0
            ? VgaGraphicsRenderer.RenderPacked(vga, height)
            : VgaGraphicsRenderer.RenderPlanar(vga, height);
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
