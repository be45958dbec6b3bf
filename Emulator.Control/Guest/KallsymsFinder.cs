using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Memory;

namespace Emulator.Control.Guest;

/// <summary>
/// Finds a running Linux kernel's symbol table (kallsyms) in guest physical memory and decodes it,
/// with no file from the guest. The tables are what scripts/kallsyms.c generates and
/// kernel/kallsyms.c reads:
/// <list type="bullet">
/// <item><c>kallsyms_token_table</c>: 256 NUL-terminated strings; every character that occurs in a
/// symbol name is its own token at the index of its code, so "0", "1", ... "9" follow each other and
/// mark the table;</item>
/// <item><c>kallsyms_token_index</c>: 256 u16 offsets of those strings, right after the table;</item>
/// <item><c>kallsyms_markers</c>: a u32 offset into the names for every 256th symbol, right before the
/// token table;</item>
/// <item><c>kallsyms_names</c>: per symbol a length (one byte, or two as ULEB128 from Linux 6.1) and
/// that many token indexes; the first character of the expanded name is the symbol's type;</item>
/// <item><c>kallsyms_num_syms</c> right before the names;</item>
/// <item><c>kallsyms_offsets</c> (s32 per symbol) and <c>kallsyms_relative_base</c> (u64): before
/// num_syms up to Linux 6.3, after the token index from 6.4.</item>
/// </list>
/// The relative base is an absolute address in the image, so the kernel's own relocation at boot
/// (KASLR) has already adjusted it: the addresses come out as the running kernel uses them.
/// In 6.2 and 6.3, and in 6.1 stable kernels that took the change in (Debian 12's 6.1.0-57 did),
/// <c>kallsyms_seqs_of_names</c> (3 bytes per symbol) lies between the markers and the token table.
/// </summary>
public static class KallsymsFinder
{
    private const int Tokens = 256;

    // kallsyms_seqs_of_names of up to 2^21 symbols (a distribution kernel has about 150,000).
    private const long MaxSeqsBytes = 3L << 21;

    // Token strings '0'..'9' at indexes 0x30..0x39.
    private static readonly byte[] Digits = "0\u00001\u00002\u00003\u00004\u00005\u00006\u00007\u00008\u00009\u0000"u8.ToArray();

    /// <summary>The kernel's symbols found in <paramref name="memory"/>'s RAM, or null with the reason in <paramref name="why"/>.</summary>
    public static unsafe KernelSymbols? Find(AddressSpace memory, out string why)
    {
        why = "no kallsyms token table in guest RAM (is a Linux kernel running?)";
        foreach (MemoryRegion region in memory.Regions)
        {
            if (region.Kind != RegionKind.Ram || region.Backing is null)
            {
                continue;
            }

            // SAFETY: the region's host mapping lives as long as the machine, and this runs on the
            // machine's behalf while it runs; the view checks every offset against the region's size.
            if (Find(new ByteView(region.HostPointer(region.Start.Value), (long)region.Size), ref why) is { } symbols)
            {
                return symbols;
            }
        }

        return null;
    }

    /// <summary>
    /// The symbols in a kernel image (an uncompressed vmlinux, e.g. <see cref="KernelImagePayload"/>'s),
    /// at the addresses it was linked at: the image's relative base has not been relocated.
    /// </summary>
    public static unsafe KernelSymbols? Find(ReadOnlySpan<byte> image, out string why)
    {
        why = "no kallsyms token table in the kernel image (built without CONFIG_KALLSYMS?)";
        fixed (byte* p = image)
        {
            // SAFETY: the view lives only inside this fixed block and checks every offset against the span's length.
            return Find(new ByteView(p, image.Length), ref why);
        }
    }

    private static KernelSymbols? Find(ByteView bytes, ref string why)
    {
        long from = 0;
        while (bytes.IndexOf(Digits, from) is long at and >= 0)
        {
            from = at + 1;
            if (TryDecode(bytes, at, out KernelSymbols? symbols, out string reason))
            {
                return symbols;
            }

            why = reason;
        }

        return null;
    }

