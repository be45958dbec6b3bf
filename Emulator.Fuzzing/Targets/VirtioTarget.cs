using System.Buffers.Binary;
using Emulator.Devices.Virtio;
using Emulator.Machines.Pc;

namespace Emulator.Fuzzing.Targets;

/// <summary>
/// The virtio PCI devices, driven as a careless or malicious driver would: the initialization
/// sequence done right, out of order or partly; features the device never offered, renegotiated
/// after DRIVER_OK; queue sizes of 0, odd or huge; ring areas misaligned, overlapping, outside RAM
/// or over MMIO; descriptor chains that loop, run longer than the queue, point outside RAM, overlap
/// the rings they came from, put readable buffers after writable ones, or hold indirect tables that
/// nest, chain, are misaligned or enormous; available indices that jump by up to 65535; notifies for
/// queues that do not exist; device configuration reads and writes anywhere; and virtio-blk
/// requests of every type, for sectors past the end of the disk. The rings live in a per-device
/// area of guest RAM the target writes as the driver would.
/// </summary>
internal sealed class VirtioTarget(int[] slots) : IFuzzTarget
{
    private const ulong AreaSize = 0x10_0000;
    private readonly Dictionary<int, ushort> _availIndex = [];
    private readonly Dictionary<int, int> _queueSize = [];

    public string Name => "virtio";

    public void Step(FuzzGuest g)
    {
        int slot = slots[g.Random.Next(slots.Length)];
        ulong area = AreaSize * (ulong)(slot + 1);
        if (g.OneIn(4))
        {
            // Memory decoding and bus mastering on (the firmware left them on, the guest may have turned them off).
            g.ConfigWrite(slot, 0, 0x04, 2, 0x0006);
        }

        ulong bar = g.ConfigRead(slot, 0, 0x10, 4) & 0xffff_fff0u;
        switch (g.Random.Next(10))
        {
            case 0:
                _availIndex[slot] = 0;
                _queueSize[slot] = Initialize(g, bar, area, orderly: !g.OneIn(4));
                break;
            case 1:
            case 2:
                Offer(g, slot, bar, area);
                break;
            case 3:
                OfferWellFormed(g, slot, bar, area);
                break;
            case 4:
                // Feature renegotiation mid-flight: features and FEATURES_OK again while DRIVER_OK is set.
                Common(g, bar, 0x08, 4, (uint)g.Random.Next(3));
                Common(g, bar, 0x0c, 4, (uint)g.Value());
                Common(g, bar, 0x14, 1, (uint)(VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver | VirtioPci.StatusFeaturesOk | VirtioPci.StatusDriverOk));
                Notify(g, bar, 0);
                break;
            case 5:
                Common(g, bar, g.Random.Next(0x40), g.MemorySize(), g.Value());
                break;
            case 6:
                Notify(g, bar, g.OneIn(4) ? g.Random.Next(0x400) : 0);
                g.Load(bar + VirtioPci.IsrOffset, 1);
                break;
            case 7:
                if (g.OneIn(2))
                {
                    g.Store(bar + VirtioPci.DeviceConfigOffset + (ulong)g.Random.Next(0x1000), g.MemorySize(), g.Value());
                }
                else
                {
                    g.Load(bar + VirtioPci.DeviceConfigOffset + (ulong)g.Random.Next(0x1000), g.MemorySize());
                }

                break;
            case 8:
                // Indices that jump: the available index moves by up to a whole 16-bit turn.
                ushort jump = (ushort)g.Random.Next(0x10000);
                _availIndex[slot] = (ushort)(_availIndex.GetValueOrDefault(slot) + jump);
                Write16(g, area + 0x1002, _availIndex[slot]);
                Notify(g, bar, 0);
                break;
            default:
                ulong offset = (ulong)g.Random.Next((int)VirtioPci.BarSize + 0x100);
                if (g.OneIn(2))
                {
                    g.Store(bar + offset, g.MemorySize(), g.Value());
                }
                else
                {
                    g.Load(bar + offset, g.MemorySize());
                }

                break;
        }
    }

