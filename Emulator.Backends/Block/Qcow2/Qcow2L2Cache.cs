using System.Buffers.Binary;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// L2 tables in memory, keyed by host offset, each checked when it is read: every cluster it names
/// must be aligned and inside the file. Changed tables are written in a commit after the refcounts of
/// the clusters they name are durable and before the L1 entries that name them.
/// </summary>
internal sealed class Qcow2L2Cache
{
    // L2 tables kept in memory (32 MiB of 64 KiB tables map 256 GiB of guest disk).
    private const long CacheBudgetBytes = 32L << 20;

    private readonly IImageFile _file;
    private readonly Qcow2Header _header;
    private readonly Action _commit;
    private readonly Dictionary<long, ulong[]> _tables = [];
    private readonly SortedSet<long> _dirty = [];

    /// <summary>
    /// <paramref name="commit"/> writes all metadata in order; it runs before the cache drops tables
    /// that are still dirty, because an L2 table may not reach the disk ahead of its refcounts.
    /// </summary>
    public Qcow2L2Cache(IImageFile file, Qcow2Header header, Action commit)
    {
        _file = file;
        _header = header;
        _commit = commit;
    }

    /// <summary>True when changed tables wait to be written.</summary>
    public bool HasDirty => _dirty.Count > 0;

    /// <summary>The table at host offset <paramref name="offset"/>; reads and checks it when it is not in memory.</summary>
    public ulong[] Get(long offset)
    {
        if (_tables.TryGetValue(offset, out ulong[]? table))
        {
            return table;
        }

        MakeRoom();
        int clusterSize = _header.ClusterSize;
        byte[] raw = new byte[clusterSize];
        if (_file.Read(raw, offset) != clusterSize)
        {
            throw new DiskImageException($"qcow2 L2 table at 0x{offset:x} runs past the end of the file ({_file.Length} bytes)");
        }

        table = new ulong[clusterSize / 8];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            Check(offset, i, table[i]);
        }

        _tables[offset] = table;
        return table;
    }

    /// <summary>Adds a table emu created (or copied) at <paramref name="offset"/>; it is dirty until written.</summary>
    public void Add(long offset, ulong[] table)
    {
        MakeRoom();
        _tables[offset] = table;
        _dirty.Add(offset);
    }

    /// <summary>Records that the table at <paramref name="offset"/> changed in memory.</summary>
    public void MarkDirty(long offset) => _dirty.Add(offset);

    /// <summary>Writes every changed table whole.</summary>
    public void WriteDirty()
    {
        byte[] raw = new byte[_header.ClusterSize];
        foreach (long offset in _dirty)
        {
            ulong[] table = _tables[offset];
            for (int i = 0; i < table.Length; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), table[i]);
            }

            _file.Write(raw, offset);
        }

        _dirty.Clear();
    }

    private void MakeRoom()
    {
        if (((long)_tables.Count + 1) * _header.ClusterSize <= CacheBudgetBytes)
        {
            return;
        }

        if (_dirty.Count > 0)
        {
            _commit();
        }

        _tables.Clear();
    }

    private void Check(long table, int index, ulong e)
    {
        long fileLength = _file.Length;
        string where = $"qcow2 L2 table at 0x{table:x}, entry {index} (0x{e:x})";
        switch (Qcow2L2Entry.Kind(e))
        {
            case Qcow2ClusterKind.Compressed:
                (long offset, _) = Qcow2L2Entry.CompressedRange(e, _header.ClusterBits);
                if (offset >= fileLength || offset < _header.ClusterSize)
                {
                    throw new DiskImageException($"{where}: compressed data at 0x{offset:x} is outside the file ({fileLength} bytes)");
                }

                break;
            case Qcow2ClusterKind.Normal or Qcow2ClusterKind.Zero:
                if ((e & Qcow2L2Entry.StandardReserved) != 0)
                {
                    throw new DiskImageException($"{where}: reserved bits are set");
                }

                long host = Qcow2L2Entry.HostOffset(e);
                // A data cluster must start inside the file; its tail may lie past the end (reads as zeros).
                if (host != 0 && (host % _header.ClusterSize != 0 || host < _header.ClusterSize || host >= fileLength))
                {
                    throw new DiskImageException($"{where}: data cluster at 0x{host:x} is misaligned or outside the file ({fileLength} bytes)");
                }

                break;
        }
    }
}
