using System.Buffers.Binary;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// The refcount table and refcount blocks (qcow2.txt, "Host cluster management"): how many references
/// each host cluster has. Changes are made in memory and written when the image commits its metadata,
/// always before the L2 and L1 entries that rely on them; increments may reach the disk at any time
/// (a crash then leaves at worst a leaked cluster), decrements only after the tables that dropped the
/// reference are durable (<see cref="FreeLater"/>).
/// </summary>
internal sealed class Qcow2Refcounts
{
    // Refcount blocks kept in memory; past this, dirty ones are written and the cache starts again.
    private const long CacheBudgetBytes = 16L << 20;

    private readonly IImageFile _file;
    private readonly Qcow2ClusterAllocator _allocator;
    private readonly int _clusterBits;
    private readonly int _order;
    private readonly int _blockBits;
    private readonly Dictionary<long, byte[]> _blocks = [];
    private readonly HashSet<long> _dirtyBlocks = [];
    private readonly HashSet<long> _dirtyTableEntries = [];
    private readonly List<(long Offset, long Length)> _pendingFrees = [];
    private long[] _table;
    private long _tableOffset;
    private int _tableClusters;

    private Qcow2Refcounts(IImageFile file, Qcow2Header header, Qcow2ClusterAllocator allocator, long[] table)
    {
        _file = file;
        _allocator = allocator;
        _clusterBits = header.ClusterBits;
        _order = header.RefcountOrder;
        _blockBits = header.ClusterBits + 3 - header.RefcountOrder;
        _table = table;
        _tableOffset = header.RefcountTableOffset;
        _tableClusters = header.RefcountTableClusters;
    }

    private int ClusterSize => 1 << _clusterBits;

    /// <summary>True when refcount changes wait to be written.</summary>
    public bool HasDirty => _dirtyBlocks.Count > 0 || _dirtyTableEntries.Count > 0;

    /// <summary>True when frees wait for the tables that dropped their references to be durable.</summary>
    public bool HasPendingFrees => _pendingFrees.Count > 0;

    /// <summary>Reads the refcount table and checks that every block it names is aligned and inside the file.</summary>
    public static Qcow2Refcounts Load(IImageFile file, Qcow2Header header, Qcow2ClusterAllocator allocator)
    {
        int entries = (int)(((long)header.RefcountTableClusters << header.ClusterBits) / 8);
        byte[] raw = new byte[entries * 8];
        file.Read(raw, header.RefcountTableOffset);
        long[] table = new long[entries];
        for (int i = 0; i < entries; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            if ((e & 0x1FF) != 0)
            {
                throw new DiskImageException($"qcow2 refcount table entry {i} (0x{e:x}) has reserved bits 0-8 set");
            }

            if (e != 0)
            {
                header.CheckArea($"refcount block {i}", CheckedOffset(e, i), header.ClusterSize, file.Length);
            }

            table[i] = (long)e;
        }

        return new Qcow2Refcounts(file, header, allocator, table);
    }

    private static long CheckedOffset(ulong e, int i) => e <= long.MaxValue
        ? (long)e
        : throw new DiskImageException($"qcow2 refcount table entry {i} (0x{e:x}) is out of range");

    /// <summary>The refcount of host cluster <paramref name="cluster"/> (0 where no block covers it).</summary>
    public ulong Get(long cluster)
    {
        long group = cluster >> _blockBits;
        if (group >= _table.Length || _table[group] == 0)
        {
            return 0;
        }

        return ReadEntry(Block(_table[group]), cluster & ((1L << _blockBits) - 1));
    }

    /// <summary>Reserves <paramref name="count"/> contiguous clusters past the end of the file with refcount 1; returns the first index.</summary>
    public long Allocate(long count)
    {
        long first = _allocator.Take(count);
        for (long c = first; c < first + count; c++)
        {
            Set(c, 1);
        }

        return first;
    }

