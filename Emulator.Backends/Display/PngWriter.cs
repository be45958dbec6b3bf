using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Emulator.Backends.Display;

/// <summary>
/// Writes an RGB image as a PNG file (PNG specification, W3C 2003): the signature, IHDR (8-bit
/// truecolor, no interlace), one IDAT holding the zlib stream of the rows (each with filter type 0),
/// and IEND; every chunk ends with the CRC-32 of its type and data (ISO 3309, the polynomial of
/// annex D).
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a];
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Writes <paramref name="pixels"/> (0xRRGGBB, row-major, <paramref name="width"/> x <paramref name="height"/>) to <paramref name="output"/>.</summary>
    public static void Write(Stream output, int width, int height, ReadOnlySpan<uint> pixels)
    {
        RgbRows.Check(width, height, pixels);

        output.Write(Signature);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)height);
        header[8] = 8; // bit depth
        header[9] = 2; // color type: truecolor
        WriteChunk(output, "IHDR", header);

        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            byte[] row = new byte[1 + (3 * width)];
            for (int y = 0; y < height; y++)
            {
                RgbRows.Pack(pixels, width, y, row.AsSpan(1)); // row[0]: filter type 0 (None)
                z.Write(row);
            }
        }

        WriteChunk(output, "IDAT", compressed.ToArray());
        WriteChunk(output, "IEND", []);
    }

    /// <summary>The CRC-32 PNG uses, over <paramref name="data"/>, continuing from <paramref name="crc"/> (start with 0).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data, uint crc = 0)
    {
        crc = ~crc;
        foreach (byte b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(data, Crc32(typeBytes)));
        output.Write(word);
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xedb8_8320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
