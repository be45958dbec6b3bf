using Emulator.Jit.State;

namespace Emulator.Jit.Memory;

/// <summary>
/// Per-vCPU software TLB for one privilege class: a direct-mapped table from linear page to the
/// host address of the page's first byte, with separate read, write and fetch entries. A hit is an
/// index, a compare and an add, so no permission test is made on a hit: an entry only exists when
/// the access it serves was allowed. Each vCPU has two of these, one for supervisor-mode accesses
/// (CPL 0-2 and the implicit supervisor accesses to descriptor tables and the TSS) and one for
/// user-mode accesses (CPL 3); the CPU switches between them when CPL changes (Intel SDM Vol. 3A
/// 4.6, access rights depend on the mode of the access). Write entries exist only when the page
/// table allows the write for this privilege (R/W, CR0.WP) and the dirty bit is already set; they
/// are never made for ROM, MMIO or pages holding decoded code, so those writes take the slow path,
/// where ROM drops them and code pages are invalidated. Fetch entries give the physical page
/// (decoded blocks are keyed by physical address) and exist only for executable pages (NX).
/// </summary>
internal sealed unsafe class SoftTlb
{
    public const int Entries = 1024;
    public const int PageShift = 12;
    public const ulong PageMask = 0xfff;

    // Entry information: bit 0 global (survives CR3 loads), bits 8+ the pages-per-mapping mask
    // of a large page (0x1ff for 2 MiB, 0x3ff for 4 MiB, 0x3ffff for 1 GiB) so INVLPG can find
    // every 4 KiB entry made from it.
    public const uint GlobalEntry = 1;

    // The tables live in native memory, one after another, so translated code probes them inline
    // from one base address (ReadTagOffset and the others).
    public const int ReadTagOffset = 0;
    public const int ReadAddendOffset = Entries * 8;
    public const int WriteTagOffset = Entries * 16;
    public const int WriteAddendOffset = Entries * 24;
    public const int FetchTagOffset = Entries * 32;
    public const int FetchPhysicalOffset = Entries * 40;
    public const int WriteCodeMapOffset = Entries * 48;

    /// <summary>
    /// Set in a write tag whose page holds decoded code: the plain compare misses, and the store
    /// may go on only where the page's code map (<see cref="WriteCodeMap"/>) has no code.
    /// </summary>
    public const ulong CodePageTag = 2;

    // Tags hold the linear address of the page (low 12 bits clear); EmptyTag, with bit 0 set, matches
    // no page. Addends are the host address of the page minus its linear address, so a hit's host
    // address is linear + addend (one add, as translated code does it).
    public readonly ulong* ReadTag;
    public readonly nint* ReadAddend;
    public readonly ulong* WriteTag;
    public readonly nint* WriteAddend;
    public readonly ulong* FetchTag;
    public readonly ulong* FetchPhysical;

    /// <summary>For write entries of code pages, the page's code map (Decoding/BlockCache.CodeMap).</summary>
    public readonly nint* WriteCodeMap;

    private readonly NativeBuffer _tables = new(Entries * 56);

    private readonly uint[] _readInfo = new uint[Entries];
    private readonly uint[] _writeInfo = new uint[Entries];
    private readonly uint[] _fetchInfo = new uint[Entries];
    private bool _hasLargePages;
    private bool _hasGlobal;

    // The large pages (first 4 KiB page number, mask of page-number bits within) that entries were
    // made from since the last flush, so INVLPG of an address outside them drops one slot instead of
    // scanning the tables; more than fit here means every INVLPG scans.
    private readonly (ulong Base, ulong Mask)[] _largeRegions = new (ulong, ulong)[8];
    private int _largeRegionCount;

    // One bit per slot that has held an entry made from a non-global page since the last full
    // flush, so a CR3 load visits those slots instead of every entry of the three tables (two
    // processes piping data to each other load CR3 twice per pipe buffer; the kernel's own entries
    // are global and stay).
    private readonly ulong[] _nonGlobalSlots = new ulong[Entries / 64];

    public SoftTlb(bool user)
    {
        User = user;
        byte* b = _tables.Pointer;
        ReadTag = (ulong*)(b + ReadTagOffset);
        ReadAddend = (nint*)(b + ReadAddendOffset);
        WriteTag = (ulong*)(b + WriteTagOffset);
        WriteAddend = (nint*)(b + WriteAddendOffset);
        FetchTag = (ulong*)(b + FetchTagOffset);
        FetchPhysical = (ulong*)(b + FetchPhysicalOffset);
        WriteCodeMap = (nint*)(b + WriteCodeMapOffset);
        Flush();
    }

    /// <summary>Address of the tables (see ReadTagOffset).</summary>
    public nint Base => (nint)_tables.Pointer;

    /// <summary>True for the table that serves CPL 3 accesses.</summary>
    public bool User { get; }

    public static int Slot(ulong linear) => (int)(linear >> PageShift) & (Entries - 1);

    public static ulong Tag(ulong linear) => linear & ~PageMask;

    /// <summary>The tag of an unused entry: no page address has bit 0 set.</summary>
    public const ulong EmptyTag = 1;

    public static uint Info(bool global, ulong largePageMask) => (global ? GlobalEntry : 0) | (uint)(largePageMask << 8);

    public void SetRead(ulong linear, nint host, uint info)
    {
        int i = Slot(linear);
        ReadAddend[i] = host - (nint)Tag(linear);
        ReadTag[i] = Tag(linear);
        _readInfo[i] = info;
        Note(info, linear);
    }

