using Emulator.Core.Devices;

namespace Emulator.Core.Memory;

/// <summary>What backs a range of guest physical addresses.</summary>
public enum RegionKind
{
    /// <summary>Read/write host memory.</summary>
    Ram,
    /// <summary>Read-only host memory; guest writes are dropped, as on a ROM chip.</summary>
    Rom,
    /// <summary>A device: every access is dispatched to it.</summary>
    Mmio,
}

/// <summary>One mapped range of the guest physical address space.</summary>
public sealed class MemoryRegion
{
    internal MemoryRegion(string name, GuestPhysicalAddress start, ulong size, RegionKind kind, HostMapping? backing, ulong backingOffset, IBusDevice? device)
    {
        Name = name;
        Start = start;
        Size = size;
        Kind = kind;
        Backing = backing;
        BackingOffset = backingOffset;
        Device = device;
    }

    /// <summary>A name for messages.</summary>
    public string Name { get; }

    /// <summary>First guest physical address.</summary>
    public GuestPhysicalAddress Start { get; }

    /// <summary>Length in bytes.</summary>
    public ulong Size { get; }

    /// <summary>Last address plus one.</summary>
    public ulong End => Start.Value + Size;

    /// <summary>RAM, ROM or MMIO.</summary>
    public RegionKind Kind { get; }

    /// <summary>Host memory behind a RAM or ROM region.</summary>
    public HostMapping? Backing { get; }

    /// <summary>Offset of <see cref="Start"/> inside <see cref="Backing"/>.</summary>
    public ulong BackingOffset { get; }

    /// <summary>The device behind an MMIO region.</summary>
    public IBusDevice? Device { get; }

    /// <summary>True when <paramref name="address"/> lies in this region.</summary>
    public bool Contains(ulong address) => address >= Start.Value && address - Start.Value < Size;

    /// <summary>Host pointer of a guest address inside this RAM or ROM region.</summary>
    public unsafe byte* HostPointer(ulong address) => Backing!.Pointer + BackingOffset + (address - Start.Value);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{Start.Value:x}-{End - 1:x}] {Kind}";
}