    private static bool TryDecode(ByteView ram, long digits, out KernelSymbols? symbols, out string why)
    {
        symbols = null;

        // Back from '0' (index 0x30) to the first token string.
        long table = digits;
        for (int i = 0; i < 0x30; i++)
        {
            long end = table - 1; // the NUL that ends the previous string
            if (end < 1 || ram[end] != 0 || ram[end - 1] == 0)
            {
                why = "token table: not 48 strings before '0'";
                return false;
            }

            long start = end - 1;
            while (start > 0 && ram[start - 1] != 0 && end - start < 64)
            {
                start--;
            }

            table = start;
        }

        // Forward over all 256 strings; the index must follow with the same offsets.
        var offsets = new ushort[Tokens];
        long p = table;
        for (int i = 0; i < Tokens; i++)
        {
            if (p - table > ushort.MaxValue)
            {
                why = "token table: too long";
                return false;
            }

            offsets[i] = (ushort)(p - table);
            long n = 0;
            while (p + n < ram.Length && ram[p + n] != 0 && n < 64)
            {
                n++;
            }

            if (n == 0 || n >= 64)
            {
                why = "token table: an empty or overlong token";
                return false;
            }

            p += n + 1;
        }

        long tableEnd = p;
        long index = -1;
        for (long candidate = tableEnd; candidate < tableEnd + 16 && index < 0; candidate++)
        {
            if (candidate % 2 == 0 && Enumerable.Range(0, Tokens).All(i => ram.U16(candidate + (2 * i)) == offsets[i]))
            {
                index = candidate;
            }
        }

        if (index < 0)
        {
            why = "no kallsyms_token_index after the token table";
            return false;
        }

        string[] tokens = [.. offsets.Select(o => ram.String(table + o))];

        // Markers: u32s rising from 0, right before the token table (6.1, 6.4+), or before
        // kallsyms_seqs_of_names (6.2, 6.3, and 6.1 stable kernels that took it in: 3 bytes per
        // symbol, the table 8-aligned), which ends, padded to 8 bytes, at the token table.
        long seqsBytes = 0;
        (List<uint> Markers, long Start)? found = Markers(ram, table);
        for (long seqs = table - 8; found is null && seqs > 0 && table - seqs <= MaxSeqsBytes; seqs -= 8)
        {
            if (Markers(ram, seqs) is { } m && SeqsCanHold(m.Markers.Count, table - seqs))
            {
                (found, seqsBytes) = (m, table - seqs);
            }
        }

        if (found is not { } located)
        {
            why = "no kallsyms_markers before the token table (or before kallsyms_seqs_of_names)";
            return false;
        }

        (List<uint> markers, long markersStart) = located;

        // num_syms right before the names: the count whose names end where the markers begin.
        int groups = markers.Count;
        // The last group holds at most 256 names of at most a few hundred bytes each.
        long last = (markersStart - markers[^1] - 6) & ~3L;
        for (long at = last; at >= last - (256 * 256) && at >= 0; at -= 4)
        {
            uint count = ram.U32(at);
            if (count <= (uint)(256 * (groups - 1)) || count > (uint)(256 * groups) || (seqsBytes > 0 && !SeqsHold(count, seqsBytes)))
            {
                continue;
            }

            foreach (long names in (long[])[at + 4, at + 8])
            {
                if (DecodeNames(ram, names, (int)count, markers, markersStart, tokens) is { } decoded)
                {
                    if (Addresses(ram, at, (int)count, index) is { } addresses)
                    {
                        symbols = new KernelSymbols(addresses.Base, [.. decoded.Select((n, i) => new KernelSymbol(addresses.Values[i], n[0], n[1..]))]);
                        why = string.Empty;
                        return true;
                    }

                    why = "kallsyms_offsets and kallsyms_relative_base not found next to the names";
                    return false;
                }
            }
        }

        why = "kallsyms_num_syms and kallsyms_names not found before the markers";
        return false;
    }

    // The u32 markers (one per 256 names, strictly rising from 0) that end at end, but for zero
    // padding of up to 4 bytes; with where they start. Null when the u32s there do not fall to 0.
    private static (List<uint> Markers, long Start)? Markers(ByteView ram, long end)
    {
        long markersEnd = end;
        while (markersEnd > end - 8 && ram.U32(markersEnd - 4) == 0)
        {
            markersEnd -= 4;
        }

        var markers = new List<uint>();
        long m = markersEnd - 4;
        while (m >= 0)
        {
            uint value = ram.U32(m);
            if (markers.Count > 0 && value >= markers[^1])
            {
                return null;
            }

            markers.Add(value);
            if (value == 0)
            {
                break;
            }

            m -= 4;
        }

        if (markers.Count < 2 || markers[^1] != 0)
        {
            return null;
        }

        markers.Reverse();
        return (markers, m);
    }

    // Whether kallsyms_seqs_of_names (3 bytes a symbol, padded to 8) of seqsBytes can hold the
    // symbols of groups markers (256 a marker, the last group not full).
    private static bool SeqsCanHold(int groups, long seqsBytes) =>
        seqsBytes - 8 < 3L * 256 * groups && seqsBytes >= 3L * ((256 * (groups - 1)) + 1);

