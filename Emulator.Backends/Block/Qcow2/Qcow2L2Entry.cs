namespace Emulator.Backends.Block.Qcow2;

/// <summary>What an L2 entry says about one guest cluster (qcow2.txt, "Cluster mapping").</summary>
internal enum Qcow2ClusterKind
{
    /// <summary>No data here: read the backing file, or zeros without one.</summary>
    Unallocated,

    /// <summary>Reads as zeros (standard descriptor bit 0, version 3); may keep a preallocated host cluster.</summary>
    Zero,

    /// <summary>Data in one host cluster at a cluster-aligned offset.</summary>
    Normal,

    /// <summary>Deflate-compressed data at a byte offset, spanning whole 512-byte sectors.</summary>
    Compressed,
}

/// <summary>
/// The bit layout of L1 and L2 entries (qcow2.txt, "Cluster mapping"): bit 63 "COPIED" (refcount is
/// exactly one, so the cluster may be written in place), bit 62 compressed, and the two descriptors.
/// </summary>
internal static class Qcow2L2Entry
{
    /// <summary>Bit 63 of L1 and L2 entries: the cluster's refcount is exactly one.</summary>
    public const ulong Copied = 1UL << 63;

    /// <summary>Bit 62 of an L2 entry: a compressed cluster descriptor.</summary>
    public const ulong CompressedFlag = 1UL << 62;

    /// <summary>Bit 0 of a standard descriptor: the cluster reads as zeros.</summary>
    public const ulong ZeroFlag = 1;

    /// <summary>Bits 9-55: a host cluster offset in L1 entries and standard descriptors.</summary>
    public const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00;

    /// <summary>Bits of a standard L2 entry that must be zero: 1-8 and 56-61 (bit 0 is the zero flag).</summary>
    public const ulong StandardReserved = 0x3F00_0000_0000_01FE;

    /// <summary>Bits of an L1 entry that must be zero: 0-8 and 56-62.</summary>
    public const ulong L1Reserved = 0x7F00_0000_0000_01FF;

    public static Qcow2ClusterKind Kind(ulong entry)
    {
        if ((entry & CompressedFlag) != 0)
        {
            return Qcow2ClusterKind.Compressed;
        }

        if ((entry & ZeroFlag) != 0)
        {
            return Qcow2ClusterKind.Zero;
        }

        return (entry & OffsetMask) == 0 ? Qcow2ClusterKind.Unallocated : Qcow2ClusterKind.Normal;
    }

    /// <summary>The host offset of a standard (normal or preallocated zero) descriptor, 0 when none.</summary>
    public static long HostOffset(ulong entry) => (long)(entry & OffsetMask);

    /// <summary>
    /// A compressed descriptor's host byte range (qcow2.txt, "Compressed Clusters Descriptor"): the
    /// offset in bits 0..x-1 and, in bits x..61, the number of 512-byte sectors beyond the first, where
    /// x = 62 - (cluster_bits - 8). The range ends at the end of the last sector.
    /// </summary>
    public static (long Offset, long Length) CompressedRange(ulong entry, int clusterBits)
    {
        int x = 62 - (clusterBits - 8);
        long offset = (long)(entry & ((1UL << x) - 1));
        long extraSectors = (long)((entry >> x) & ((1UL << (62 - x)) - 1));
        long length = ((extraSectors + 1) * 512) - (offset & 511);
        return (offset, length);
    }
}