    /// <summary>
    /// A write entry; <paramref name="codeMap"/> is the page's code map when it holds decoded code
    /// (the entry is then a <see cref="CodePageTag"/> entry), else 0.
    /// </summary>
    public void SetWrite(ulong linear, nint host, uint info, nint codeMap = 0)
    {
        int i = Slot(linear);
        WriteAddend[i] = host - (nint)Tag(linear);
        WriteCodeMap[i] = codeMap;
        WriteTag[i] = Tag(linear) | (codeMap != 0 ? CodePageTag : 0);
        _writeInfo[i] = info;
        Note(info, linear);
    }

    /// <summary>True when a fetch entry maps <paramref name="linear"/>'s page and the page is global.</summary>
    public bool FetchIsGlobal(ulong linear)
    {
        int i = Slot(linear);
        return FetchTag[i] == Tag(linear) && (_fetchInfo[i] & GlobalEntry) != 0;
    }

    public void SetFetch(ulong linear, ulong physicalPage, uint info)
    {
        int i = Slot(linear);
        FetchPhysical[i] = physicalPage;
        FetchTag[i] = Tag(linear);
        _fetchInfo[i] = info;
        Note(info, linear);
    }

    /// <summary>Drops every entry, global ones included (CR0/CR4 paging-mode changes, state loads).</summary>
    public void Flush()
    {
        new Span<ulong>(ReadTag, Entries).Fill(EmptyTag);
        new Span<ulong>(WriteTag, Entries).Fill(EmptyTag);
        new Span<ulong>(FetchTag, Entries).Fill(EmptyTag);
        Array.Clear(_nonGlobalSlots);
        _hasLargePages = false;
        _hasGlobal = false;
        _largeRegionCount = 0;
    }

    /// <summary>A CR3 load: drops every entry not made from a global page (Intel SDM Vol. 3A 4.10.4.1).</summary>
    public void FlushNonGlobal()
    {
        if (!_hasGlobal)
        {
            Flush();
            return;
        }

        for (int word = 0; word < _nonGlobalSlots.Length; word++)
        {
            ulong bits = _nonGlobalSlots[word];
            _nonGlobalSlots[word] = 0;
            while (bits != 0)
            {
                int i = (word * 64) + System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                DropIfNotGlobal(ReadTag, _readInfo, i);
                DropIfNotGlobal(WriteTag, _writeInfo, i);
                DropIfNotGlobal(FetchTag, _fetchInfo, i);
            }
        }
    }

    private static void DropIfNotGlobal(ulong* tags, uint[] info, int i)
    {
        if ((info[i] & GlobalEntry) == 0)
        {
            tags[i] = EmptyTag;
        }
    }

    /// <summary>
    /// INVLPG: drops the entries for the page holding <paramref name="linear"/>, global or not,
    /// and, when that page was part of a large page, every entry made from the large page
    /// (Intel SDM Vol. 2A INVLPG, Vol. 3A 4.10.4.1).
    /// </summary>
    public void FlushPage(ulong linear)
    {
        int i = Slot(linear);
        ulong tag = Tag(linear);
        if (!_hasLargePages || !InLargeRegion(linear >> PageShift))
        {
            if (ReadTag[i] == tag)
            {
                ReadTag[i] = EmptyTag;
            }

            if ((WriteTag[i] & ~CodePageTag) == tag)
            {
                WriteTag[i] = EmptyTag;
            }

            if (FetchTag[i] == tag)
            {
                FetchTag[i] = EmptyTag;
            }

            return;
        }

        ulong page = linear >> PageShift;
        Drop(ReadTag, _readInfo, static (info, d) => (d & ~(ulong)(info >> 8)) == 0, page);
        Drop(WriteTag, _writeInfo, static (info, d) => (d & ~(ulong)(info >> 8)) == 0, page);
        Drop(FetchTag, _fetchInfo, static (info, d) => (d & ~(ulong)(info >> 8)) == 0, page);
    }

    public void FlushWrites() => new Span<ulong>(WriteTag, Entries).Fill(EmptyTag);

    private void Note(uint info, ulong linear)
    {
        _hasGlobal |= (info & GlobalEntry) != 0;
        if ((info & GlobalEntry) == 0)
        {
            int slot = Slot(linear);
            _nonGlobalSlots[slot >> 6] |= 1UL << (slot & 63);
        }

        ulong mask = info >> 8;
        if (mask == 0 || _largeRegionCount > _largeRegions.Length)
        {
            return;
        }

        _hasLargePages = true;
        ulong page = (linear >> PageShift) & ~mask;
        for (int i = 0; i < _largeRegionCount; i++)
        {
            if (_largeRegions[i] == (page, mask))
            {
                return;
            }
        }

        if (_largeRegionCount < _largeRegions.Length)
        {
            _largeRegions[_largeRegionCount] = (page, mask);
        }

        _largeRegionCount++;
    }

    // True when an entry for linear page <paramref name="page"/> may have come from a large page.
    private bool InLargeRegion(ulong page)
    {
        if (_largeRegionCount > _largeRegions.Length)
        {
            return true;
        }

        for (int i = 0; i < _largeRegionCount; i++)
        {
            if ((page & ~_largeRegions[i].Mask) == _largeRegions[i].Base)
            {
                return true;
            }
        }

        return false;
    }

    // Drops the valid entries for which drop(info, entryPage ^ page) holds.
    private static void Drop(ulong* tags, uint[] info, Func<uint, ulong, bool> drop, ulong page)
    {
        for (int i = 0; i < Entries; i++)
        {
            if (tags[i] != EmptyTag && drop(info[i], (tags[i] >> PageShift) ^ page))
            {
                tags[i] = EmptyTag;
            }
        }
    }
}
