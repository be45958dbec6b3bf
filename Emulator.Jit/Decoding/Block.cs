using Iced.Intel;

namespace Emulator.Jit.Decoding;

/// <summary>
/// A run of decoded guest instructions ending at a control transfer or a page boundary, cached by
/// the physical address of its first byte. Each instruction carries its handler (see <see cref="DecodedOp"/>).
/// </summary>
internal sealed unsafe class Block
{
    public Block(ulong physical, ulong rip, ulong csBase, int bitness, List<Instruction> instructions, ulong firstPage, ulong lastPage, DecodedOpArena arena)
    {
        Physical = physical;
        Rip = rip;
        CsBase = csBase;
        Bitness = bitness;
        FirstPage = firstPage;
        LastPage = lastPage;
        // Never moved: translated code passes the address of an op to the interpreter helper.
        (_chunk, _start) = arena.Allocate(instructions.Count);
        _count = instructions.Count;
        Span<DecodedOp> ops = Ops;
        for (int i = 0; i < ops.Length; i++)
        {
            ops[i] = DecodedOp.Create(instructions[i], bitness);
            ByteLength += instructions[i].Length;
        }
    }

    // The ops' slice of an arena chunk (DecodedOpArena), which this reference keeps alive.
    private readonly DecodedOpArena.Chunk _chunk;
    private readonly int _start, _count;

    /// <summary>Bytes of guest code the block was decoded from.</summary>
    public int ByteLength { get; }

    /// <summary>The physical pages holding the block's bytes (one, or the two a crossing block spans).</summary>
    public ulong[] Pages => FirstPage == LastPage ? [FirstPage] : [FirstPage, LastPage];

    /// <summary>The block's bytes on <paramref name="page"/> as offsets [start, stop) in the page; (0, 0) when none.</summary>
    public (int Start, int Stop) RangeOn(ulong page)
    {
        int first = (int)(Physical & Memory.SoftTlb.PageMask);
        int onFirst = Math.Min(ByteLength, (1 << Memory.SoftTlb.PageShift) - first);
        if (page == FirstPage)
        {
            return (first, first + onFirst);
        }

        return page == LastPage ? (0, ByteLength - onFirst) : (0, 0);
    }

    /// <summary>
    /// Bytes of the block's successors on its own pages that its translation decoded to learn which
    /// flags they read first (Translation/SuccessorFlags), as (page, start, stop); a write to them
    /// drops the block as a write to its own bytes does. Changed under the cache lock.
    /// </summary>
    public List<(ulong Page, int Start, int Stop)>? Successors { get; set; }

    /// <summary>True when page offsets [from, to) of <paramref name="page"/> hold the block's bytes or watched successor bytes (caller holds the cache lock).</summary>
    public bool Overlaps(ulong page, int from, int to)
    {
        (int start, int stop) = RangeOn(page);
        if (start < to && from < stop)
        {
            return true;
        }

        if (Successors is { } watched)
        {
            foreach ((ulong p, int s, int e) in watched)
            {
                if (p == page && s < to && from < e)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public ulong Physical { get; }

    public ulong Rip { get; }

    public ulong CsBase { get; }

    public int Bitness { get; }

    /// <summary>The block's instructions, at addresses that never change.</summary>
    public Span<DecodedOp> Ops => new(_chunk.Base + _start, _count);

    /// <summary>Physical page numbers the block's bytes span (equal unless an instruction crosses a page).</summary>
    public ulong FirstPage { get; }

    public ulong LastPage { get; }

    /// <summary>
    /// Set (under the cache lock) when the block leaves the <see cref="BlockCache"/> because its
    /// bytes were overwritten or a newer block replaced it; a vCPU's recent-block table checks it.
    /// </summary>
    public volatile bool Dropped;

    /// <summary>Times the interpreter ran the block (until it is translated); racy across vCPUs, which is harmless.</summary>
    public int Executions;

    /// <summary>Set when the translator found nothing to gain or could not encode the block.</summary>
    public bool Untranslatable;

    // Translations of this block, one per vCPU at most (each vCPU has its own code cache).
    private Translation.Translation?[]? _translations;

    /// <summary>This vCPU's translation of the block, if it has a live one.</summary>
    public Translation.Translation? TranslationFor(int cpu)
    {
        Translation.Translation?[]? all = _translations;
        return all is not null && cpu < all.Length && all[cpu] is { Dead: false } t ? t : null;
    }

    /// <summary>Records a new translation (under the cache lock, so <see cref="Drop"/> sees it).</summary>
    public void Publish(int cpu, Translation.Translation t, Lock syncRoot)
    {
        lock (syncRoot)
        {
            Translation.Translation?[] all = _translations ?? [];
            if (cpu >= all.Length)
            {
                Array.Resize(ref all, cpu + 1);
            }

            all[cpu] = t;
            _translations = all;
            if (Dropped)
            {
                t.Invalidate();
            }
        }
    }

    /// <summary>Forgets a translation whose code cache was reset (caller holds the cache lock).</summary>
    public void Unpublish(int cpu, Translation.Translation t)
    {
        if (_translations is { } all && cpu < all.Length && all[cpu] == t)
        {
            all[cpu] = null;
        }
    }

    /// <summary>Takes the block out of use (caller holds the cache lock): its translations leave at their next entry.</summary>
    public void Drop()
    {
        Dropped = true;
        if (_translations is { } all)
        {
            foreach (Translation.Translation? t in all)
            {
                t?.Invalidate();
            }
        }
    }

    /// <summary>True when this block was decoded for the same code segment, offset and mode.</summary>
    public bool Matches(ulong rip, ulong csBase, int bitness) => Rip == rip && CsBase == csBase && Bitness == bitness;
}
