using Emulator.Core.Block;

namespace Emulator.Backends.Block.Qcow2;

/// <summary>
/// A qcow2 disk image (QEMU docs/interop/qcow2.txt, versions 2 and 3) as a block backend: reads
/// through the L1/L2 tables, compressed and zero clusters and the backing file; writes allocate
/// clusters past the end of the file (<see cref="Qcow2ClusterAllocator"/>) and copy what the rest of
/// the cluster held before (backing data, a compressed or shared cluster).
/// <para>
/// Metadata changes are kept in memory and committed in crash-safe order on the guest's FLUSH, when a
/// cache fills and on close: refcount blocks, sync, refcount table entries, sync, L2 tables, sync, L1
/// entries, sync, then the refcount decrements of clusters no longer referenced. A crash at any point
/// leaves an image whose every reference is counted (at worst some clusters leak). Data written into
/// clusters that already belong to the image (refcount 1, "COPIED") goes straight to the file.
/// </para>
/// </summary>
public sealed class Qcow2Image : IBlockBackend
{
    private readonly Lock _lock = new();
    private readonly IImageFile _file;
    private readonly Qcow2Header _header;
    private readonly IBlockBackend? _backing;
    private readonly Qcow2L1Table _l1;
    private readonly Qcow2L2Cache _l2;
    private readonly Qcow2Refcounts _refcounts;
    private readonly Qcow2CompressedCluster _compressed;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly byte[] _scratch;
    private bool _headerReady;
    private bool _unsynced;

