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
/// Read and write entries have a second way per slot, the victim: an entry displaced by a new one
/// moves there, and translated code looks there when the first way misses. Two pages whose
/// numbers differ by a multiple of <see cref="Entries"/> (16 MiB apart) otherwise evict each other on
/// every access: Linux's boot decompressor, sweeping its output past its own state, made ~950,000
/// misses that way, each one a whole instruction run by the interpreter. QEMU keeps a small fully
/// associative victim TLB for the same reason (its softmmu "victim_tlb").
/// </summary>
internal sealed unsafe partial class SoftTlb
{
    public const int Entries = 4096;
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
    public const int VictimReadTagOffset = Entries * 56;
    public const int VictimReadAddendOffset = Entries * 64;
    public const int VictimWriteTagOffset = Entries * 72;
    public const int VictimWriteAddendOffset = Entries * 80;
    public const int SiteOffset = Entries * 88;
    private const int TableBytes = SiteOffset + (SiteClasses * SitesPerClass * SiteBytes);

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

    // The second way of the read and write entries (never a CodePageTag entry: one displaced is dropped).
    public readonly ulong* VictimReadTag;
    public readonly nint* VictimReadAddend;
    public readonly ulong* VictimWriteTag;
    public readonly nint* VictimWriteAddend;

    private readonly NativeBuffer _tables = new(TableBytes);

    private readonly uint[] _readInfo = new uint[Entries];
    private readonly uint[] _writeInfo = new uint[Entries];
    private readonly uint[] _fetchInfo = new uint[Entries];
    private readonly uint[] _victimReadInfo = new uint[Entries];
    private readonly uint[] _victimWriteInfo = new uint[Entries];
    private bool _hasGlobal;

    // The large pages that entries were made from since the last full flush, so INVLPG of an
    // address outside them drops one slot, and one inside them visits only the slots its large
    // page maps to. A key is the large page's first 4 KiB page number, whose low bits are zero,
    // with its size class in bits 0-1 (LargeClass). Linux maps all of RAM with 2 MiB and 1 GiB
    // pages, so a booted kernel has hundreds of these; past LargeRegionLimit, INVLPG inside any
    // size class present scans that class's slots.
    private readonly HashSet<ulong> _largeRegions = [];
    private int _largeClasses;
    private bool _largeOverflow;
    private const int LargeRegionLimit = 1 << 16;

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
        VictimReadTag = (ulong*)(b + VictimReadTagOffset);
        VictimReadAddend = (nint*)(b + VictimReadAddendOffset);
        VictimWriteTag = (ulong*)(b + VictimWriteTagOffset);
        VictimWriteAddend = (nint*)(b + VictimWriteAddendOffset);
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
        ulong old = ReadTag[i];
        if (old != EmptyTag && old != Tag(linear))
        {
            VictimReadTag[i] = EmptyTag;
            VictimReadAddend[i] = ReadAddend[i];
            _victimReadInfo[i] = _readInfo[i];
            VictimReadTag[i] = old;
        }

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
        ulong old = WriteTag[i];
        if (old != EmptyTag && (old & ~CodePageTag) != Tag(linear))
        {
            // A code page's entry is not kept: its stores must see the page's code map.
            VictimWriteTag[i] = EmptyTag;
            VictimWriteAddend[i] = WriteAddend[i];
            _victimWriteInfo[i] = _writeInfo[i];
            VictimWriteTag[i] = (old & CodePageTag) != 0 ? EmptyTag : old;
        }

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
        new Span<ulong>(VictimReadTag, Entries).Fill(EmptyTag);
        new Span<ulong>(VictimWriteTag, Entries).Fill(EmptyTag);
        ClearSites();
        Array.Clear(_nonGlobalSlots);
        _hasGlobal = false;
        _largeRegions.Clear();
        _largeClasses = 0;
        _largeOverflow = false;
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
                DropIfNotGlobal(VictimReadTag, _victimReadInfo, i);
                DropIfNotGlobal(VictimWriteTag, _victimWriteInfo, i);
            }
        }

        KeepSitesStillMapped();
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
        ulong page = linear >> PageShift;
        DropSlot(Slot(linear), page);
        for (int cls = 1; _largeClasses >> cls != 0; cls++)
        {
            if ((_largeClasses & (1 << cls)) == 0)
            {
                continue;
            }

            ulong mask = LargeMask(cls);
            ulong key = (page & ~mask) | (uint)cls;
            if (_largeRegions.Remove(key) || _largeOverflow)
            {
                // The large page's 4 KiB pages fill consecutive slots (all of them past Entries).
                ulong first = page & ~mask;
                int count = (int)Math.Min(mask + 1, Entries);
                for (int k = 0; k < count; k++)
                {
                    DropSlot((int)((first + (ulong)k) & (Entries - 1)), page);
                }
            }
        }

        KeepSitesStillMapped();
    }

    // Drops what slot i holds for `page`: its own entry, or one made from a large page holding it.
    private void DropSlot(int i, ulong page)
    {
        DropIfCovers(ReadTag, _readInfo, i, page);
        DropIfCovers(WriteTag, _writeInfo, i, page);
        DropIfCovers(FetchTag, _fetchInfo, i, page);
        DropIfCovers(VictimReadTag, _victimReadInfo, i, page);
        DropIfCovers(VictimWriteTag, _victimWriteInfo, i, page);
    }

    private static void DropIfCovers(ulong* tags, uint[] info, int i, ulong page)
    {
        ulong tag = tags[i] & ~CodePageTag;
        if (tag != EmptyTag && (((tag >> PageShift) ^ page) & ~(ulong)(info[i] >> 8)) == 0)
        {
            tags[i] = EmptyTag;
        }
    }

    // Size classes of large pages: 2 MiB (PAE and long mode), 4 MiB (32-bit paging with PSE), 1 GiB.
    private static int LargeClass(ulong mask) => mask switch
    {
        0x1ff => 1,
        0x3ff => 2,
        _ => 3,
    };

    private static ulong LargeMask(int cls) => cls switch
    {
        1 => 0x1ff,
        2 => 0x3ff,
        _ => 0x3ffff,
    };

    public void FlushWrites()
    {
        new Span<ulong>(WriteTag, Entries).Fill(EmptyTag);
        new Span<ulong>(VictimWriteTag, Entries).Fill(EmptyTag);
    }

    private void Note(uint info, ulong linear)
    {
        _hasGlobal |= (info & GlobalEntry) != 0;
        if ((info & GlobalEntry) == 0)
        {
            int slot = Slot(linear);
            _nonGlobalSlots[slot >> 6] |= 1UL << (slot & 63);
        }

        ulong mask = info >> 8;
        if (mask == 0)
        {
            return;
        }

        int cls = LargeClass(mask);
        _largeClasses |= 1 << cls;
        if (!_largeOverflow)
        {
            _largeRegions.Add(((linear >> PageShift) & ~mask) | (uint)cls);
            _largeOverflow = _largeRegions.Count > LargeRegionLimit;
        }
    }
}
