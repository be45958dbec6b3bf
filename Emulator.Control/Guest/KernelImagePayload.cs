using System.Buffers.Binary;
using System.IO.Compression;
using Emulator.Machines;
using Emulator.Machines.Loaders.Linux;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;
using ZstdDecompressionStream = SharpCompress.Compressors.ZStandard.DecompressionStream;

namespace Emulator.Control.Guest;

/// <summary>
/// The kernel inside a bzImage: the compressed vmlinux that the setup header's payload_offset and
/// payload_length locate (boot protocol 2.08+, Documentation/arch/x86/boot.rst), decompressed. The
/// format is told by its magic number, as the kernel's own decompressor (lib/decompress.c) does; the
/// build appends the uncompressed size as a little-endian u32 to every format (scripts/Makefile.lib,
/// size_append), so exactly that many bytes are read and nothing after the stream matters.
/// </summary>
public static class KernelImagePayload
{
    // A distribution vmlinux is 50-100 MiB; anything claiming more than this is not a kernel.
    private const uint MaxImage = 1u << 30;

    private static readonly (byte[] Magic, string Name, Func<Stream, Stream>? Open)[] Formats =
    [
        ([0x1f, 0x8b], "gzip", s => new GZipStream(s, CompressionMode.Decompress)),
        ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz", s => new XZStream(s)),
        ([0x28, 0xb5, 0x2f, 0xfd], "zstd", s => new ZstdDecompressionStream(s)),
        ([0x42, 0x5a, 0x68], "bzip2", s => BZip2Stream.Create(s, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: false)),
        ([0x02, 0x21, 0x4c, 0x18], "lz4", null),
        ([0x89, 0x4c, 0x5a, 0x4f], "lzo", null),
        ([0x5d, 0x00, 0x00], "lzma", null),
    ];

    /// <summary>
    /// The uncompressed kernel (an ELF vmlinux) of the bzImage at <paramref name="path"/>; problems
    /// (not a bzImage, too old a protocol, an unknown or unsupported format, a damaged stream) are
    /// one line naming the file, as <see cref="InvalidDataException"/>.
    /// </summary>
    public static byte[] Decompress(string path)
    {
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read: {e.Message}", e);
        }

        SetupHeader header;
        try
        {
            header = SetupHeader.Parse(file, path);
        }
        catch (MachineConfigException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        if (header.PayloadLength == 0)
        {
            throw new InvalidDataException($"{path}: boot protocol {header.Version >> 8}.{header.Version & 0xff:d2} gives no payload_offset/payload_length (2.08+ does)");
        }

        long start = header.KernelOffset + (long)header.PayloadOffset;
        if (header.PayloadLength < 8 || start + header.PayloadLength > file.Length)
        {
            throw new InvalidDataException($"{path}: the payload ({header.PayloadLength} bytes at 0x{start:x}) does not lie inside the file ({file.Length} bytes)");
        }

        ReadOnlyMemory<byte> payload = file.AsMemory((int)start, (int)header.PayloadLength);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(payload.Span[^4..]);
        (_, string name, Func<Stream, Stream>? open) = Array.Find(Formats, f => payload.Span.StartsWith(f.Magic));
        if (name is null)
        {
            throw new InvalidDataException($"{path}: the payload's format is not one the kernel knows (it starts {Convert.ToHexString(payload.Span[..4])})");
        }

        if (open is null)
        {
            throw new InvalidDataException($"{path}: the kernel is compressed with {name}, which emu cannot decompress (gzip, xz, zstd and bzip2 it can)");
        }

        if (size is 0 or > MaxImage)
        {
            throw new InvalidDataException($"{path}: the payload claims an uncompressed size of {size} bytes");
        }

        var image = GC.AllocateUninitializedArray<byte>((int)size);
        try
        {
            using var compressed = new MemoryStream(file, (int)start, (int)header.PayloadLength - 4, writable: false);
            using Stream stream = open(compressed);
            stream.ReadExactly(image);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The decompressors throw their own types for a damaged stream (end of stream, checksums, bad headers).
            throw new InvalidDataException($"{path}: the {name} payload does not decompress to the {size} bytes it claims: {e.Message}", e);
        }

        return image;
    }
}