    /// <summary>
    /// Drops one reference from every host cluster that bytes [<paramref name="offset"/>, +<paramref name="length"/>)
    /// touch, once the next commit has made the tables that no longer reference them durable.
    /// </summary>
    public void FreeLater(long offset, long length) => _pendingFrees.Add((offset, length));

    /// <summary>Writes every changed refcount block (phase one of a commit; safe at any time, see the class summary).</summary>
    public void WriteDirtyBlocks()
    {
        foreach (long offset in _dirtyBlocks.Order())
        {
            _file.Write(_blocks[offset], offset);
        }

        _dirtyBlocks.Clear();
    }

    /// <summary>True when refcount table entries point at new blocks not yet recorded on disk.</summary>
    public bool HasDirtyTable => _dirtyTableEntries.Count > 0;

    /// <summary>Writes changed refcount table entries; the blocks they name must already be durable.</summary>
    public void WriteDirtyTable()
    {
        Span<byte> entry = stackalloc byte[8];
        foreach (long i in _dirtyTableEntries.Order())
        {
            BinaryPrimitives.WriteUInt64BigEndian(entry, (ulong)_table[i]);
            _file.Write(entry, _tableOffset + (i * 8));
        }

        _dirtyTableEntries.Clear();
    }

    /// <summary>Applies the frees queued by <see cref="FreeLater"/> in memory; call once the referencing tables are durable.</summary>
    public void ApplyPendingFrees()
    {
        foreach ((long offset, long length) in _pendingFrees)
        {
            long first = offset >> _clusterBits, last = (offset + length - 1) >> _clusterBits;
            for (long c = first; c <= last; c++)
            {
                ulong n = Get(c);
                if (n > 0)
                {
                    Set(c, n - 1);
                }
            }
        }

        _pendingFrees.Clear();
    }

    /// <summary>Sets the refcount of host cluster <paramref name="cluster"/>, creating its refcount block (and a larger table) when needed.</summary>
    public void Set(long cluster, ulong value)
    {
        long group = cluster >> _blockBits;
        if (group >= _table.Length)
        {
            Grow(group + 1);
        }

        if (_table[group] == 0)
        {
            CreateBlock(group);
        }

        long block = _table[group];
        WriteEntry(Block(block), cluster & ((1L << _blockBits) - 1), value);
        _dirtyBlocks.Add(block);
    }

    private void CreateBlock(long group)
    {
        // The new block goes at the end of the file. When it falls in the group it describes it holds
        // its own refcount; otherwise its refcount lives in another group's block (made the same way).
        long at = _allocator.Take(1);
        long offset = at << _clusterBits;
        _blocks[offset] = new byte[ClusterSize];
        _dirtyBlocks.Add(offset);
        _table[group] = offset;
        _dirtyTableEntries.Add(group);
        if (at >> _blockBits == group)
        {
            WriteEntry(_blocks[offset], at & ((1L << _blockBits) - 1), 1);
        }
        else
        {
            Set(at, 1);
        }
    }

