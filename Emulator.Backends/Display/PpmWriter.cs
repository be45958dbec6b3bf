using System.Globalization;
using System.Text;

namespace Emulator.Backends.Display;

/// <summary>
/// Writes an RGB image as a binary PPM (Netpbm's "P6" format): the header <c>P6\nWIDTH HEIGHT\n255\n</c>
/// and then three bytes (red, green, blue) per pixel, row by row. It is the format QEMU's
/// <c>screendump</c> writes by default, so scripts that read QEMU's dumps read emu's.
/// </summary>
public static class PpmWriter
{
    /// <summary>Writes <paramref name="pixels"/> (0xRRGGBB, row-major, <paramref name="width"/> x <paramref name="height"/>) to <paramref name="output"/>.</summary>
    public static void Write(Stream output, int width, int height, ReadOnlySpan<uint> pixels)
    {
        RgbRows.Check(width, height, pixels);

        output.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"P6\n{width} {height}\n255\n")));
        byte[] row = new byte[3 * width];
        for (int y = 0; y < height; y++)
        {
            RgbRows.Pack(pixels, width, y, row);
            output.Write(row);
        }
    }
}
