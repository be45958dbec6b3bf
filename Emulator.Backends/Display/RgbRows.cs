namespace Emulator.Backends.Display;

/// <summary>What the image writers share: the check of an image's size and a row of 0xRRGGBB pixels as red, green, blue bytes.</summary>
internal static class RgbRows
{
    /// <summary>Throws unless <paramref name="pixels"/> holds exactly <paramref name="width"/> x <paramref name="height"/> pixels of a non-empty image.</summary>
    public static void Check(int width, int height, ReadOnlySpan<uint> pixels)
    {
        if (width <= 0 || height <= 0 || pixels.Length != width * height)
        {
            throw new ArgumentException($"an image of {width}x{height} needs {width * height} pixels, not {pixels.Length}");
        }
    }

    /// <summary>Writes row <paramref name="y"/> of <paramref name="pixels"/> into <paramref name="rgb"/> as three bytes per pixel.</summary>
    public static void Pack(ReadOnlySpan<uint> pixels, int width, int y, Span<byte> rgb)
    {
        ReadOnlySpan<uint> line = pixels.Slice(y * width, width);
        for (int x = 0; x < width; x++)
        {
            rgb[3 * x] = (byte)(line[x] >> 16);
            rgb[(3 * x) + 1] = (byte)(line[x] >> 8);
            rgb[(3 * x) + 2] = (byte)line[x];
        }
    }
}
