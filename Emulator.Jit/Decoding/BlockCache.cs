using Emulator.Jit.Memory;
using Emulator.Jit.State;

namespace Emulator.Jit.Decoding;

/// <summary>
/// Decoded blocks of one machine, shared by its vCPUs, keyed by guest physical address. A page that
/// holds decoded code is a "code page"; it keeps a map of which 64-byte chunks hold code. A write
/// to a code page (by a vCPU, by DMA or a loader through the address space) drops exactly the
/// blocks whose bytes it overwrites; a write to the rest of the page, data that shares the page
/// with code, drops nothing. Translated code reads the chunk map (through <see cref="CodeMap"/>)
/// to store to such a page without leaving host code.
/// </summary>
internal sealed unsafe class BlockCache
{
    /// <summary>Bytes of code per bit of a page's code map.</summary>
    public const int ChunkShift = 6;

    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Block> _byPhysical = [];
    private readonly Dictionary<ulong, CodePage> _pages = [];
    private readonly List<SoftTlb> _tlbs = [];

    // Scratch lists of OnWrite and Unlink (used under the lock).
    private readonly List<Block> _hits = [];
    private readonly List<Block> _overlapping = [];
    private readonly List<CodePage> _touched = [];

    /// <summary>The lock that guards the cache, and the translations hung on its blocks.</summary>
    public Lock SyncRoot => _lock;

    /// <summary>Number of blocks dropped by writes to code pages (self-modifying code, DMA).</summary>
    public long Invalidations { get; private set; }

    public void AttachTlb(SoftTlb tlb)
    {
        lock (_lock)
        {
            _tlbs.Add(tlb);
        }
    }

    public Block? Lookup(ulong physical)
    {
        lock (_lock)
        {
            return _byPhysical.GetValueOrDefault(physical);
        }
    }

    public bool IsCodePage(ulong physical)
    {
        lock (_lock)
        {
            return _pages.TryGetValue(physical >> SoftTlb.PageShift, out CodePage? p) && p.Blocks.Count > 0;
        }
    }

    /// <summary>
    /// The chunk map of a code page: a 64-bit word, bit n set while bytes [64n, 64n+63] of the page
    /// hold decoded code. It lives as long as the cache (TLB entries point at it); 0 when the page
    /// holds no decoded code now. A page whose code has all been dropped (a freed page of an exited
    /// process, reused for data) so gets plain TLB write entries again, which the interpreter's
    /// fast paths and the bulk string operations take; <see cref="Add"/> drops every TLB write
    /// entry when code arrives on a page without any, so none of those entries outlives that.
    /// </summary>
    public nint CodeMap(ulong physical)
    {
        lock (_lock)
        {
            return _pages.TryGetValue(physical >> SoftTlb.PageShift, out CodePage? p) && p.Blocks.Count > 0 ? (nint)p.Map.Pointer : 0;
        }
    }

    /// <summary>True when a write of <paramref name="length"/> bytes at <paramref name="physical"/> would overwrite decoded code.</summary>
    public bool HitsCode(ulong physical, int length)
    {
        lock (_lock)
        {
            _overlapping.Clear();
            Overlapping(physical, length, _overlapping, firstOnly: true);
            return _overlapping.Count > 0;
        }
    }

    public void Add(Block block)
    {
        lock (_lock)
        {
            if (_byPhysical.Remove(block.Physical, out Block? old))
            {
                old.Drop();
                _hits.Clear();
                _hits.Add(old);
                Unlink(_hits);
            }

            _byPhysical[block.Physical] = block;
            foreach (ulong page in block.Pages)
            {
                if (!_pages.TryGetValue(page, out CodePage? p))
                {
                    _pages[page] = p = new CodePage(page);
                }

                if (p.Blocks.Count == 0)
                {
                    // A TLB write entry made before the page held code would let stores bypass invalidation.
                    foreach (SoftTlb tlb in _tlbs)
                    {
                        tlb.FlushWrites();
                    }
                }

                p.Blocks.Add(block);
                p.Mark(block, page);
            }
        }
    }

    /// <summary>Called for every write to guest RAM that did not go through a TLB write entry.</summary>
    public void OnWrite(ulong physical, int length)
    {
        lock (_lock)
        {
            _hits.Clear();
            _overlapping.Clear();
            Overlapping(physical, length, _overlapping, firstOnly: false);
            foreach (Block b in _overlapping)
            {
                // A block on two pages comes once per page; Dropped marks it seen.
                if (b.Dropped)
                {
                    continue;
                }

                if (_byPhysical.TryGetValue(b.Physical, out Block? current) && current == b)
                {
                    _byPhysical.Remove(b.Physical);
                    Invalidations++;
                }

                b.Drop();
                _hits.Add(b);
            }

            if (_hits.Count == 0)
            {
                return;
            }

            Unlink(_hits);
        }
    }