    // Returns the queue size the driver chose.
    private static int Initialize(FuzzGuest g, ulong bar, ulong area, bool orderly)
    {
        Common(g, bar, 0x14, 1, 0);
        Common(g, bar, 0x14, 1, VirtioPci.StatusAcknowledge);
        Common(g, bar, 0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver);
        Common(g, bar, 0x00, 4, 1);
        Common(g, bar, 0x04, 4, 0);
        ulong features = (1UL << VirtioPci.FeatureVersion1) | (g.OneIn(2) ? 1UL << VirtioPci.FeatureIndirectDesc : 0) | (g.OneIn(2) ? 1UL << VirtioPci.FeatureEventIdx : 0);
        if (!orderly)
        {
            features ^= g.Value();
        }

        Common(g, bar, 0x08, 4, 0);
        Common(g, bar, 0x0c, 4, (uint)features);
        Common(g, bar, 0x08, 4, 1);
        Common(g, bar, 0x0c, 4, (uint)(features >> 32));
        Common(g, bar, 0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver | VirtioPci.StatusFeaturesOk);
        g.Load(bar + VirtioPci.CommonOffset + 0x14, 1); // a driver reads FEATURES_OK back; this one carries on regardless

        Common(g, bar, 0x16, 2, orderly ? 0u : (uint)g.Random.Next(4));
        uint size = orderly ? 1u << g.Random.Next(9) : (uint)g.Value();
        Common(g, bar, 0x18, 2, size);
        ulong desc = orderly ? area : g.Address(g.OneIn(2) ? 16UL : 1UL);
        ulong avail = orderly ? area + 0x1000 : (g.OneIn(2) ? desc + (ulong)g.Random.Next(0x100) : g.Address());
        ulong used = orderly ? area + 0x2000 : (g.OneIn(2) ? avail + (ulong)g.Random.Next(0x100) : g.Address());
        Common(g, bar, 0x20, 8, desc);
        Common(g, bar, 0x28, 8, avail);
        Common(g, bar, 0x30, 8, used);
        if (orderly)
        {
            g.StoreBytes(area, new byte[0x3000]);
        }

        Common(g, bar, 0x1c, 2, 1);
        Common(g, bar, 0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver | VirtioPci.StatusFeaturesOk | VirtioPci.StatusDriverOk);
        g.Load(bar + 0x14, 1);
        return (int)(size & 0xffff);
    }

