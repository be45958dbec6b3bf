namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// Where new host clusters go: always past the end of the file as it was opened, one after another.
/// Every cluster that any table references was checked at open to lie inside the file, so a cluster
/// at or beyond that end is referenced by nothing, whatever the refcounts say; emu never reuses a
/// cluster inside the file. Clusters freed later (a compressed cluster rewritten, an old refcount
/// table) stay as holes with refcount 0, which qemu-img check accepts, and leaks left by a crash are
/// never handed out twice.
/// </summary>
internal sealed class Qcow2ClusterAllocator
{
    // L2 and L1 entries hold host offsets in bits 9-55 (qcow2.txt, "Cluster mapping").
    private const long MaxHostOffset = 1L << 56;

    private readonly int _clusterBits;
    private long _next;

    /// <summary>Starts at the first whole cluster at or past <paramref name="fileLength"/>.</summary>
    public Qcow2ClusterAllocator(long fileLength, int clusterBits)
    {
        _clusterBits = clusterBits;
        long size = 1L << clusterBits;
        _next = (fileLength + size - 1) >> clusterBits;
    }

    /// <summary>The cluster index the next <see cref="Take"/> returns.</summary>
    public long Next => _next;

    /// <summary>Reserves <paramref name="count"/> contiguous clusters and returns the first one's index (no refcount is set here).</summary>
    public long Take(long count)
    {
        if ((_next + count) << _clusterBits > MaxHostOffset || _next + count > MaxHostOffset >> _clusterBits)
        {
            throw new IOException("qcow2 image is full: host offsets past 64 PiB cannot be described in L2 entries");
        }

        long first = _next;
        _next += count;
        return first;
    }
}