    /// <summary>
    /// Watches <paramref name="length"/> bytes at <paramref name="physical"/>, on one of
    /// <paramref name="block"/>'s pages, as the block's own: a write there drops it (its translation
    /// read which flags the code there reads first). False when the block is dropped already.
    /// </summary>
    public bool WatchSuccessor(Block block, ulong physical, int length)
    {
        ulong page = physical >> SoftTlb.PageShift;
        int start = (int)(physical & SoftTlb.PageMask);
        int stop = Math.Min(start + length, 1 << SoftTlb.PageShift);
        lock (_lock)
        {
            if (block.Dropped || (page != block.FirstPage && page != block.LastPage) || !_pages.TryGetValue(page, out CodePage? p))
            {
                return false;
            }

            // Once per range: each vCPU, and each translation after a cache reset, reads it again.
            List<(ulong, int, int)> watched = block.Successors ??= [];
            if (!watched.Contains((page, start, stop)))
            {
                watched.Add((page, start, stop));
                *(ulong*)p.Map.Pointer |= CodePage.Chunks(start, stop);
            }

            return true;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            foreach (Block b in _byPhysical.Values)
            {
                b.Drop();
            }

            _byPhysical.Clear();
            foreach (CodePage p in _pages.Values)
            {
                p.Blocks.Clear();
                p.Remap();
            }
        }
    }

    // The blocks whose bytes [physical, physical + length) overlaps, added to `into` (the first
    // only, if asked); caller holds the lock. Called for every store near code, so it allocates nothing.
    private void Overlapping(ulong physical, int length, List<Block> into, bool firstOnly)
    {
        ulong end = physical + (ulong)Math.Max(length, 1);
        for (ulong page = physical >> SoftTlb.PageShift; page <= (end - 1) >> SoftTlb.PageShift; page++)
        {
            if (!_pages.TryGetValue(page, out CodePage? p) || p.Blocks.Count == 0)
            {
                continue;
            }

            ulong pageStart = page << SoftTlb.PageShift;
            int from = (int)(Math.Max(physical, pageStart) - pageStart);
            int to = (int)(Math.Min(end, pageStart + (1UL << SoftTlb.PageShift)) - pageStart);
            ulong chunks = CodePage.Chunks(from, to);
            if ((p.Bits & chunks) == 0)
            {
                continue;
            }

            foreach (Block b in p.Blocks)
            {
                if (b.Overlaps(page, from, to))
                {
                    into.Add(b);
                    if (firstOnly)
                    {
                        return;
                    }
                }
            }
        }
    }

    // Takes dropped blocks off their pages' lists and recomputes each page's map once: a write over
    // a whole code page (the page reused for data) drops hundreds of blocks at a time.
    private void Unlink(List<Block> dropped)
    {
        _touched.Clear();
        foreach (Block b in dropped)
        {
            Touch(b.FirstPage);
            Touch(b.LastPage);
        }

        foreach (CodePage p in _touched)
        {
            p.Blocks.RemoveAll(static b => b.Dropped);
            p.Remap();
        }
    }

    private void Touch(ulong page)
    {
        if (_pages.TryGetValue(page, out CodePage? p) && !_touched.Contains(p))
        {
            _touched.Add(p);
        }
    }

    private sealed unsafe class CodePage
    {
        private readonly ulong _pageNumber;

        public CodePage(ulong pageNumber) => _pageNumber = pageNumber;

        public List<Block> Blocks { get; } = [];

        public NativeBuffer Map { get; } = new(8);

        public ulong Bits => *(ulong*)Map.Pointer;

        // Chunk bits for page offsets [from, to).
        public static ulong Chunks(int from, int to)
        {
            int first = from >> ChunkShift, last = (to - 1) >> ChunkShift;
            ulong upTo = last >= 63 ? ulong.MaxValue : (1UL << (last + 1)) - 1;
            return upTo & ~((1UL << first) - 1);
        }

        public void Mark(Block block, ulong page) => *(ulong*)Map.Pointer |= Watched(block, page);

        public void Remap()
        {
            ulong bits = 0;
            foreach (Block b in Blocks)
            {
                bits |= Watched(b, _pageNumber);
            }

            *(ulong*)Map.Pointer = bits;
        }

        // Chunk bits of the block's bytes and watched successor bytes on the page.
        private static ulong Watched(Block block, ulong page)
        {
            (int start, int stop) = block.RangeOn(page);
            ulong bits = stop > start ? Chunks(start, stop) : 0;
            if (block.Successors is { } watched)
            {
                foreach ((ulong p, int s, int e) in watched)
                {
                    bits |= p == page ? Chunks(s, e) : 0;
                }
            }

            return bits;
        }
    }
}
