using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using K4os.Compression.LZ4;

namespace Emulator.Core.Snapshots;

/// <summary>What went into a RAM section.</summary>
/// <param name="Pages">Pages of guest RAM.</param>
/// <param name="ZeroPages">Pages left out because every byte was zero.</param>
/// <param name="StoredBytes">Bytes the section takes in the file.</param>
public readonly record struct RamImageStats(ulong Pages, ulong ZeroPages, ulong StoredBytes);

/// <summary>
/// Guest RAM in a snapshot (<see cref="SectionEncoding.RamPages"/>): RAM is cut into chunks of
/// <see cref="PagesPerChunk"/> pages; a chunk is a 64-bit map of the pages that hold anything but
/// zeros and one LZ4 block of those pages, one after the other. All-zero pages cost one bit, and the
/// chunks are compressed and decompressed on every core. LZ4 rather than a denser codec: a restore
/// runs in a fresh process, and LZ4's small decoder decodes a booted Linux guest's 88 MiB of pages
/// in about a tenth of the time Zstandard's managed port took there, for a fifth more bytes.
/// <code>
///   u64 RAM size, u32 page size (4096), u32 pages per chunk (64)
///   per chunk: u64 page map (bit i = page i is stored), u32 block length L, L bytes of LZ4 block
/// </code>
/// </summary>
public static unsafe class RamImage
{
    /// <summary>The page granularity of the zero-page test.</summary>
    public const int PageSize = 4096;

    /// <summary>Pages per chunk: one bit each in the chunk's map.</summary>
    public const int PagesPerChunk = 64;

    /// <summary>Bytes of the RAM section before the first chunk.</summary>
    public const int HeaderSize = 16;

    private const int ChunkBytes = PageSize * PagesPerChunk;
    private const int ChunkHeaderSize = 12;

    // Chunks compressed in parallel before they are written in order: 64 MiB of RAM at a time.
    private const int ChunksPerBatch = 256;

