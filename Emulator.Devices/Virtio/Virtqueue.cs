using Emulator.Core.Memory;

namespace Emulator.Devices.Virtio;

/// <summary>
/// A split virtqueue (Virtio 1.1 §2.6): a descriptor table, the driver's available ring and the
/// device's used ring, all in guest RAM at addresses the driver chose. Everything read from the
/// guest is checked before use: ring and buffer addresses must lie in RAM, head and next indices
/// inside the table, chains may not loop or exceed the queue size, indirect tables (§2.6.5.3) may
/// not nest, and readable buffers may not follow writable ones (§2.6.4.2). A broken ring throws
/// <see cref="VirtioProtocolException"/>; a broken chain on a sound ring throws its subclass
/// <see cref="MalformedChainException"/> after the chain has been taken, so a device may drop just
/// that chain.
/// </summary>
public sealed class Virtqueue
{
    /// <summary>Largest queue size a device offers.</summary>
    public const ushort MaxSize = 256;

    // Descriptor flags (Virtio 1.1 §2.6.5).
    private const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;

    // Available ring flag (§2.6.7): the driver does not want used-buffer notifications.
    private const ushort AvailNoInterrupt = 1;

    private const int DescriptorSize = 16;

    // An indirect table may hold more descriptors than the queue (§2.6.5.3.1 bounds it only by the
    // chain); this cap keeps a hostile table from costing more than a normal request.
    private const uint MaxIndirectDescriptors = 1024;

    /// <summary>
    /// Chains served per notification at most. A driver has at most a queue's worth outstanding, but
    /// a hostile one can lay its rings so that the device's own writes (used entries, buffer data)
    /// keep advancing the available index; the limit keeps one notification from running for ever.
    /// A driver that adds buffers while the device works notifies again for them.
    /// </summary>
    public const int BatchLimit = 4 * MaxSize;

    private readonly AddressSpace _memory;
    private ushort _usedAtLastCheck;
    // Used-ring entries written after NextUsed but not yet published by the ring's idx.
    private ushort _staged;
    private int _poppedInBatch;

    /// <summary>Creates a disabled queue offering <paramref name="maxSize"/> entries.</summary>
    public Virtqueue(AddressSpace memory, ushort maxSize = MaxSize)
    {
        _memory = memory;
        MaxQueueSize = maxSize;
        Reset();
    }

    /// <summary>The largest size the driver may choose.</summary>
    public ushort MaxQueueSize { get; }

    /// <summary>Queue size chosen by the driver (a power of two, at most <see cref="MaxQueueSize"/>).</summary>
    public ushort Size { get; set; }

    /// <summary>Guest physical address of the descriptor table.</summary>
    public ulong DescriptorTable { get; set; }

    /// <summary>Guest physical address of the available ring ("driver area").</summary>
    public ulong AvailableRing { get; set; }

    /// <summary>Guest physical address of the used ring ("device area").</summary>
    public ulong UsedRing { get; set; }

    /// <summary>True once the driver enabled the queue.</summary>
    public bool Enabled { get; set; }

    /// <summary>True when VIRTIO_F_EVENT_IDX was negotiated (§2.6.7.2, §2.6.10.2).</summary>
    public bool EventIndex { get; set; }

    /// <summary>True when VIRTIO_F_INDIRECT_DESC was negotiated.</summary>
    public bool IndirectDescriptors { get; set; }

    /// <summary>Index of the next available-ring entry the device will consume.</summary>
    public ushort NextAvailable { get; set; }

    /// <summary>Index of the next used-ring entry the device will fill (the used ring's idx).</summary>
    public ushort NextUsed { get; set; }

    /// <summary>
    /// Set by a device that holds back the used-buffer notification for what it has just
    /// published: the transport does not interrupt for this queue at the end of the notification,
    /// and the device asks for the check later (<see cref="IVirtioTransport.NotifyUsed"/>). The
    /// driver's suppression (§2.6.7) is applied then, over everything published since the last
    /// check, so a deferred notification is never lost.
    /// </summary>
    public bool NotificationHeld { get; set; }

