namespace Emulator.Devices.Display;

/// <summary>
/// Draws the VGA's own graphics modes scan line by scan line (<see cref="VgaScanLines"/>: start
/// address, byte panning, row repeat, split screen, pixel panning): 16 colors from the four planes
/// one bit each through the attribute palette, and 256 colors (Graphics Mode register GR5 bit 6)
/// one byte per pixel from planes 0, 1, 2, 3 in turn, chained (mode 13h) or not ("mode X").
/// </summary>
internal static class VgaGraphicsRenderer
{
    private const int MaxWidth = 2560;

    /// <summary>
    /// 16-color planar graphics: 8 pixels per character clock, bit 7 first, plane p giving bit p of
    /// the color; each pixel two dots wide when Sequencer Clocking Mode (SR1) bit 3 halves the dot clock.
    /// </summary>
    public static VgaFrame RenderPlanar(Vga vga, int height)
    {
        int dotsPerPixel = (vga.Sequencer[1] & 0x08) != 0 ? 2 : 1;
        int width = Math.Clamp((vga.Crtc[1] + 1) * 8 * dotsPerPixel, 8, MaxWidth);
        int planeEnable = vga.Attribute[0x12] & 0x0f; // AC12 Color Plane Enable
        Span<uint> palette = stackalloc uint[16];
        for (int i = 0; i < 16; i++)
        {
            palette[i] = VgaRenderer.AttributeColor(vga, i & planeEnable);
        }

        VgaScanLine[] lines = VgaScanLines.Compute(vga, height);
        var pixels = new uint[width * height];
        for (int y = 0; y < height; y++)
        {
            VgaScanLine line = lines[y];
            for (int x = 0; x < width; x++)
            {
                int dot = (x / dotsPerPixel) + line.PixelShift;
                int address = VgaScanLines.MemoryAddress(vga, line.Address + (dot / 8));
                int bit = 7 - (dot % 8), color = 0;
                for (int p = 0; p < 4; p++)
                {
                    color |= ((vga.Plane(p, address) >> bit) & 1) << p;
                }

                pixels[(y * width) + x] = palette[color];
            }
        }

        return new VgaFrame(width, height, pixels);
    }

    /// <summary>
    /// 256 colors: 4 pixels per character clock of 8 dots (each pixel two dots wide, AC10 bit 6 Pixel
    /// Clock Select), the bytes of planes 0, 1, 2 and 3 at the address the CRT controller forms
    /// (<see cref="VgaScanLines.MemoryAddress"/>: double-word mode for mode 13h, byte mode for the
    /// unchained "mode X"), each byte a DAC index.
    /// </summary>
    public static VgaFrame RenderPacked(Vga vga, int height)
    {
        int width = Math.Clamp((vga.Crtc[1] + 1) * 8, 8, MaxWidth);
        // Sequencer Memory Mode (SR4) bit 3 Chain 4: the CPU's address A went to plane A mod 4 at
        // byte A of emu's display memory (QEMU's layout, see Vga), which is plane offset A / 4; a
        // display address m of plane p is then byte (m with bits 1:0 clear) + p. Unchained, plane p
        // offset m is byte 4m + p.
        bool chain4 = (vga.Sequencer[4] & 0x08) != 0;
        VgaScanLine[] lines = VgaScanLines.Compute(vga, height);
        var pixels = new uint[width * height];
        for (int y = 0; y < height; y++)
        {
            VgaScanLine line = lines[y];
            for (int x = 0; x < width; x++)
            {
                int dot = (x / 2) + line.PixelShift;
                int m = VgaScanLines.MemoryAddress(vga, line.Address + (dot / 4)), p = dot % 4;
                int index = chain4 ? (m & ~3) + p : (4 * m) + p;
                pixels[(y * width) + x] = VgaRenderer.DacColor(vga, vga.Vram[index]);
            }
        }

        return new VgaFrame(width, height, pixels);
    }
}