    // Whether kallsyms_seqs_of_names of seqsBytes holds exactly count symbols' 3 bytes and its padding.
    private static bool SeqsHold(uint count, long seqsBytes) => seqsBytes >= 3L * count && seqsBytes < (3L * count) + 8;

    // Every name, or null when this start does not give the markers' offsets and end at them.
    private static string[]? DecodeNames(ByteView ram, long start, int count, List<uint> markers, long markersStart, string[] tokens)
    {
        var names = new string[count];
        long p = start;
        var b = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            if (i % 256 == 0 && p - start != markers[i / 256])
            {
                return null;
            }

            int length = ram[p++];
            if ((length & 0x80) != 0)
            {
                length = (length & 0x7F) | (ram[p++] << 7);
            }

            if (length == 0 || p + length > markersStart)
            {
                return null;
            }

            b.Clear();
            for (int k = 0; k < length; k++)
            {
                b.Append(tokens[ram[p + k]]);
            }

            p += length;
            names[i] = b.ToString();
        }

        // The names end where the markers begin, but for alignment padding.
        return markersStart - p is >= 0 and < 8 ? names : null;
    }

    // kallsyms_offsets + kallsyms_relative_base: before num_syms (up to 6.3) or after the token index (6.4+).
    private static (ulong Base, ulong[] Values)? Addresses(ByteView ram, long numSyms, int count, long tokenIndex)
    {
        long before = (numSyms - 8) & ~7L;
        long offsetsBefore = before - (((4L * count) + 7) & ~7L);
        long after = (tokenIndex + (2 * Tokens) + 7) & ~7L;
        long relativeAfter = (after + (4L * count) + 7) & ~7L;
        foreach ((long offsets, long relativeBase) in (ReadOnlySpan<(long, long)>)[(offsetsBefore, before), (after, relativeAfter)])
        {
            if (offsets < 0 || relativeBase + 8 > ram.Length)
            {
                continue;
            }

            ulong baseAddress = ram.U64(relativeBase);
            if (baseAddress < 0xFFFF_FFFF_8000_0000UL)
            {
                continue; // x86-64 kernel text lives in the top 2 GiB
            }

            int[] raw = [.. Enumerable.Range(0, count).Select(i => (int)ram.U32(offsets + (4L * i)))];
            // With CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP) most offsets are negative: base - 1 - offset;
            // non-negative ones are absolute (per-CPU symbols). Otherwise every offset is base + (u32)offset.
            bool absolutePercpu = raw.Count(o => o < 0) > count / 2;
            ulong[] values = [.. raw.Select(o => absolutePercpu ? (o >= 0 ? (ulong)o : baseAddress - 1 - (ulong)(long)o) : baseAddress + (uint)o)];
            if (Rising(values))
            {
                return (baseAddress, values);
            }
        }

        return null;
    }

    // Symbols are sorted by address (absolute per-CPU ones first): most steps must not go down.
    private static bool Rising(ulong[] values)
    {
        int down = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] < values[i - 1])
            {
                down++;
            }
        }

        return down <= 2;
    }

    // Bytes by offset from a start (a RAM region's host mapping, or a kernel image), read in place.
    private sealed unsafe class ByteView(byte* start, long length)
    {
        private readonly byte* _base = start;

        public long Length { get; } = length;

        // SAFETY: every indexer and reader checks the offset against the length the creator vouched for.
        public byte this[long offset] => offset >= 0 && offset < Length ? _base[offset] : (byte)0;

        public ushort U16(long offset) => offset >= 0 && offset + 2 <= Length ? BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(_base + offset, 2)) : (ushort)0;

        public uint U32(long offset) => offset >= 0 && offset + 4 <= Length ? BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_base + offset, 4)) : 0;

        public ulong U64(long offset) => offset >= 0 && offset + 8 <= Length ? BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_base + offset, 8)) : 0;

        public string String(long offset)
        {
            var b = new StringBuilder();
            for (long p = offset; p < Length && _base[p] != 0; p++)
            {
                b.Append((char)_base[p]);
            }

            return b.ToString();
        }

        // The first occurrence of pattern at or after from, in chunks a span can hold.
        public long IndexOf(byte[] pattern, long from)
        {
            const long Chunk = 1L << 30;
            for (long start = from; start < Length; start += Chunk - pattern.Length)
            {
                int n = (int)Math.Min(Chunk, Length - start);
                int i = new ReadOnlySpan<byte>(_base + start, n).IndexOf(pattern);
                if (i >= 0)
                {
                    return start + i;
                }

                if (start + n >= Length)
                {
                    break;
                }
            }

            return -1;
        }
    }
}