    /// <summary>Used entries published since the last <see cref="NeedsInterrupt"/> check.</summary>
    public int UsedSinceCheck => (ushort)(NextUsed - _usedAtLastCheck);

    /// <summary>True when the last batch stopped at <see cref="BatchLimit"/>.</summary>
    public bool BatchLimitReached { get; private set; }

    /// <summary>Starts counting the chains served for one notification.</summary>
    public void BeginBatch()
    {
        _poppedInBatch = 0;
        BatchLimitReached = false;
    }

    /// <summary>Disables the queue and forgets the driver's settings.</summary>
    public void Reset()
    {
        Size = MaxQueueSize;
        DescriptorTable = AvailableRing = UsedRing = 0;
        Enabled = EventIndex = IndirectDescriptors = NotificationHeld = false;
        NextAvailable = NextUsed = _usedAtLastCheck = _staged = 0;
    }

    /// <summary>Checks the driver's settings when it enables the queue (§2.6: alignment 16/2/4, sizes, RAM).</summary>
    public void Validate()
    {
        if (Size == 0 || Size > MaxQueueSize || !ushort.IsPow2(Size))
        {
            throw new VirtioProtocolException($"queue size {Size} is not a power of two up to {MaxQueueSize}");
        }

        if ((DescriptorTable & 15) != 0 || (AvailableRing & 1) != 0 || (UsedRing & 3) != 0)
        {
            throw new VirtioProtocolException("a virtqueue area is misaligned (Virtio 1.1 §2.6 table: 16, 2 and 4 bytes)");
        }

        if (!_memory.IsRam(new GuestPhysicalAddress(DescriptorTable), (ulong)DescriptorSize * Size)
            || !_memory.IsRam(new GuestPhysicalAddress(AvailableRing), 6 + (2UL * Size))
            || !_memory.IsRam(new GuestPhysicalAddress(UsedRing), 6 + (8UL * Size)))
        {
            throw new VirtioProtocolException("a virtqueue area lies outside guest RAM");
        }
    }

    /// <summary>Takes the next available descriptor chain, or returns null when the driver has offered none.</summary>
    public DescriptorChain? Pop() => Pop(rejectOverlap: false);

    /// <summary>
    /// Takes the next available descriptor chain, or returns null when the driver has offered none.
    /// With <paramref name="rejectOverlap"/> a chain whose buffers overlap each other or this queue's
    /// own descriptor table and rings is malformed too: nothing a device writes may land on the
    /// structures it is still reading, and no byte is both source and destination of one request.
    /// </summary>
    public DescriptorChain? Pop(bool rejectOverlap)
    {
        Validate();
        ushort availableIndex = Read16(AvailableRing + 2);
        if (availableIndex == NextAvailable)
        {
            return null;
        }

        if (++_poppedInBatch > BatchLimit)
        {
            BatchLimitReached = true;
            return null;
        }

        if ((ushort)(availableIndex - NextAvailable) > Size)
        {
            throw new VirtioProtocolException($"available index {availableIndex} is more than a queue ahead of {NextAvailable}");
        }

        // §2.6.6: the ring entry must be read only after idx; x86 keeps loads in order.
        ushort head = Read16(AvailableRing + 4 + (2UL * (uint)(NextAvailable % Size)));
        NextAvailable++;
        if (EventIndex)
        {
            // avail_event (§2.6.10.2): ask to be notified when the driver makes the next buffer available.
            _memory.WriteUInt(new GuestPhysicalAddress(UsedRing + 4 + (8UL * Size)), 2, NextAvailable);
        }

        return Chain(head, rejectOverlap);
    }

    /// <summary>
    /// The chain at <paramref name="head"/> walked again, checked as <see cref="Pop(bool)"/> checks it,
    /// without touching the rings: a device restored from a snapshot takes back the chains it held.
    /// Throws <see cref="VirtioProtocolException"/> when the chain is no longer sound.
    /// </summary>
    public DescriptorChain Rewalk(ushort head, bool rejectOverlap)
    {
        Validate();
        return Chain(head, rejectOverlap);
    }

