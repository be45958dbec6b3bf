using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Xunit;

namespace Emulator.Tests.Display;

/// <summary>
/// A minimal PNG reader for 8-bit truecolor images without interlace (PNG specification sections
/// 5 and 9): checks the signature and every chunk's CRC (computed bit by bit, not from a table),
/// inflates the IDAT stream and undoes the five row filters.
/// </summary>
internal static class PngDecoder
{
    public static (int Width, int Height, uint[] Pixels) Decode(byte[] png)
    {
        Assert.Equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], png[..8]);
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        int at = 8;
        while (true)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            byte[] data = png[(at + 8)..(at + 8 + length)];
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(BitwiseCrc(png.AsSpan(at + 4, 4 + length)), crc);
            at += 12 + length;
            if (type == "IHDR")
            {
                width = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
                height = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4));
                Assert.Equal(8, data[8]);
                Assert.Equal(2, data[9]);
                Assert.Equal(0, data[12]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }
            else if (type == "IEND")
            {
                break;
            }
        }

        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        byte[] rows = raw.ToArray();
        int stride = 3 * width;
        Assert.Equal(height * (stride + 1), rows.Length);
        var pixels = new uint[width * height];
        byte[] previous = new byte[stride], current = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            byte filter = rows[y * (stride + 1)];
            for (int i = 0; i < stride; i++)
            {
                byte x = rows[(y * (stride + 1)) + 1 + i];
                int a = i >= 3 ? current[i - 3] : 0, b = previous[i], c = i >= 3 ? previous[i - 3] : 0;
                current[i] = filter switch
                {
                    0 => x,
                    1 => (byte)(x + a),
                    2 => (byte)(x + b),
                    3 => (byte)(x + ((a + b) / 2)),
                    _ => (byte)(x + Paeth(a, b, c)),
                };
            }

            for (int i = 0; i < width; i++)
            {
                pixels[(y * width) + i] = (uint)((current[3 * i] << 16) | (current[(3 * i) + 1] << 8) | current[(3 * i) + 2]);
            }

            (previous, current) = (current, previous);
        }

        return (width, height, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xffff_ffff;
        foreach (byte d in data)
        {
            crc ^= d;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xedb8_8320u & (uint)-(int)(crc & 1));
            }
        }

        return ~crc;
    }
}