    private Qcow2Image(IImageFile file, bool readOnly, Qcow2Header header, int depth)
    {
        _file = file;
        _header = header;
        _clusterBits = header.ClusterBits;
        _clusterSize = header.ClusterSize;
        _scratch = new byte[_clusterSize];
        ReadOnly = readOnly || !file.CanWrite;
        Name = Path.GetFileName(file.Path);
        Length = header.Size;
        _l1 = Qcow2L1Table.Load(file, header);
        _refcounts = Qcow2Refcounts.Load(file, header, new Qcow2ClusterAllocator(file.Length, header.ClusterBits));
        _l2 = new Qcow2L2Cache(file, header, Commit);
        _compressed = new Qcow2CompressedCluster(file, header.ClusterBits);

        // Every L2 table is read and checked now, so that a corrupt image is refused before the guest
        // runs (and before anything is written), and so that no cluster the tables name lies past the
        // end of the file, where the allocator puts new clusters.
        for (int i = 0; i < _l1.Length; i++)
        {
            long l2 = Qcow2L2Entry.HostOffset(_l1[i]);
            if (l2 != 0)
            {
                _l2.Get(l2);
            }
        }

        _backing = Qcow2BackingFile.Open(header, file.Path, depth);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public long Length { get; }

    /// <inheritdoc/>
    public bool ReadOnly { get; }

    /// <summary>
    /// Opens the qcow2 image in <paramref name="stream"/> (which this then owns). Throws
    /// <see cref="DiskImageException"/> with one line when the image is corrupt or uses a feature emu
    /// does not implement; nothing is written then, and the caller still owns the stream.
    /// </summary>
    public static Qcow2Image Open(FileStream stream, bool readOnly) => Open(new HostImageFile(stream), readOnly, 0);

    /// <summary>Opens over any <see cref="IImageFile"/>; <paramref name="depth"/> counts backing files above this one.</summary>
    internal static Qcow2Image Open(IImageFile file, bool readOnly, int depth)
    {
        bool writable = !readOnly && file.CanWrite;
        Qcow2Header header = Qcow2Header.Read(file, writable);
        return new Qcow2Image(file, !writable, header, depth);
    }

    /// <inheritdoc/>
    public void Read(Span<byte> buffer, long offset)
    {
        CheckRange(offset, buffer.Length);
        lock (_lock)
        {
            try
            {
                ReadLocked(buffer, offset);
            }
            catch (DiskImageException e)
            {
                throw Failed(e);
            }
        }
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        CheckRange(offset, data.Length);
        if (ReadOnly)
        {
            throw new IOException($"{Name}: the image is read-only");
        }

        lock (_lock)
        {
            try
            {
                PrepareHeader();
                while (!data.IsEmpty)
                {
                    int inCluster = (int)(offset & (_clusterSize - 1));
                    int n = Math.Min(_clusterSize - inCluster, data.Length);
                    WriteInCluster(data[..n], offset, inCluster);
                    data = data[n..];
                    offset += n;
                }
            }
            catch (DiskImageException e)
            {
                throw Failed(e);
            }
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (ReadOnly)
        {
            return;
        }

        lock (_lock)
        {
            Commit();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            if (!ReadOnly)
            {
                lock (_lock)
                {
                    Commit();
                }
            }
        }
        finally
        {
            _backing?.Dispose();
            _file.Dispose();
        }
    }

    private void CheckRange(long offset, int length)
    {
        if (offset < 0 || offset > Length - length)
        {
            throw new IOException($"{Name}: access of {length} bytes at {offset} is outside the {Length}-byte disk");
        }
    }

    // A table found corrupt while the guest runs fails the guest's request (an I/O error), never emu.
    private IOException Failed(DiskImageException e) => new($"{Name}: {e.Message}", e);

    private void ReadLocked(Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int inCluster = (int)(offset & (_clusterSize - 1));
            int n = Math.Min(_clusterSize - inCluster, buffer.Length);
            ulong entry = Lookup(offset >> _clusterBits);

            // Runs of data clusters that sit one after another in the file are read in one call.
            if (Qcow2L2Entry.Kind(entry) == Qcow2ClusterKind.Normal)
            {
                long host = Qcow2L2Entry.HostOffset(entry);
                while (n < buffer.Length)
                {
                    ulong next = Lookup((offset + n) >> _clusterBits);
                    if (Qcow2L2Entry.Kind(next) != Qcow2ClusterKind.Normal || Qcow2L2Entry.HostOffset(next) != host + inCluster + n)
                    {
                        break;
                    }

                    n = Math.Min(n + _clusterSize, buffer.Length);
                }

                int got = _file.Read(buffer[..n], host + inCluster);
                buffer[got..n].Clear(); // a data cluster's tail may lie past the end of the file
            }
            else
            {
                ReadCluster(entry, offset - inCluster, inCluster, buffer[..n]);
            }

            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Fills <paramref name="dest"/> with bytes <paramref name="inCluster"/>.. of the guest cluster at <paramref name="clusterStart"/> as <paramref name="entry"/> describes it.</summary>
    private void ReadCluster(ulong entry, long clusterStart, int inCluster, Span<byte> dest)
    {
        switch (Qcow2L2Entry.Kind(entry))
        {
            case Qcow2ClusterKind.Normal:
                int got = _file.Read(dest, Qcow2L2Entry.HostOffset(entry) + inCluster);
                dest[got..].Clear();
                break;
            case Qcow2ClusterKind.Compressed:
                _compressed.Read(entry).Slice(inCluster, dest.Length).CopyTo(dest);
                break;
            case Qcow2ClusterKind.Zero:
                dest.Clear();
                break;
            default:
                ReadBacking(dest, clusterStart + inCluster);
                break;
        }
    }

    // Past the end of a shorter backing file the disk reads as zeros (qcow2.txt, end of "Cluster mapping").
    private void ReadBacking(Span<byte> dest, long offset)
    {
        long available = _backing is null ? 0 : Math.Clamp(_backing.Length - offset, 0, dest.Length);
        if (available > 0)
        {
            _backing!.Read(dest[..(int)available], offset);
        }

        dest[(int)available..].Clear();
    }

    private bool BackingHasData(long clusterStart) => _backing is not null && clusterStart < _backing.Length;

    private ulong Lookup(long guestCluster)
    {
        long l1Index = guestCluster >> (_clusterBits - 3);
        long l2 = l1Index < _l1.Length ? Qcow2L2Entry.HostOffset(_l1[(int)l1Index]) : 0;
        return l2 == 0 ? 0 : _l2.Get(l2)[guestCluster & (_header.L2Entries - 1)];
    }

    private void WriteInCluster(ReadOnlySpan<byte> data, long offset, int inCluster)
    {
        long guestCluster = offset >> _clusterBits;
        long clusterStart = offset - inCluster;
        (ulong[] table, long tableOffset) = WritableL2(guestCluster);
        int index = (int)(guestCluster & (_header.L2Entries - 1));
        ulong entry = table[index];
        Qcow2ClusterKind kind = Qcow2L2Entry.Kind(entry);
        long host = Qcow2L2Entry.HostOffset(entry);
        bool owned = (entry & Qcow2L2Entry.Copied) != 0;

        if (kind == Qcow2ClusterKind.Normal && owned)
        {
            _file.Write(data, host + inCluster);
            return;
        }

        // A zero cluster with a preallocated host cluster of its own is written in place; anything
        // else gets a new cluster (never written before, so it reads as zeros until written).
        bool inPlace = kind == Qcow2ClusterKind.Zero && host != 0 && owned;
        bool fresh = !inPlace;
        long target = inPlace ? host : _refcounts.Allocate(1) << _clusterBits;
        bool zerosAround = kind == Qcow2ClusterKind.Zero || (kind == Qcow2ClusterKind.Unallocated && !BackingHasData(clusterStart));
        if (data.Length == _clusterSize)
        {
            _file.Write(data, target);
        }
        else if (fresh && zerosAround)
        {
            _file.Write(data, target + inCluster);
            _file.Extend(target + _clusterSize);
        }
        else
        {
            // Copy on write: what the rest of the cluster held before, merged with the new bytes.
            Span<byte> merged = _scratch;
            ReadCluster(entry, clusterStart, 0, merged);
            data.CopyTo(merged[inCluster..]);
            _file.Write(merged, target);
        }

        _unsynced = true;
        table[index] = (ulong)target | Qcow2L2Entry.Copied;
        _l2.MarkDirty(tableOffset);
        if (kind == Qcow2ClusterKind.Compressed)
        {
            // Every host cluster the compressed sectors touch holds one reference for it.
            (long cOffset, long cLength) = Qcow2L2Entry.CompressedRange(entry, _clusterBits);
            _refcounts.FreeLater(cOffset, cLength);
        }
        else if (!inPlace && host != 0)
        {
            _refcounts.FreeLater(host, _clusterSize); // a cluster shared with a snapshot
        }
    }

    /// <summary>The L2 table for <paramref name="guestCluster"/>, made writable: created when absent, copied when a snapshot shares it.</summary>
    private (ulong[] Table, long Offset) WritableL2(long guestCluster)
    {
        int l1Index = (int)(guestCluster >> (_clusterBits - 3));
        ulong l1Entry = _l1[l1Index];
        long l2 = Qcow2L2Entry.HostOffset(l1Entry);
        if (l2 != 0 && (l1Entry & Qcow2L2Entry.Copied) != 0)
        {
            ulong[] existing = _l2.Get(l2);
            return (existing, l2);
        }

        ulong[] table = l2 == 0 ? new ulong[_header.L2Entries] : (ulong[])_l2.Get(l2).Clone();
        long offset = _refcounts.Allocate(1) << _clusterBits;
        _l2.Add(offset, table);
        _l1.Set(l1Index, (ulong)offset | Qcow2L2Entry.Copied);
        if (l2 != 0)
        {
            _refcounts.FreeLater(l2, _clusterSize);
        }

        return (table, offset);
    }

    // qcow2.txt, autoclear_features: "An implementation may only write to an image with unknown
    // auto-clear features if it clears the respective bits from this field first." emu keeps no
    // bitmaps, so it clears them all before its first write.
    private void PrepareHeader()
    {
        if (_headerReady)
        {
            return;
        }

        if (_header.AutoclearFeatures != 0)
        {
            _file.Write(new byte[8], Qcow2Header.AutoclearFeaturesOffset);
            _file.Sync();
        }

        _headerReady = true;
    }

    /// <summary>Writes the metadata changed in memory, in crash-safe order (see the class summary), then syncs.</summary>
    private void Commit()
    {
        if (_refcounts.HasDirty)
        {
            _refcounts.WriteDirtyBlocks();
            _unsynced = true;
            if (_refcounts.HasDirtyTable)
            {
                Barrier();
                _refcounts.WriteDirtyTable();
                _unsynced = true;
            }
        }

        if (_l2.HasDirty)
        {
            Barrier();
            _l2.WriteDirty();
            _unsynced = true;
        }

        if (_l1.HasDirty)
        {
            Barrier();
            _l1.WriteDirty();
            _unsynced = true;
        }

        if (_refcounts.HasPendingFrees)
        {
            Barrier();
            _refcounts.ApplyPendingFrees();
            _refcounts.WriteDirtyBlocks();
            _unsynced = true;
        }

        // The guest's FLUSH: everything written so far is durable when this returns.
        _file.Sync();
        _unsynced = false;
    }

    private void Barrier()
    {
        if (_unsynced)
        {
            _file.Sync();
            _unsynced = false;
        }
    }
}