    /// <summary>
    /// Replaces the refcount table with a larger one covering at least <paramref name="minGroups"/>
    /// blocks. The new table and the blocks that count its own clusters go at the end of the file;
    /// order: blocks, sync, table, sync, header, sync; the old table's clusters are freed afterwards.
    /// </summary>
    private void Grow(long minGroups)
    {
        long perCluster = ClusterSize / 8;
        long groups = Math.Max(minGroups, _table.Length * 2L);
        long start, tableClusters, newBlocks;
        while (true)
        {
            tableClusters = (groups + perCluster - 1) / perCluster;
            start = _allocator.Next;
            newBlocks = 0;
            long end;
            while (true)
            {
                end = start + tableClusters + newBlocks;
                long lacking = 0;
                for (long g = start >> _blockBits; g <= (end - 1) >> _blockBits; g++)
                {
                    lacking += g >= _table.Length || _table[g] == 0 ? 1 : 0;
                }

                if (lacking == newBlocks)
                {
                    break;
                }

                newBlocks = lacking;
            }

            if ((end - 1) >> _blockBits < groups)
            {
                break;
            }

            groups = ((end - 1) >> _blockBits) + 1;
        }

        if (tableClusters << _clusterBits > 8L << 20)
        {
            throw new IOException("qcow2 refcount table would pass QEMU's 8 MiB limit");
        }

        _allocator.Take(tableClusters + newBlocks);
        long[] table = new long[tableClusters * perCluster];
        Array.Copy(_table, table, _table.Length);
        long nextBlock = start + tableClusters;
        long lastGroup = (start + tableClusters + newBlocks - 1) >> _blockBits;
        for (long g = start >> _blockBits; g <= lastGroup; g++)
        {
            if (table[g] == 0)
            {
                long offset = nextBlock++ << _clusterBits;
                table[g] = offset;
                _blocks[offset] = new byte[ClusterSize];
                _dirtyBlocks.Add(offset);
            }
        }

        long oldOffset = _tableOffset, oldClusters = _tableClusters;
        _table = table;
        for (long c = start; c < start + tableClusters + newBlocks; c++)
        {
            Set(c, 1); // every group here has a block now, so this recurses no further
        }

        WriteDirtyBlocks();
        _file.Sync();
        byte[] raw = new byte[tableClusters << _clusterBits];
        for (int i = 0; i < table.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), (ulong)table[i]);
        }

        _file.Write(raw, start << _clusterBits);
        _file.Sync();
        Span<byte> fields = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(fields, (ulong)(start << _clusterBits));
        BinaryPrimitives.WriteUInt32BigEndian(fields[8..], (uint)tableClusters);
        _file.Write(fields, Qcow2Header.RefcountTableFieldsOffset);
        _file.Sync();
        _tableOffset = start << _clusterBits;
        _tableClusters = (int)tableClusters;
        _dirtyTableEntries.Clear();

        // The header no longer names the old table: its clusters can be freed now.
        for (long c = oldOffset >> _clusterBits; c < (oldOffset >> _clusterBits) + oldClusters; c++)
        {
            ulong n = Get(c);
            if (n > 0)
            {
                Set(c, n - 1);
            }
        }
    }

    private byte[] Block(long offset)
    {
        if (_blocks.TryGetValue(offset, out byte[]? block))
        {
            return block;
        }

        if (((long)_blocks.Count + 1) << _clusterBits > CacheBudgetBytes)
        {
            WriteDirtyBlocks();
            _blocks.Clear();
        }

        block = new byte[ClusterSize];
        _file.Read(block, offset);
        _blocks[offset] = block;
        return block;
    }

    // Refcount block entries are refcount_bits = 1 << refcount_order wide, big-endian from 8 bits up;
    // narrower ones pack into bytes with bit 0 as the least significant (qcow2.txt, "Refcount block entry").
    private ulong ReadEntry(byte[] block, long index) => _order switch
    {
        6 => BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan((int)(index * 8))),
        5 => BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan((int)(index * 4))),
        4 => BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan((int)(index * 2))),
        3 => block[index],
        _ => (ulong)(block[(index << _order) >> 3] >> (int)((index << _order) & 7)) & ((1UL << (1 << _order)) - 1),
    };

    private void WriteEntry(byte[] block, long index, ulong value)
    {
        ulong max = _order == 6 ? ulong.MaxValue : (1UL << (1 << _order)) - 1;
        if (value > max)
        {
            throw new IOException($"qcow2 refcount {value} does not fit {1 << _order} bits");
        }

        switch (_order)
        {
            case 6:
                BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan((int)(index * 8)), value);
                break;
            case 5:
                BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan((int)(index * 4)), (uint)value);
                break;
            case 4:
                BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan((int)(index * 2)), (ushort)value);
                break;
            case 3:
                block[index] = (byte)value;
                break;
            default:
                long bit = index << _order;
                int shift = (int)(bit & 7);
                int mask = (int)max << shift;
                block[bit >> 3] = (byte)((block[bit >> 3] & ~mask) | ((int)value << shift));
                break;
        }
    }
}