    // The chain at a head index taken from the ring or saved in a snapshot, walked and checked.
    private DescriptorChain Chain(ushort head, bool rejectOverlap)
    {
        if (head >= Size)
        {
            throw new MalformedChainException(null, $"head descriptor index {head} is outside a table of {Size}");
        }

        List<VirtqueueBuffer> buffers = Walk(head);
        if (rejectOverlap)
        {
            RejectOverlap(head, buffers);
        }

        return new DescriptorChain(_memory, head, buffers);
    }

    /// <summary>Returns the chain at <paramref name="head"/> to the driver with <paramref name="written"/> bytes written (§2.6.8).</summary>
    public void PushUsed(ushort head, uint written)
    {
        StageUsed(head, written);
        PublishUsed();
    }

    /// <summary>
    /// Writes the used-ring entry for the chain at <paramref name="head"/> after those already
    /// staged, without publishing it: the driver sees it with the others at <see cref="PublishUsed"/>.
    /// For buffers the driver must find used together, such as the several buffers of one
    /// mergeable receive packet (§5.1.6.4: at least num_buffers must be observed as used at once;
    /// Linux drops the packet, "buffers missing", when it finds the first without the rest).
    /// </summary>
    public void StageUsed(ushort head, uint written)
    {
        if (_staged >= Size)
        {
            throw new VirtioProtocolException($"more than a queue ({Size}) of used entries staged at once");
        }

        ulong entry = UsedRing + 4 + (8UL * (uint)((ushort)(NextUsed + _staged) % Size));
        _memory.WriteUInt(new GuestPhysicalAddress(entry), 4, head);
        _memory.WriteUInt(new GuestPhysicalAddress(entry + 4), 4, written);
        _staged++;
    }

    /// <summary>Publishes the staged used entries with one write of the used ring's idx.</summary>
    public void PublishUsed()
    {
        if (_staged == 0)
        {
            return;
        }

        // §2.6.8.2: the entries must be visible before the index that publishes them.
        Interlocked.MemoryBarrier();
        NextUsed += _staged;
        _staged = 0;
        _memory.WriteUInt(new GuestPhysicalAddress(UsedRing + 2), 2, NextUsed);
    }

    /// <summary>
    /// After a batch of <see cref="PushUsed"/>: true when the driver wants a used-buffer
    /// notification now, following VIRTQ_AVAIL_F_NO_INTERRUPT (§2.6.7.1) or, with EVENT_IDX, the
    /// used_event index (§2.6.7.2: notify if used_event lies in [old idx, new idx)).
    /// </summary>
    public bool NeedsInterrupt()
    {
        ushort old = _usedAtLastCheck;
        ushort now = NextUsed;
        _usedAtLastCheck = now;
        if (old == now)
        {
            return false;
        }

        Interlocked.MemoryBarrier();
        if (EventIndex)
        {
            ushort usedEvent = Read16(AvailableRing + 4 + (2UL * Size));
            return (ushort)(now - usedEvent - 1) < (ushort)(now - old);
        }

        return (Read16(AvailableRing) & AvailNoInterrupt) == 0;
    }

    /// <summary>Writes the driver-visible progress for saved state.</summary>
    public void Save(BinaryWriter w)
    {
        w.Write(Size);
        w.Write(DescriptorTable);
        w.Write(AvailableRing);
        w.Write(UsedRing);
        w.Write(Enabled);
        w.Write(EventIndex);
        w.Write(IndirectDescriptors);
        w.Write(NextAvailable);
        w.Write(NextUsed);
        w.Write(_usedAtLastCheck);
    }

