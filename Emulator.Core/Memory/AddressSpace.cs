using System.Buffers.Binary;
using Emulator.Core.Devices;

namespace Emulator.Core.Memory;

/// <summary>
/// The guest physical address space: non-overlapping RAM, ROM and MMIO regions.
/// Unmapped reads return all ones and unmapped writes are dropped, as on a PC bus with no
/// device claiming the cycle.
/// </summary>
public sealed class AddressSpace
{
    private MemoryRegion[] _regions = [];
    private readonly Lock _deviceLock;
    private readonly List<Action<ulong, int>> _writeObservers = [];

    /// <summary>Creates an empty address space whose MMIO dispatch is serialized by <paramref name="deviceLock"/>.</summary>
    public AddressSpace(Lock deviceLock) => _deviceLock = deviceLock;

    /// <summary>The regions, sorted by start address.</summary>
    public IReadOnlyList<MemoryRegion> Regions => _regions;

    /// <summary>Number of accesses that hit no region (for diagnostics).</summary>
    public long UnmappedAccesses { get; private set; }

    /// <summary>Maps RAM backed by <paramref name="backing"/> from <paramref name="backingOffset"/>.</summary>
    public MemoryRegion AddRam(string name, GuestPhysicalAddress start, ulong size, HostMapping backing, ulong backingOffset = 0) =>
        Add(new MemoryRegion(name, start, size, RegionKind.Ram, CheckBacking(backing, backingOffset, size), backingOffset, null));

    /// <summary>Maps read-only memory backed by <paramref name="backing"/> from <paramref name="backingOffset"/>.</summary>
    public MemoryRegion AddRom(string name, GuestPhysicalAddress start, ulong size, HostMapping backing, ulong backingOffset = 0) =>
        Add(new MemoryRegion(name, start, size, RegionKind.Rom, CheckBacking(backing, backingOffset, size), backingOffset, null));

    /// <summary>Maps a device at a range of physical addresses.</summary>
    public MemoryRegion AddMmio(string name, GuestPhysicalAddress start, ulong size, IBusDevice device) =>
        Add(new MemoryRegion(name, start, size, RegionKind.Mmio, null, 0, device));

    /// <summary>
    /// Unmaps <paramref name="region"/> (a PCI BAR moved or its decoding was disabled). Throws if the
    /// region is not mapped. RAM and ROM regions may be removed too; their host mapping is untouched.
    /// </summary>
    public void RemoveRegion(MemoryRegion region)
    {
        if (Array.IndexOf(_regions, region) < 0)
        {
            throw new InvalidOperationException($"region {region} is not mapped");
        }

        // A new array is published in one store, as in Add, so that a vCPU looking up a region
        // concurrently sees either the old or the new map, never a half-updated one.
        _regions = [.. _regions.Where(r => r != region)];
    }

    /// <summary>True when every byte of [<paramref name="address"/>, +<paramref name="length"/>) is RAM (for checking guest-supplied DMA ranges).</summary>
    public bool IsRam(GuestPhysicalAddress address, ulong length)
    {
        ulong a = address.Value;
        if (a + length < a)
        {
            return false;
        }

        while (length > 0)
        {
            MemoryRegion? r = Find(a);
            if (r is null || r.Kind != RegionKind.Ram)
            {
                return false;
            }

            ulong n = Math.Min(length, r.End - a);
            a += n;
            length -= n;
        }

        return true;
    }

    /// <summary>Registers a callback told of every write made through <see cref="Write"/> to RAM (DMA, loaders), so that caches of guest code can be invalidated.</summary>
    public void ObserveRamWrites(Action<ulong, int> observer) => _writeObservers.Add(observer);

    /// <summary>
    /// Tells every <see cref="ObserveRamWrites"/> observer that all of RAM was rewritten behind the
    /// address space's back (a snapshot loaded through the host mapping), so that caches of guest
    /// code drop what they hold.
    /// </summary>
    public void NotifyRamRewritten()
    {
        foreach (MemoryRegion r in _regions.Where(r => r.Kind == RegionKind.Ram))
        {
            for (ulong done = 0; done < r.Size;)
            {
                int n = (int)Math.Min(r.Size - done, 1UL << 30);
                foreach (Action<ulong, int> observer in _writeObservers)
                {
                    observer(r.Start.Value + done, n);
                }

                done += (ulong)n;
            }
        }
    }

    /// <summary>The region holding <paramref name="address"/>, or null.</summary>
    public MemoryRegion? Find(ulong address)
    {
        MemoryRegion[] regions = _regions;
        int lo = 0, hi = regions.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            MemoryRegion r = regions[mid];
            if (address < r.Start.Value)
            {
                hi = mid - 1;
            }
            else if (address - r.Start.Value >= r.Size)
            {
                lo = mid + 1;
            }
            else
            {
                return r;
            }
        }

