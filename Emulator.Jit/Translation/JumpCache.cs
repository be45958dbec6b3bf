using Emulator.Jit.Memory;
using Emulator.Jit.State;

namespace Emulator.Jit.Translation;

/// <summary>
/// A vCPU's two-way set-associative table from guest RIP to translated code, in native memory so translated
/// code looks indirect branches (RET, JMP/CALL through a register) and cross-page direct branches
/// up without leaving. An entry is only valid for the mode and mappings it was made under: each
/// table belongs to one <see cref="ModeKey"/> and is cleared when it is selected for another, and
/// both of a vCPU's tables (TranslationCache keeps one for CPL 3 and one for the other levels) are
/// cleared whenever mappings may change (TLB flushes, INVLPG, A20, state loads) and when the code
/// cache is reset; a dropped block's own entry check catches the rest.
/// </summary>
internal sealed unsafe class JumpCache
{
    /// <summary>What an entry's validity depends on besides the mappings: privilege level, operand size, CS and the control registers.</summary>
    public readonly record struct ModeKey(int Cpl, int Bitness, ulong CsBase, uint CsLimit, uint CsAttributes, ulong Cr0, ulong Cr4, ulong Efer);

    /// <summary>The mode this table's entries were made in (null: none yet).</summary>
    public ModeKey? Mode
    {
        get => _mode;
        set
        {
            _mode = value;
            _linearBase = value is { Bitness: not 64 } m ? m.CsBase : 0;
            _linearMask = value is { Bitness: not 64 } ? 0xffff_ffffUL : ulong.MaxValue;
        }
    }

    private ModeKey? _mode;
    private ulong _linearBase, _linearMask = ulong.MaxValue;

    // One bit per 1 GiB region (linear address bits 35:30) that entries' code started in since the
    // last clear, so INVLPG far from all of them (a kernel invalidating user addresses while the
    // table holds only its own text) costs a test instead of a walk of every entry.
    // (All set at first, so that the constructor's Clear writes every entry.) _regionTails: the
    // same for entries on the last 4 KiB page of a region, whose block may run onto the next one.
    private ulong _regions = ulong.MaxValue, _regionTails;

    private const int RegionShift = 30;

    private ulong RegionBit(ulong linear) => 1UL << (int)((linear >> RegionShift) & 63);

    /// <summary>
    /// Entries in all: <see cref="Sets"/> sets of two ways, 16 bytes each (RIP, code address).
    /// 16,384 (256 KiB) because a kernel's hot paths outgrow fewer: an HTTP request served by a
    /// guest's busybox httpd (accept, fork, the TCP stack, exit) ran through so many indirect branch
    /// targets that with 4,096 entries it left translated code 2,760 times per request, 1,670 of them
    /// jump-cache misses, nearly all found again in the shared block cache; with 16,384 it left 810
    /// times (scripts/net-bench.py's HTTP phase, EMU_JIT_STATS counts). The table is cleared with
    /// every user CR3 load and walked by INVLPG near its entries; both visit
    /// only the sets filled since the last clear while they are few (see _touched).
    /// </summary>
    public const int Entries = 16384;

    /// <summary>
    /// Sets of two entries (32 bytes: way 0, the newer, then way 1). Two ways because hot targets
    /// collide: in a busybox shell loop, five pairs of branch targets shared a slot of the
    /// direct-mapped table this was, and each pass through the loop left translated code ten times
    /// for the dispatcher to put them back.
    /// </summary>
    public const int Sets = Entries / 2;

    public const int Shift = 12;

    /// <summary>A RIP no code has: non-canonical, and above 4 GiB.</summary>
    private const ulong Empty = 0x8000_0000_0000_0000;

    private readonly NativeBuffer _table = new(Entries * 16);

    // The sets filled since the last clear, while there are at most MaxTracked of them: a clear or
    // an INVLPG walk then visits only those, so their cost follows what was used, not the table's
    // size (a process that ran a little between two CR3 loads filled a few dozen sets of 8,192).
    // Past that, _touchedCount is Overflowed and the whole table is visited. (Overflowed at first,
    // so that the constructor's Clear writes every entry.)
    private const int MaxTracked = Sets / 8, Overflowed = MaxTracked + 1;
    private readonly int[] _touched = new int[MaxTracked];
    private int _touchedCount = Overflowed;