    /// <summary>Reads what <see cref="Save"/> wrote.</summary>
    public void Restore(BinaryReader r)
    {
        Size = r.ReadUInt16();
        DescriptorTable = r.ReadUInt64();
        AvailableRing = r.ReadUInt64();
        UsedRing = r.ReadUInt64();
        Enabled = r.ReadBoolean();
        EventIndex = r.ReadBoolean();
        IndirectDescriptors = r.ReadBoolean();
        NextAvailable = r.ReadUInt16();
        NextUsed = r.ReadUInt16();
        _usedAtLastCheck = r.ReadUInt16();
    }

    private List<VirtqueueBuffer> Walk(ushort head)
    {
        var buffers = new List<VirtqueueBuffer>();
        ulong table = DescriptorTable;
        uint tableSize = Size;
        uint index = head;
        uint visited = 0;
        bool indirect = false;
        bool sawWritable = false;
        while (true)
        {
            if (index >= tableSize)
            {
                throw new MalformedChainException(head, $"descriptor index {index} is outside a table of {tableSize}");
            }

            // A chain visits each descriptor at most once, so more steps than entries means a loop (§2.6.5.2).
            if (++visited > tableSize)
            {
                throw new MalformedChainException(head, "descriptor chain loops or is longer than its table");
            }

            ulong d = table + (DescriptorSize * (ulong)index);
            ulong address = _memory.ReadUInt(new GuestPhysicalAddress(d), 8);
            uint length = (uint)_memory.ReadUInt(new GuestPhysicalAddress(d + 8), 4);
            ushort flags = Read16(d + 12);
            ushort next = Read16(d + 14);

            if ((flags & DescIndirect) != 0)
            {
                // §2.6.5.3.1: only with the feature, never inside an indirect table, never with NEXT,
                // a whole number of descriptors.
                if (!IndirectDescriptors || indirect || (flags & DescNext) != 0 || length == 0 || length % DescriptorSize != 0
                    || length / DescriptorSize > MaxIndirectDescriptors)
                {
                    throw new MalformedChainException(head, "invalid indirect descriptor");
                }

                if (!_memory.IsRam(new GuestPhysicalAddress(address), length) || (address & 15) != 0)
                {
                    throw new MalformedChainException(head, $"indirect table at 0x{address:x} lies outside guest RAM or is misaligned");
                }

                indirect = true;
                table = address;
                tableSize = length / DescriptorSize;
                index = 0;
                visited = 0;
                continue;
            }

            bool writable = (flags & DescWrite) != 0;
            if (!writable && sawWritable)
            {
                throw new MalformedChainException(head, "a device-readable descriptor follows a device-writable one");
            }

            sawWritable |= writable;
            if (length != 0 && !_memory.IsRam(new GuestPhysicalAddress(address), length))
            {
                throw new MalformedChainException(head, $"buffer 0x{address:x}+0x{length:x} lies outside guest RAM");
            }

            buffers.Add(new VirtqueueBuffer(address, length, writable));
            if ((flags & DescNext) == 0)
            {
                return buffers;
            }

            index = next;
        }
    }

    private void RejectOverlap(ushort head, List<VirtqueueBuffer> buffers)
    {
        // Sorted by start, two ranges overlap exactly when one starts before its predecessor ends.
        var ranges = new List<(ulong Start, ulong End)>(buffers.Count + 3)
        {
            (DescriptorTable, DescriptorTable + ((ulong)DescriptorSize * Size)),
            (AvailableRing, AvailableRing + 6 + (2UL * Size)),
            (UsedRing, UsedRing + 6 + (8UL * Size)),
        };
        foreach (VirtqueueBuffer b in buffers)
        {
            if (b.Length != 0)
            {
                ranges.Add((b.Address, b.Address + b.Length));
            }
        }

        ranges.Sort();
        for (int i = 1; i < ranges.Count; i++)
        {
            if (ranges[i].Start < ranges[i - 1].End)
            {
                throw new MalformedChainException(head, $"buffer 0x{ranges[i].Start:x} overlaps another buffer of its chain or the queue's own rings");
            }
        }
    }

    private ushort Read16(ulong address) => (ushort)_memory.ReadUInt(new GuestPhysicalAddress(address), 2);
}