        return null;
    }

    /// <summary>Reads guest physical memory; accesses may cross region boundaries.</summary>
    public void Read(GuestPhysicalAddress address, Span<byte> data)
    {
        ulong a = address.Value;
        while (!data.IsEmpty)
        {
            MemoryRegion? r = Find(a);
            int n = Chunk(r, a, data.Length);
            Span<byte> piece = data[..n];
            if (r is null)
            {
                UnmappedAccesses++;
                piece.Fill(0xff);
            }
            else if (r.Kind == RegionKind.Mmio)
            {
                lock (_deviceLock)
                {
                    BusAccess.Read(r.Device!, a - r.Start.Value, piece);
                }
            }
            else
            {
                unsafe
                {
                    new ReadOnlySpan<byte>(r.HostPointer(a), n).CopyTo(piece);
                }
            }

            a += (ulong)n;
            data = data[n..];
        }
    }

    /// <summary>Writes guest physical memory; ROM ignores it; accesses may cross region boundaries.</summary>
    public void Write(GuestPhysicalAddress address, ReadOnlySpan<byte> data)
    {
        ulong a = address.Value;
        while (!data.IsEmpty)
        {
            MemoryRegion? r = Find(a);
            int n = Chunk(r, a, data.Length);
            ReadOnlySpan<byte> piece = data[..n];
            if (r is null)
            {
                UnmappedAccesses++;
            }
            else if (r.Kind == RegionKind.Mmio)
            {
                lock (_deviceLock)
                {
                    BusAccess.Write(r.Device!, a - r.Start.Value, piece);
                }
            }
            else if (r.Kind == RegionKind.Ram)
            {
                unsafe
                {
                    piece.CopyTo(new Span<byte>(r.HostPointer(a), n));
                }

                foreach (Action<ulong, int> observer in _writeObservers)
                {
                    observer(a, n);
                }
            }

            a += (ulong)n;
            data = data[n..];
        }
    }

    /// <summary>
    /// Reads a little-endian value of 1, 2, 4 or 8 bytes from <paramref name="device"/> at
    /// <paramref name="offset"/>, outside the map but as a mapped device is read (under the device
    /// lock, split into the widths it takes): for a device a processor decodes ahead of the map,
    /// its own local APIC's register page (<see cref="Cpu.IApicRegisterPage"/>).
    /// </summary>
    public ulong ReadDevice(IBusDevice device, ulong offset, int size)
    {
        Span<byte> buffer = stackalloc byte[8];
        buffer.Clear();
        lock (_deviceLock)
        {
            BusAccess.Read(device, offset, buffer[..size]);
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(buffer);
    }

    /// <summary>Writes a little-endian value of 1, 2, 4 or 8 bytes to <paramref name="device"/>, as <see cref="ReadDevice"/> reads.</summary>
    public void WriteDevice(IBusDevice device, ulong offset, int size, ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        lock (_deviceLock)
        {
            BusAccess.Write(device, offset, buffer[..size]);
        }
    }

    /// <summary>Reads a little-endian value of 1, 2, 4 or 8 bytes.</summary>
    public ulong ReadUInt(GuestPhysicalAddress address, int size)
    {
        Span<byte> buffer = stackalloc byte[8];
        buffer.Clear();
        Read(address, buffer[..size]);
        return BinaryPrimitives.ReadUInt64LittleEndian(buffer);
    }

    /// <summary>Writes a little-endian value of 1, 2, 4 or 8 bytes.</summary>
    public void WriteUInt(GuestPhysicalAddress address, int size, ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        Write(address, buffer[..size]);
    }

    private int Chunk(MemoryRegion? r, ulong a, int wanted)
    {
        if (r is not null)
        {
            return (int)Math.Min((ulong)wanted, r.End - a);
        }

        foreach (MemoryRegion next in _regions)
        {
            if (next.Start.Value > a)
            {
                return (int)Math.Min((ulong)wanted, next.Start.Value - a);
            }
        }

        return wanted;
    }

    private static HostMapping CheckBacking(HostMapping backing, ulong offset, ulong size)
    {
        if (offset > backing.Size || size > backing.Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"region of {size:x} bytes at backing offset {offset:x} exceeds its {backing.Size:x}-byte host mapping");
        }

        return backing;
    }

    private MemoryRegion Add(MemoryRegion region)
    {
        if (region.Size == 0 || region.Start.Value + region.Size < region.Start.Value)
        {
            throw new ArgumentException($"region {region} is empty or wraps the address space");
        }

        foreach (MemoryRegion existing in _regions)
        {
            if (region.Start.Value < existing.End && existing.Start.Value < region.End)
            {
                throw new InvalidOperationException($"region {region} overlaps {existing}");
            }
        }

        _regions = [.. _regions.Append(region).OrderBy(r => r.Start.Value)];
        return region;
    }
}
