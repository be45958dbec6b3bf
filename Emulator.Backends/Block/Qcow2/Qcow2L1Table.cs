using System.Buffers.Binary;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// The active L1 table (qcow2.txt, "Cluster mapping"), held in memory: entry i names the L2 table for
/// guest clusters [i * L2 entries, (i + 1) * L2 entries). Changed entries are written last in a commit,
/// after the L2 tables they point to are durable.
/// </summary>
internal sealed class Qcow2L1Table
{
    private readonly IImageFile _file;
    private readonly long _offset;
    private readonly ulong[] _entries;
    private readonly SortedSet<int> _dirty = [];

    private Qcow2L1Table(IImageFile file, long offset, ulong[] entries)
    {
        _file = file;
        _offset = offset;
        _entries = entries;
    }

    /// <summary>The number of entries.</summary>
    public int Length => _entries.Length;

    /// <summary>True when changed entries wait to be written.</summary>
    public bool HasDirty => _dirty.Count > 0;

    /// <summary>The entry at <paramref name="index"/>.</summary>
    public ulong this[int index] => _entries[index];

    /// <summary>Reads the table and checks that every L2 table it names is aligned and lies wholly inside the file.</summary>
    public static Qcow2L1Table Load(IImageFile file, Qcow2Header header)
    {
        byte[] raw = new byte[header.L1Size * 8];
        file.Read(raw, header.L1TableOffset);
        ulong[] entries = new ulong[header.L1Size];
        for (int i = 0; i < entries.Length; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            if ((e & Qcow2L2Entry.L1Reserved) != 0)
            {
                throw new DiskImageException($"qcow2 L1 entry {i} (0x{e:x}) has reserved bits set");
            }

            long l2 = Qcow2L2Entry.HostOffset(e);
            if (l2 != 0)
            {
                header.CheckArea($"L2 table of L1 entry {i}", l2, header.ClusterSize, file.Length);
            }

            entries[i] = e;
        }

        return new Qcow2L1Table(file, header.L1TableOffset, entries);
    }

    /// <summary>Changes entry <paramref name="index"/> in memory; it is written by <see cref="WriteDirty"/>.</summary>
    public void Set(int index, ulong value)
    {
        _entries[index] = value;
        _dirty.Add(index);
    }

    /// <summary>Writes the changed entries, 8 bytes each (an aligned 8-byte write is never torn by a process crash).</summary>
    public void WriteDirty()
    {
        Span<byte> raw = stackalloc byte[8];
        foreach (int i in _dirty)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw, _entries[i]);
            _file.Write(raw, _offset + (i * 8L));
        }

        _dirty.Clear();
    }
}