    // Lays out descriptors, some buffers and the available ring in the area's rings as the queue was
    // set up by an orderly Initialize (or wherever a disorderly one put them), then notifies.
    private void Offer(FuzzGuest g, int slot, ulong bar, ulong area)
    {
        ulong desc = area, avail = area + 0x1000, buffers = area + 0x10000;
        int size = _queueSize.GetValueOrDefault(slot, 256);
        int entries = size is > 0 and <= 256 && !g.OneIn(8) ? size : 256;
        for (int i = 0; i < entries; i++)
        {
            if (i > 0 && !g.OneIn(4))
            {
                // An ordinary descriptor: a buffer in the area, readable or writable, maybe chained on.
                WriteDescriptor(g, desc, i, buffers + (ulong)(g.Random.Next(0x800) * 16), (uint)g.Random.Next(1, 0x1000), (ushort)g.Random.Next(4), (ushort)((i + 1) % entries));
                continue;
            }

            ulong address = buffers + (ulong)(g.Random.Next(0x800) * 16);
            uint length = (uint)g.Random.Next(1, 0x1000);
            ushort flags = (ushort)g.Random.Next(2);
            ushort next = (ushort)(i + 1);
            switch (g.Random.Next(12))
            {
                case 0:
                    address = g.Address();
                    break;
                case 1:
                    length = (uint)g.Value();
                    break;
                case 2:
                    next = (ushort)g.Random.Next(i + 1); // a loop back
                    flags |= 1;
                    break;
                case 3:
                    next = (ushort)g.Random.Next(entries, 0x10000);
                    flags |= 1;
                    break;
                case 4:
                    // Over the rings themselves: the device writes into its own descriptor table or used ring.
                    address = area + (ulong)g.Random.Next(0x3000);
                    flags |= 2;
                    break;
                case 5:
                    flags = (ushort)g.Random.Next(0x10000);
                    break;
                case 6:
                    flags = 4; // indirect
                    length = g.OneIn(2) ? (uint)(16 * g.Random.Next(1, 64)) : (uint)g.Value();
                    address = g.OneIn(2) ? buffers + 0x8000 : g.Address();
                    WriteIndirectTable(g, buffers + 0x8000, buffers);
                    break;
                case 7:
                    flags = 1;
                    next = (ushort)((i + 1) % entries); // a chain through the whole table and around
                    break;
                default:
                    flags |= (ushort)(g.Random.Next(2) == 0 ? 1 : 2);
                    break;
            }

            WriteDescriptor(g, desc, i, address, length, flags, next);
        }

        // A request header where a virtio-blk would look for one: any type, any sector.
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, g.Random.Next(4) switch { 0 => 0u, 1 => 1u, 2 => (uint)g.Random.Next(16), _ => (uint)g.Value() });
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], g.OneIn(2) ? (ulong)g.Random.Next(64) : g.Value());
        g.StoreBytes(buffers + (ulong)(g.Random.Next(0x800) * 16), header);
        WriteDescriptor(g, desc, 0, buffers, 16, 1, 1);

        ushort index = _availIndex.GetValueOrDefault(slot);
        int offered = g.Random.Next(1, 8);
        for (int k = 0; k < offered; k++)
        {
            Write16(g, avail + 4 + (2UL * (uint)((index + k) % entries)), (ushort)(g.OneIn(4) ? g.Random.Next(0x10000) : g.Random.Next(entries)));
        }

        index = (ushort)(index + offered);
        _availIndex[slot] = index;
        Write16(g, avail, (ushort)g.Random.Next(2)); // flags: NO_INTERRUPT or not
        Write16(g, avail + 4 + (2UL * (uint)entries), (ushort)g.Random.Next(0x10000)); // used_event
        Write16(g, avail + 2, index);
        Notify(g, bar, 0);
        g.Load(bar + VirtioPci.IsrOffset, 1);
    }

    // What a correct driver does: one chain per request (a virtio-blk header, whole sectors inside
    // the disk or just past it, a status byte; or one writable buffer), heads in order, so the device
    // really reads, writes and completes requests between the hostile ones.
    private void OfferWellFormed(FuzzGuest g, int slot, ulong bar, ulong area)
    {
        ulong desc = area, avail = area + 0x1000, buffers = area + 0x10000;
        int size = _queueSize.GetValueOrDefault(slot, 256);
        if (size is <= 0 or > 256 || !int.IsPow2(size))
        {
            return;
        }

        ushort index = _availIndex.GetValueOrDefault(slot);
        int requests = g.Random.Next(1, Math.Max(2, size / 3));
        Span<byte> h = stackalloc byte[16];
        for (int r = 0; r < requests; r++)
        {
            int head = (3 * r) % size;
            ulong header = buffers + (ulong)(r * 0x1000);
            bool blk = slot != PcPci.RngSlot;
            if (blk)
            {
                h.Clear();
                BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)g.Random.Next(2));
                BinaryPrimitives.WriteUInt64LittleEndian(h[8..], (ulong)g.Random.Next(70));
                g.StoreBytes(header, h);
                bool write = BinaryPrimitives.ReadUInt32LittleEndian(h) == 1;
                WriteDescriptor(g, desc, head, header, 16, 1, (ushort)((head + 1) % size));
                WriteDescriptor(g, desc, (head + 1) % size, header + 16, (uint)(512 * g.Random.Next(1, 4)), (ushort)(write ? 1 : 3), (ushort)((head + 2) % size));
                WriteDescriptor(g, desc, (head + 2) % size, header + 0x800, 1, 2, 0);
            }
            else
            {
                WriteDescriptor(g, desc, head, header, (uint)g.Random.Next(1, 0x1000), 2, 0);
            }

            Write16(g, avail + 4 + (2UL * (uint)((index + r) % size)), (ushort)head);
        }

        index = (ushort)(index + requests);
        _availIndex[slot] = index;
        Write16(g, avail, 0);
        Write16(g, avail + 2, index);
        Notify(g, bar, 0);
        g.Load(bar + VirtioPci.IsrOffset, 1);
    }

    private static void WriteIndirectTable(FuzzGuest g, ulong table, ulong buffers)
    {
        int n = g.Random.Next(1, 64);
        for (int i = 0; i < n; i++)
        {
            ushort flags = (ushort)(g.OneIn(6) ? g.Random.Next(8) : 1 | (g.OneIn(2) ? 2 : 0));
            ushort next = (ushort)(g.OneIn(6) ? g.Random.Next(0x10000) : i + 1);
            ulong address = g.OneIn(8) ? g.Address() : buffers + (ulong)(g.Random.Next(0x800) * 16);
            WriteDescriptor(g, table, i, address, (uint)(g.OneIn(8) ? g.Value() : (ulong)g.Random.Next(0x1000)), flags, next);
        }
    }

    private static void WriteDescriptor(FuzzGuest g, ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> d = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
        g.StoreBytes(table + (16UL * (uint)index), d);
    }

    private static void Write16(FuzzGuest g, ulong address, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        g.StoreBytes(address, b);
    }

    private static void Common(FuzzGuest g, ulong bar, int offset, int size, ulong value) =>
        g.Store(bar + VirtioPci.CommonOffset + (ulong)offset, size, value);

    private static void Notify(FuzzGuest g, ulong bar, int queue) =>
        g.Store(bar + VirtioPci.NotifyOffset + (ulong)(queue * VirtioPci.NotifyOffMultiplier), 2, (ulong)queue);
}