    /// <summary>
    /// Writes <paramref name="size"/> bytes of RAM at <paramref name="ram"/> (a multiple of
    /// <see cref="PageSize"/>) through <paramref name="write"/>, compressed with LZ4. The RAM must
    /// not change meanwhile (the machine is paused).
    /// </summary>
    public static RamImageStats Encode(byte* ram, ulong size, Action<ReadOnlySpan<byte>> write)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(size % PageSize, 0UL, nameof(size));
        Span<byte> header = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt64LittleEndian(header, size);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], PageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], PagesPerChunk);
        write(header);
        ulong stored = HeaderSize, zeroPages = 0;
        ulong chunks = ChunkCount(size);
        var results = new (ulong Map, byte[]? Frame, int Length)[ChunksPerBatch];
        using var residency = Memory.PageResidency.Open();
        byte[] chunkHeader = new byte[ChunkHeaderSize];
        for (ulong first = 0; first < chunks; first += ChunksPerBatch)
        {
            int count = (int)Math.Min(ChunksPerBatch, chunks - first);
            Parallel.For(
                0,
                count,
                () => ArrayPool<byte>.Shared.Rent(ChunkBytes),
                (i, _, pages) =>
                {
                    results[i] = EncodeChunk(ram, size, first + (ulong)i, pages, residency);
                    return pages;
                },
                pages => ArrayPool<byte>.Shared.Return(pages));

            for (int i = 0; i < count; i++)
            {
                (ulong map, byte[]? frame, int length) = results[i];
                BinaryPrimitives.WriteUInt64LittleEndian(chunkHeader, map);
                BinaryPrimitives.WriteInt32LittleEndian(chunkHeader.AsSpan(8), length);
                write(chunkHeader);
                if (frame is not null)
                {
                    write(frame.AsSpan(0, length));
                    ArrayPool<byte>.Shared.Return(frame);
                }

                stored += ChunkHeaderSize + (ulong)length;
                zeroPages += (ulong)(PagesIn(size, first + (ulong)i) - BitOperations.PopCount(map));
                results[i] = default;
            }
        }

        return new RamImageStats(size / PageSize, zeroPages, stored);
    }

    /// <summary>
    /// Reads a RAM section's <paramref name="payload"/> into <paramref name="ram"/> of
    /// <paramref name="size"/> bytes. With <paramref name="clearZeroPages"/> the pages the section
    /// leaves out are cleared (RAM that was in use); without it they are left alone (a fresh mapping
    /// is zero already, and untouched pages then cost the host nothing). The whole section is checked
    /// before RAM is written; throws <see cref="InvalidDataException"/> for a malformed one.
    /// </summary>
    public static void Decode(ReadOnlySpan<byte> payload, byte* ram, ulong size, bool clearZeroPages)
    {
        List<(ulong Chunk, ulong Map, int Offset, int Length)> table = ReadTable(payload, size);
        try
        {
            DecodeChunks(payload, table, ram, size, clearZeroPages);
        }
        catch (AggregateException e) when (e.InnerException is InvalidDataException bad)
        {
            throw new InvalidDataException(bad.Message, bad);
        }
    }

    private static void DecodeChunks(ReadOnlySpan<byte> payload, List<(ulong Chunk, ulong Map, int Offset, int Length)> table, byte* ram, ulong size, bool clearZeroPages)
    {
        // Pages the host never gave a frame are zero already: clearing needs no look at them.
        using Memory.PageResidency? residency = clearZeroPages ? Memory.PageResidency.Open() : null;
        fixed (byte* p = payload)
        {
            byte* basePointer = p;
            Parallel.For(
                0,
                table.Count,
                () => ArrayPool<byte>.Shared.Rent(ChunkBytes),
                (i, _, pages) =>
                {
                    (ulong chunk, ulong map, int offset, int length) = table[i];
                    var block = new ReadOnlySpan<byte>(basePointer + offset, length);
                    DecodeChunk(block, map, chunk, ram, size, residency, pages);
                    return pages;
                },
                pages => ArrayPool<byte>.Shared.Return(pages));
        }
    }

    /// <summary>The RAM size a RAM section's <paramref name="payload"/> describes.</summary>
    public static ulong SizeOf(ReadOnlySpan<byte> payload) =>
        payload.Length < HeaderSize ? throw new InvalidDataException("RAM section shorter than its header") : BinaryPrimitives.ReadUInt64LittleEndian(payload);

    private static ulong ChunkCount(ulong size) => (size + ChunkBytes - 1) / ChunkBytes;

    private static int PagesIn(ulong size, ulong chunk) => (int)Math.Min(PagesPerChunk, (size / PageSize) - (chunk * PagesPerChunk));

    private static (ulong Map, byte[]? Frame, int Length) EncodeChunk(byte* ram, ulong size, ulong chunk, byte[] pages, Memory.PageResidency residency)
    {
        int pageCount = PagesIn(size, chunk);
        byte* start = ram + (chunk * ChunkBytes);
        ulong maybeUsed = residency.MaybeUsed(start, pageCount);
        ulong map = 0;
        int gathered = 0;
        for (int i = 0; i < pageCount; i++)
        {
            if ((maybeUsed & (1UL << i)) == 0)
            {
                // Never given a frame by the host: zeros, and not worth a fault to look at.
                continue;
            }

            var page = new ReadOnlySpan<byte>(start + ((long)i * PageSize), PageSize);
            if (page.ContainsAnyExcept((byte)0))
            {
                map |= 1UL << i;
                page.CopyTo(pages.AsSpan(gathered));
                gathered += PageSize;
            }
        }

        if (map == 0)
        {
            return (0, null, 0);
        }

        byte[] block = ArrayPool<byte>.Shared.Rent(LZ4Codec.MaximumOutputSize(gathered));
        int length = LZ4Codec.Encode(pages.AsSpan(0, gathered), block, LZ4Level.L00_FAST);
        return (map, block, length);
    }

    // Each run of stored pages is allocated in one call rather than a fault per page.
    private static void PrefaultRuns(byte* start, ulong map)
    {
        while (map != 0)
        {
            int first = BitOperations.TrailingZeroCount(map);
            int run = BitOperations.TrailingZeroCount(~(map >> first));
            Memory.HostMapping.Prefault(start + ((long)first * PageSize), (ulong)run * PageSize);
            map = run + first >= 64 ? 0 : map & ~((1UL << (first + run)) - 1);
        }
    }

    private static List<(ulong Chunk, ulong Map, int Offset, int Length)> ReadTable(ReadOnlySpan<byte> payload, ulong size)
    {
        if (payload.Length < HeaderSize)
        {
            throw new InvalidDataException("RAM section shorter than its header");
        }

        ulong saved = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        uint pageSize = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        uint perChunk = BinaryPrimitives.ReadUInt32LittleEndian(payload[12..]);
        if (saved != size)
        {
            throw new InvalidDataException($"RAM section holds {saved} bytes, the machine has {size}");
        }

        if (pageSize != PageSize || perChunk != PagesPerChunk)
        {
            throw new InvalidDataException($"RAM section with {pageSize}-byte pages in chunks of {perChunk} is not supported");
        }

        var table = new List<(ulong, ulong, int, int)>();
        int at = HeaderSize;
        ulong chunks = ChunkCount(size);
        for (ulong c = 0; c < chunks; c++)
        {
            if (payload.Length - at < ChunkHeaderSize)
            {
                throw new InvalidDataException($"RAM section ends inside chunk {c} of {chunks}");
            }

            ulong map = BinaryPrimitives.ReadUInt64LittleEndian(payload[at..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(payload[(at + 8)..]);
            at += ChunkHeaderSize;
            int pages = PagesIn(size, c);
            if (pages < 64 && map >> pages != 0)
            {
                throw new InvalidDataException($"RAM chunk {c} maps pages past the end of RAM");
            }

            if (length < 0 || length > payload.Length - at || (map == 0) != (length == 0))
            {
                throw new InvalidDataException($"RAM chunk {c} has a bad length {length}");
            }

            table.Add((c, map, at, length));
            at += length;
        }

        if (at != payload.Length)
        {
            throw new InvalidDataException($"RAM section has {payload.Length - at} bytes after its last chunk");
        }

        return table;
    }

    private static void DecodeChunk(ReadOnlySpan<byte> block, ulong map, ulong chunk, byte* ram, ulong size, Memory.PageResidency? clearing, byte[] pages)
    {
        int expected = BitOperations.PopCount(map) * PageSize;
        if (map != 0)
        {
            // The safe decoder: a malformed block reads and writes nothing outside the two spans.
            int length = LZ4Codec.Decode(block, pages.AsSpan(0, expected));
            if (length != expected)
            {
                throw new InvalidDataException($"RAM chunk {chunk} decompresses to {length} bytes instead of {expected}");
            }
        }

        byte* start = ram + (chunk * ChunkBytes);
        int pageCount = PagesIn(size, chunk);
        PrefaultRuns(start, map);
        ulong maybeUsed = clearing?.MaybeUsed(start, pageCount) ?? 0;
        int taken = 0;
        for (int i = 0; i < pageCount; i++)
        {
            var page = new Span<byte>(start + ((long)i * PageSize), PageSize);
            if ((map & (1UL << i)) != 0)
            {
                pages.AsSpan(taken, PageSize).CopyTo(page);
                taken += PageSize;
            }
            else if ((maybeUsed & (1UL << i)) != 0 && page.ContainsAnyExcept((byte)0))
            {
                // Only pages that hold something are written: an untouched page stays unallocated.
                page.Clear();
            }
        }
    }
}
