using Emulator.Jit.Memory;

namespace Emulator.Jit.Decoding;

/// <summary>
/// Decoded blocks of one machine, shared by its vCPUs, keyed by guest physical address. A page that
/// holds decoded code is a "code page": any write to it (by a vCPU through the slow path, by DMA or
/// a loader through the address space) drops every block on that page.
/// </summary>
internal sealed class BlockCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Block> _byPhysical = [];
    private readonly Dictionary<ulong, List<Block>> _byPage = [];
    private readonly List<SoftTlb> _tlbs = [];

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
            return _byPage.ContainsKey(physical >> SoftTlb.PageShift);
        }
    }

    public void Add(Block block)
    {
        lock (_lock)
        {
            if (_byPhysical.Remove(block.Physical, out Block? old))
            {
                old.Drop();
                Unlink(old);
            }

            _byPhysical[block.Physical] = block;
            for (ulong page = block.FirstPage; page <= block.LastPage; page++)
            {
                if (!_byPage.TryGetValue(page, out List<Block>? list))
                {
                    _byPage[page] = list = [];

                    // A TLB write entry made before the page held code would let stores bypass invalidation.
                    foreach (SoftTlb tlb in _tlbs)
                    {
                        tlb.FlushWrites();
                    }
                }

                list.Add(block);
            }
        }
    }

    /// <summary>Called for every write to guest RAM that did not go through a TLB write entry.</summary>
    public void OnWrite(ulong physical, int length)
    {
        ulong first = physical >> SoftTlb.PageShift;
        ulong last = (physical + (ulong)Math.Max(length, 1) - 1) >> SoftTlb.PageShift;
        lock (_lock)
        {
            for (ulong page = first; page <= last; page++)
            {
                if (_byPage.Remove(page, out List<Block>? blocks))
                {
                    foreach (Block b in blocks)
                    {
                        if (_byPhysical.TryGetValue(b.Physical, out Block? current) && current == b)
                        {
                            _byPhysical.Remove(b.Physical);
                            Invalidations++;
                        }

                        b.Drop();

                        Unlink(b, except: page);
                    }
                }
            }
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
            _byPage.Clear();
        }
    }

    private void Unlink(Block block, ulong except = ulong.MaxValue)
    {
        for (ulong page = block.FirstPage; page <= block.LastPage; page++)
        {
            if (page != except && _byPage.TryGetValue(page, out List<Block>? list))
            {
                list.Remove(block);
                if (list.Count == 0)
                {
                    _byPage.Remove(page);
                }
            }
        }
    }
}
