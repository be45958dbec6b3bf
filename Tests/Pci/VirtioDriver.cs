using Emulator.Core.Memory;
using Emulator.Devices.Virtio;

namespace Emulator.Tests.Pci;

/// <summary>
/// A minimal virtio 1.x PCI driver played by the test: it finds the capabilities through
/// configuration space, negotiates features through the common configuration in BAR 0, sets up
/// queue 0 in guest RAM and submits descriptor chains, exactly as a guest would, through the ports
/// and the address space.
/// </summary>
internal sealed class VirtioDriver
{
    public const ulong DescriptorTable = 0x10000, AvailableRing = 0x11000, UsedRing = 0x12000;
    public const ushort QueueSize = 16;

    private readonly PciTestBench _pc;
    private readonly int _slot;
    private ushort _availableIndex;

    public VirtioDriver(PciTestBench pc, int slot, VirtioPci device)
    {
        _pc = pc;
        _slot = slot;
        Device = device;
        pc.Bus.Attach(slot, 0, device);
        pc.Firmware();
        Bar = pc.ConfigRead(slot, 0, 0x10, 4) & ~0xfu;
    }

    public VirtioPci Device { get; }

    public ulong Bar { get; }

    public ushort LastUsedIndex { get; private set; }

    public byte Status => (byte)Read(0x14, 1);

    public ulong Read(int offset, int size) => _pc.Memory.ReadUInt(new GuestPhysicalAddress(Bar + (ulong)offset), size);

    public void Write(int offset, int size, ulong value) => _pc.Memory.WriteUInt(new GuestPhysicalAddress(Bar + (ulong)offset), size, value);

    public ulong DeviceFeatures()
    {
        Write(0x00, 4, 0);
        ulong low = Read(0x04, 4);
        Write(0x00, 4, 1);
        return low | (Read(0x04, 4) << 32);
    }

    /// <summary>Virtio 1.1 §3.1.1 steps 1-6; returns the status read back after FEATURES_OK.</summary>
    public byte Negotiate(ulong features)
    {
        Write(0x14, 1, 0);
        Write(0x14, 1, VirtioPci.StatusAcknowledge);
        Write(0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver);
        Write(0x08, 4, 0);
        Write(0x0c, 4, (uint)features);
        Write(0x08, 4, 1);
        Write(0x0c, 4, features >> 32);
        Write(0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver | VirtioPci.StatusFeaturesOk);
        return Status;
    }

    /// <summary>Negotiates, sets up queue 0 at the fixed addresses and sets DRIVER_OK.</summary>
    public void Start(ulong features = 1UL << VirtioPci.FeatureVersion1, ulong descriptors = DescriptorTable)
    {
        byte status = Negotiate(features);
        if ((status & VirtioPci.StatusFeaturesOk) == 0)
        {
            throw new InvalidOperationException("device refused the features");
        }

        // A driver sets up fresh rings: nothing available, nothing used.
        _pc.Memory.Write(new GuestPhysicalAddress(AvailableRing), new byte[6 + (2 * QueueSize)]);
        _pc.Memory.Write(new GuestPhysicalAddress(UsedRing), new byte[6 + (8 * QueueSize)]);
        Write(0x16, 2, 0);
        Write(0x18, 2, QueueSize);
        Write(0x20, 4, (uint)descriptors);
        Write(0x24, 4, descriptors >> 32);
        Write(0x28, 8, AvailableRing);
        Write(0x30, 8, UsedRing);
        Write(0x1c, 2, 1);
        Write(0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver | VirtioPci.StatusFeaturesOk | VirtioPci.StatusDriverOk);
        _availableIndex = 0;
        LastUsedIndex = 0;
    }

    public void WriteDescriptor(ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        ulong d = table + (16UL * (uint)index);
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(d), 8, address);
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(d + 8), 4, length);
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(d + 12), 2, flags);
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(d + 14), 2, next);
    }

    /// <summary>Writes a chain into descriptors 0..n-1 (NEXT added), makes it available and notifies; returns the used element or null.</summary>
    public (uint Id, uint Length)? Submit(params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        for (int i = 0; i < buffers.Length; i++)
        {
            ushort flags = (ushort)((buffers[i].Writable ? 2 : 0) | (i + 1 < buffers.Length ? 1 : 0));
            WriteDescriptor(DescriptorTable, i, buffers[i].Address, buffers[i].Length, flags, (ushort)(i + 1));
        }

        return Offer(0);
    }

    /// <summary>Puts <paramref name="head"/> on the available ring, notifies queue 0 and returns the new used element, if any.</summary>
    public (uint Id, uint Length)? Offer(ushort head)
    {
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(AvailableRing + 4 + (2UL * (uint)(_availableIndex % QueueSize))), 2, head);
        _availableIndex++;
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(AvailableRing + 2), 2, _availableIndex);
        Write(VirtioPci.NotifyOffset, 2, 0);
        return TakeUsed();
    }

    public void SetAvailableIndex(ushort index)
    {
        _availableIndex = index;
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(AvailableRing + 2), 2, index);
    }

    public (uint Id, uint Length)? TakeUsed()
    {
        ushort used = (ushort)_pc.Memory.ReadUInt(new GuestPhysicalAddress(UsedRing + 2), 2);
        if (used == LastUsedIndex)
        {
            return null;
        }

        ulong e = UsedRing + 4 + (8UL * (uint)(LastUsedIndex % QueueSize));
        LastUsedIndex++;
        return ((uint)_pc.Memory.ReadUInt(new GuestPhysicalAddress(e), 4), (uint)_pc.Memory.ReadUInt(new GuestPhysicalAddress(e + 4), 4));
    }

    /// <summary>Reads (and so acknowledges) the ISR status.</summary>
    public byte ReadIsr() => (byte)Read(VirtioPci.IsrOffset, 1);

    /// <summary>The virtio capabilities as (cfg_type, bar, offset, length), walking the list from 0x34.</summary>
    public List<(int Type, int Bar, uint Offset, uint Length, int At)> Capabilities()
    {
        var caps = new List<(int, int, uint, uint, int)>();
        int at = (int)_pc.ConfigRead(_slot, 0, 0x34, 1);
        for (int guard = 0; at != 0 && guard < 48; guard++)
        {
            if (_pc.ConfigRead(_slot, 0, at, 1) == 0x09)
            {
                caps.Add(((int)_pc.ConfigRead(_slot, 0, at + 3, 1), (int)_pc.ConfigRead(_slot, 0, at + 4, 1),
                    _pc.ConfigRead(_slot, 0, at + 8, 4), _pc.ConfigRead(_slot, 0, at + 12, 4), at));
            }

            at = (int)_pc.ConfigRead(_slot, 0, at + 1, 1);
        }

        return caps;
    }
}