    public JumpCache() => Clear();

    public nint Base => (nint)_table.Pointer;

    /// <summary>The set of <paramref name="rip"/>: its page number folded onto its offset.</summary>
    public static int Set(ulong rip) => (int)((rip >> Shift) ^ rip) & (Sets - 1);

    /// <summary>True when an entry was made for code on a page that is not global (a CR3 load may remap it).</summary>
    public bool HasNonGlobal { get; private set; }

    /// <summary>Maps <paramref name="rip"/> to <paramref name="code"/>; <paramref name="global"/>: the code's pages are global (Intel SDM Vol. 3A 4.10.2.4).</summary>
    public void Insert(ulong rip, nint code, bool global)
    {
        HasNonGlobal |= !global;
        ulong linear = (_linearBase + rip) & _linearMask;
        _regions |= RegionBit(linear);
        if ((~linear & ((1UL << RegionShift) - 1)) <= SoftTlb.PageMask)
        {
            _regionTails |= RegionBit(linear);
        }

        int set = Set(rip);
        ulong* e = (ulong*)_table.Pointer + (set * 4);
        if (e[0] == Empty && e[2] == Empty && _touchedCount != Overflowed)
        {
            // The set's first entry since the last clear (or since INVLPG emptied it: then it may be listed twice).
            _touched[_touchedCount] = set;
            _touchedCount = _touchedCount + 1 == MaxTracked ? Overflowed : _touchedCount + 1;
        }

        if (e[0] != rip)
        {
            // Way 0 moves to way 1 (over the older entry, or over this RIP's own stale one).
            e[2] = e[0];
            e[3] = e[1];
            e[0] = rip;
        }

        e[1] = (ulong)code;
    }

    /// <summary>
    /// INVLPG of <paramref name="linear"/>: drops the entries whose code may have been fetched
    /// through the invalidated translation. That is the page holding <paramref name="linear"/>, or
    /// any part of a large page holding it (Intel SDM Vol. 3A 4.10.4.1), so every entry whose code
    /// starts in the same 1 GiB region (the largest page) or on the page just below it (a block may
    /// run onto the next page). A kernel invalidating user or vmalloc addresses so keeps its own text.
    /// </summary>
    public void DropAround(ulong linear)
    {
        if (Mode is not { } mode)
        {
            return;
        }

        const ulong Region = 1UL << RegionShift;
        ulong low = (linear & ~(Region - 1)) - (SoftTlb.PageMask + 1), high = (linear | (Region - 1)) + 1;
        if ((_regions & RegionBit(linear)) == 0 && (_regionTails & RegionBit(low & _linearMask)) == 0)
        {
            return;
        }

        ulong* e = (ulong*)_table.Pointer;
        if (_touchedCount != Overflowed)
        {
            for (int i = 0; i < _touchedCount; i++)
            {
                int set = _touched[i];
                DropIfWithin(e + (set * 4), mode, low, high);
                DropIfWithin(e + (set * 4) + 2, mode, low, high);
            }

            return;
        }

        for (int i = 0; i < Entries; i++)
        {
            DropIfWithin(e + (i * 2), mode, low, high);
        }
    }

    private static void DropIfWithin(ulong* entry, ModeKey mode, ulong low, ulong high)
    {
        ulong rip = *entry;
        if (rip == Empty)
        {
            return;
        }

        // Modulo the linear address width, so the page below the first region is the last one.
        ulong distance = mode.Bitness == 64 ? rip - low : (mode.CsBase + rip - low) & 0xffff_ffff;
        if (distance < high - low)
        {
            *entry = Empty;
        }
    }

    public void Clear()
    {
        HasNonGlobal = false;
        if (_regions == 0)
        {
            // Nothing inserted since the last clear: every entry is still empty.
            return;
        }

        _regions = 0;
        _regionTails = 0;
        ulong* e = (ulong*)_table.Pointer;
        if (_touchedCount != Overflowed)
        {
            for (int i = 0; i < _touchedCount; i++)
            {
                e[_touched[i] * 4] = Empty;
                e[(_touched[i] * 4) + 2] = Empty;
            }
        }
        else
        {
            for (int i = 0; i < Entries; i++)
            {
                e[i * 2] = Empty;
            }
        }

        _touchedCount = 0;
    }
}
