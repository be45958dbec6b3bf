using System.Buffers;
using System.Buffers.Binary;
using Emulator.Core.Machine;
using Emulator.Core.Net;
using Emulator.Core.Time;
using Emulator.Devices.Net;

namespace Emulator.Devices.Virtio;

/// <summary>
/// A virtio network card (Virtio 1.1 §5.1, device type 1) over an <see cref="INetBackend"/>.
/// Queue 0 receives, queue 1 transmits; there is no control queue and no multiqueue. Offered
/// features: MAC (the address in configuration space), STATUS (link up/down), MTU, MRG_RXBUF
/// (a received frame may fill several receive buffers) and CSUM (the device completes a
/// transmitted packet's TCP/UDP checksum, §5.1.6.2), and for received frames GUEST_CSUM (checksums
/// validated on the host, DATA_VALID) and GUEST_TSO4 (a batch's consecutive TCP segments joined into
/// one GSO packet, see <see cref="TcpReceiveCoalescer"/>). Transmit segmentation (HOST_TSO/UFO) is
/// not offered, so every transmitted frame is a plain Ethernet frame of at most MTU + 18 bytes
/// (header and a VLAN tag).
/// <para>
/// Transmit runs on the vCPU that notifies the queue: each chain's frame is copied out of guest RAM
/// and handed to the backend. Received frames are taken by <see cref="Receive"/> into a queue of
/// their own (its own lock, so a backend may hand them over while holding its locks) and delivered
/// by <see cref="Deliver"/>, which takes the machine's device lock and asks the transport to service
/// the receive queue: the guest's buffers are filled and one interrupt covers the batch. Frames a
/// backend answers with while the card transmits (libslirp's ACKs) are delivered when the transmit
/// batch ends, so the guest takes its transmit completions and those answers in one interrupt.
/// Frames wait (bounded) while the guest has posted too few buffers, and are dropped when the driver
/// is not running.
/// </para>
/// <para>
/// Holding back bare acknowledgements: when a transmit batch is answered and every answer is a bare
/// TCP ACK (<see cref="PureTcpAck"/>), nobody waits for it, and the card holds the answers and the
/// transmit completions' interrupt for up to <see cref="AnswerHoldNanoseconds"/> (with a machine
/// timer service), delivering them together with what later batches produce. A guest streaming data out
/// then takes one interrupt for several segments instead of one per segment, and its TCP, finding
/// data still unacknowledged, sends full segments (Nagle) instead of one per write. Anything else
/// (data, SYN/FIN/RST, ARP, DHCP, DNS, ICMP), frames from the backend's own thread, and a hold that
/// has gathered <see cref="MaxHeldAnswers"/> answers or <see cref="MaxHeldCompletions"/> transmit
/// completions go to the guest at once, taking whatever was held with them. The used-buffer
/// notification is only delayed, never dropped: the driver's suppression is applied when the hold
/// ends, over everything published meanwhile (§2.6.7).
/// </para>
/// <para>
/// The guest is untrusted: a chain that loops, points outside RAM, overlaps itself or the queue's
/// rings, carries an oversized or runt frame, or asks for an offload that was not negotiated is
/// returned to the driver unused, counted in <see cref="Counters"/>, and the card keeps working.
/// </para>
/// </summary>
public sealed class VirtioNet : IVirtioDevice, IVirtioTransportAware, INetReceiver
{
    /// <summary>Queue indices (§5.1.2).</summary>
    public const int RxQueue = 0, TxQueue = 1;

    /// <summary>Feature bits (§5.1.3).</summary>
    public const int FeatureCsum = 0, FeatureGuestCsum = 1, FeatureMtu = 3, FeatureMac = 5, FeatureGuestTso4 = 7, FeatureMrgRxbuf = 15, FeatureStatus = 16;

    /// <summary>struct virtio_net_hdr (§5.1.6) as a VIRTIO_F_VERSION_1 driver sees it: num_buffers is always present.</summary>
    public const int HeaderSize = 12;

    /// <summary>virtio_net_hdr flags and gso_type values (§5.1.6).</summary>
    public const byte HeaderNeedsCsum = 1, HeaderDataValid = 2, GsoNone = 0, GsoTcpV4 = 1;

    /// <summary>Configuration status bit (§5.1.4).</summary>
    public const ushort StatusLinkUp = 1;

    /// <summary>Ethernet header and an 802.1Q tag: a frame may be this much longer than the MTU.</summary>
    public const int LinkHeaderAllowance = 14 + 4;

    /// <summary>The smallest frame: an Ethernet header.</summary>
    public const int MinFrameLength = 14;

    /// <summary>The MTU range the card accepts (68 is IPv4's minimum; the upper bound is what libslirp takes).</summary>
    public const int MinMtu = 68, MaxMtu = 65520;

    /// <summary>Received frames held while the guest has no buffers, at most this many ...</summary>
    public const int MaxPendingFrames = 4096;

    /// <summary>... and at most this many bytes.</summary>
    public const int MaxPendingBytes = 32 << 20;

    /// <summary>
    /// How long bare acknowledgements answering a transmit may be held back, at most. Chosen by
    /// scripts/net-bench.py under the software CPU: a guest streaming out through busybox nc took
    /// 0.23 CPU s/MiB answered at once, 0.18 with 0.5 ms and 0.15 with 1 ms (medians of three),
    /// with host-to-guest and HTTP no worse.
    /// </summary>
    public const long AnswerHoldNanoseconds = 1_000_000;

    /// <summary>Held answers that end a hold at once: a fast guest keeps its window moving.</summary>
    public const int MaxHeldAnswers = 16;

    /// <summary>Transmit completions that end a hold at once: a fast guest keeps buffers in its transmit ring.</summary>
    public const int MaxHeldCompletions = 64;

    private const int ConfigLength = 12;

    private readonly INetBackend _backend;
    private readonly Lock _deviceLock;
    private readonly GuestErrorLog _errors;
    private readonly byte[] _mac;
    private readonly byte[] _txFrame;
    // Joins received TCP segments (used under the device lock only).
    private readonly TcpReceiveCoalescer _coalescer;
    // Under the device lock: the virtio header of the packet being delivered, and how many waiting
    // frames the coalescer's finished packet holds while it waits for receive buffers (0: none).
    private readonly byte[] _rxHeader = new byte[HeaderSize];
    private int _prepared;
    // Received frames not yet in the guest's buffers, guarded by _rxLock (never held while taking the device lock).
    private readonly Lock _rxLock = new();
    private readonly Queue<(byte[] Data, int Length, bool Urgent)> _pending = new();
    private int _pendingBytes;
    // Frames in _pending that are not bare TCP ACKs (under _rxLock).
    private int _pendingUrgent;
    // Ends a hold of bare ACKs and transmit completions (null: nothing is ever held).
    private readonly VirtualTimer? _holdTimer;
    private Virtqueue? _tx;
    private ulong _rxDroppedOnArrival;
    private readonly List<DescriptorChain> _held = [];
    private IVirtioTransport? _transport;
    private Virtqueue? _rx;
    private ulong _features;
    private volatile bool _driverRunning;
    private bool _started;
    private volatile bool _linkUp = true;
    // True while Transmit runs (under the device lock): frames the backend answers with are delivered after the batch.
    private bool _transmitting;
    private NetCounters _counters;

    /// <summary>Creates the card; takes ownership of <paramref name="backend"/>.</summary>
    /// <param name="backend">Where frames go and come from.</param>
    /// <param name="deviceLock">The machine's device lock, taken when the backend delivers a frame.</param>
    /// <param name="mac">The 6-byte MAC address shown in configuration space.</param>
    /// <param name="mtu">The MTU shown in configuration space (<see cref="MinMtu"/> to <see cref="MaxMtu"/>).</param>
    /// <param name="errors">Where malformed chains the driver offers are reported (the machine's log).</param>
    /// <param name="timers">
    /// The machine's timers (sharing <paramref name="deviceLock"/>), which end holds of bare
    /// acknowledgements; without them every answer goes to the guest at once.
    /// </param>
    public VirtioNet(INetBackend backend, Lock deviceLock, ReadOnlySpan<byte> mac, int mtu = 1500, GuestErrorLog? errors = null, TimerService? timers = null)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(mac.Length, 6, nameof(mac));
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, MinMtu);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mtu, MaxMtu);
        _backend = backend;
        _deviceLock = deviceLock;
        _errors = errors ?? new GuestErrorLog();
        _mac = mac.ToArray();
        Mtu = mtu;
        _txFrame = new byte[MaxFrameLength];
        _coalescer = new TcpReceiveCoalescer();
        _holdTimer = timers?.CreateTimer("virtio-net answer hold", EndHold);
    }

    /// <summary>The MTU the guest is told.</summary>
    public int Mtu { get; }

    /// <summary>The longest frame the card carries in either direction.</summary>
    public int MaxFrameLength => Mtu + LinkHeaderAllowance;

    /// <summary>The MAC address.</summary>
    public ReadOnlySpan<byte> Mac => _mac;

    /// <summary>The backend's name, for messages.</summary>
    public string BackendName => _backend.Name;

    /// <summary>What has gone through the card and what was dropped, as of now.</summary>
    public NetCounters Counters
    {
        get
        {
            lock (_deviceLock)
            {
                NetCounters c = _counters;
                lock (_rxLock)
                {
                    c.RxDropped += _rxDroppedOnArrival;
                }

                return c;
            }
        }
    }

    /// <summary>
    /// The link as the guest sees it (VIRTIO_NET_S_LINK_UP). Setting it sends a configuration
    /// change interrupt; while the link is down received frames are dropped and transmitted ones discarded.
    /// </summary>
    public bool LinkUp
    {
        get => _linkUp;
        set
        {
            lock (_deviceLock)
            {
                if (_linkUp != value)
                {
                    _linkUp = value;
                    _transport?.ConfigurationChanged();
                }
            }
        }
    }

    /// <inheritdoc/>
    public int DeviceType => 1;

    /// <inheritdoc/>
    public uint PciClassCode => 0x02_00_00; // network controller, Ethernet

    /// <inheritdoc/>
    /// <remarks>
    /// GUEST_CSUM and GUEST_TSO4 (which requires it, §5.1.3.1) are offered for received frames: the
    /// card validates TCP and UDP checksums on the host (<see cref="ReceiveChecksum"/>) and joins a
    /// batch's consecutive TCP segments into one (<see cref="TcpReceiveCoalescer"/>), so the guest
    /// neither sums every byte again nor takes every segment as a packet of its own.
    /// </remarks>
    public ulong Features => (1UL << FeatureCsum) | (1UL << FeatureGuestCsum) | (1UL << FeatureMtu) | (1UL << FeatureMac)
        | (1UL << FeatureGuestTso4) | (1UL << FeatureMrgRxbuf) | (1UL << FeatureStatus);

    /// <inheritdoc/>
    public int QueueCount => 2;

    /// <inheritdoc/>
    public int ConfigSize => ConfigLength;

    /// <inheritdoc/>
    public void Attach(IVirtioTransport transport) => _transport = transport;

    /// <summary>Starts the backend: from now on received frames reach the guest.</summary>
    public void Start()
    {
        if (!_started)
        {
            _started = true;
            _backend.Start(this);
        }
    }

    /// <inheritdoc/>
    public void ReadConfig(int offset, Span<byte> data)
    {
        // struct virtio_net_config (§5.1.4): mac[6], status, max_virtqueue_pairs, mtu.
        Span<byte> config = stackalloc byte[ConfigLength];
        _mac.CopyTo(config);
        BinaryPrimitives.WriteUInt16LittleEndian(config[6..], _linkUp ? StatusLinkUp : (ushort)0);
        BinaryPrimitives.WriteUInt16LittleEndian(config[8..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(config[10..], (ushort)Mtu);
        config.Slice(offset, data.Length).CopyTo(data);
    }

    /// <inheritdoc/>
    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        // §5.1.4.2: a modern driver does not write the MAC; every field here is read-only.
    }

    /// <inheritdoc/>
    public void ProcessQueue(int index, Virtqueue queue, ulong negotiatedFeatures)
    {
        _features = negotiatedFeatures;
        _driverRunning = true;
        if (index == RxQueue)
        {
            _rx = queue;
            FillReceiveBuffers(queue);
        }
        else if (index == TxQueue)
        {
            _tx = queue;
            Transmit(queue);
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _holdTimer?.Cancel();
        _prepared = 0;
        _rx = _tx = null;
        _features = 0;
        _held.Clear();
        lock (_rxLock)
        {
            // Under the receive lock, so that no frame checked against the old state lands after the drop.
            _driverRunning = false;
            DropPending();
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public void Dispose() => _backend.Dispose();

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <inheritdoc/>
    /// <remarks>
    /// The negotiated features, the link, the counters, the receive chains taken from the driver
    /// and held for a frame that did not fit yet (by head index: they are walked again from guest
    /// RAM on restore), and the frames from the host still waiting for receive buffers. The
    /// backend's own state (libslirp's connections, a tap's queue) is the host's and is not saved.
    /// </remarks>
    public void SaveState(BinaryWriter writer)
    {
        writer.Write(_features);
        writer.Write(_driverRunning);
        writer.Write(_linkUp);
        foreach (ulong c in (ulong[])[_counters.TxFrames, _counters.TxBytes, _counters.TxDropped, _counters.RxFrames, _counters.RxBytes, _counters.RxDropped, _counters.MalformedChains])
        {
            writer.Write(c);
        }

        writer.Write(_rx is not null);
        writer.Write(_held.Count);
        foreach (DescriptorChain chain in _held)
        {
            writer.Write(chain.Head);
        }

        lock (_rxLock)
        {
            writer.Write(_pending.Count);
            foreach ((byte[] data, int length, _) in _pending)
            {
                writer.Write(length);
                writer.Write(data, 0, length);
            }
        }
    }

    /// <inheritdoc/>
    public void RestoreState(BinaryReader reader, int version, IReadOnlyList<Virtqueue> queues)
    {
        if (version != StateVersion)
        {
            throw new InvalidDataException($"virtio-net: state version {version} is not supported (expected {StateVersion})");
        }

        Reset();
        _features = reader.ReadUInt64();
        bool driverRunning = reader.ReadBoolean();
        _linkUp = reader.ReadBoolean();
        _counters = new NetCounters
        {
            TxFrames = reader.ReadUInt64(),
            TxBytes = reader.ReadUInt64(),
            TxDropped = reader.ReadUInt64(),
            RxFrames = reader.ReadUInt64(),
            RxBytes = reader.ReadUInt64(),
            RxDropped = reader.ReadUInt64(),
            MalformedChains = reader.ReadUInt64(),
        };
        _rx = reader.ReadBoolean() ? queues[RxQueue] : null;
        int held = reader.ReadInt32();
        if (held < 0 || held > Virtqueue.MaxSize || (held > 0 && _rx is null))
        {
            throw new InvalidDataException($"virtio-net: {held} held receive chains");
        }

        for (int i = 0; i < held; i++)
        {
            try
            {
                _held.Add(_rx!.Rewalk(reader.ReadUInt16(), rejectOverlap: true));
            }
            catch (VirtioProtocolException e)
            {
                throw new InvalidDataException($"virtio-net: a held receive chain: {e.Message}", e);
            }
        }

        int frames = reader.ReadInt32();
        if (frames is < 0 or > MaxPendingFrames)
        {
            throw new InvalidDataException($"virtio-net: {frames} frames waiting");
        }

        lock (_rxLock)
        {
            _driverRunning = driverRunning;
            for (int i = 0; i < frames; i++)
            {
                int length = reader.ReadInt32();
                if (length < MinFrameLength || length > MaxFrameLength || _pendingBytes + length > MaxPendingBytes)
                {
                    throw new InvalidDataException($"virtio-net: a waiting frame of {length} bytes");
                }

                byte[] copy = ArrayPool<byte>.Shared.Rent(length);
                if (reader.Read(copy, 0, length) != length)
                {
                    throw new EndOfStreamException();
                }

                // Restored frames go out at the first chance: a held-back ACK's hold is not saved.
                _pending.Enqueue((copy, length, true));
                _pendingBytes += length;
                _pendingUrgent++;
            }
        }
    }

    /// <summary>A frame from the host: copied into the receive queue (bounded), or dropped and counted. Any thread.</summary>
    public void Receive(ReadOnlySpan<byte> frame)
    {
        lock (_rxLock)
        {
            if (!_driverRunning || !_linkUp || frame.Length < MinFrameLength || frame.Length > MaxFrameLength
                || _pending.Count >= MaxPendingFrames || _pendingBytes + frame.Length > MaxPendingBytes)
            {
                _rxDroppedOnArrival++;
                return;
            }

            byte[] copy = ArrayPool<byte>.Shared.Rent(frame.Length);
            frame.CopyTo(copy);
            bool urgent = !PureTcpAck.Is(frame);
            _pending.Enqueue((copy, frame.Length, urgent));
            _pendingBytes += frame.Length;
            _pendingUrgent += urgent ? 1 : 0;
        }
    }

    /// <summary>
    /// Delivers the received frames to the guest's buffers (as many as fit) and interrupts it;
    /// anything held back goes with them.
    /// </summary>
    public void Deliver()
    {
        lock (_deviceLock)
        {
            if (!_transmitting && HasPending)
            {
                EndHold();
            }
        }
    }

    private bool HasPending
    {
        get
        {
            lock (_rxLock)
            {
                return _pending.Count != 0;
            }
        }
    }

    // True when the frames waiting may wait a little longer: all bare ACKs, and not too many.
    private bool PendingMayWait
    {
        get
        {
            lock (_rxLock)
            {
                return _pendingUrgent == 0 && _pending.Count < MaxHeldAnswers;
            }
        }
    }

    private bool Mergeable => (_features & (1UL << FeatureMrgRxbuf)) != 0;

    private bool GuestCsum => (_features & (1UL << FeatureGuestCsum)) != 0;

    // Joining segments needs the driver to take large packets (GUEST_TSO4, which needs GUEST_CSUM)
    // into mergeable buffers; without MRG_RXBUF a driver's buffer is not known to hold 64 KiB.
    private bool Coalescing => GuestCsum && Mergeable && (_features & (1UL << FeatureGuestTso4)) != 0;

    // Under the device lock. The frames at the head of the queue stay there while they are copied:
    // only this method (under the device lock) and Reset take frames out, and Receive only adds at the tail.
    private void FillReceiveBuffers(Virtqueue queue)
    {
        Span<byte> header = _rxHeader;
        while (true)
        {
            int frames = _prepared;
            ReadOnlySpan<byte> frame = default;
            if (frames == 0)
            {
                frames = 1;
                header.Clear();
                bool started;
                lock (_rxLock)
                {
                    if (!_pending.TryPeek(out (byte[] Data, int Length, bool Urgent) head))
                    {
                        return;
                    }

                    frame = head.Data.AsSpan(0, head.Length);
                    started = Coalescing && _coalescer.Start(frame);
                    if (started)
                    {
                        frames = JoinFollowing();
                    }
                }

                if (frames > 1)
                {
                    // §5.1.6.4: NEEDS_CSUM with csum_start/csum_offset (the field holds the pseudo-header
                    // sum), gso_type TCPV4, gso_size the MSS, hdr_len the headers. Kept until it is
                    // delivered: a guest short of buffers posts them a few at a time.
                    _coalescer.Finish();
                    _prepared = frames;
                    header[0] = HeaderNeedsCsum;
                    header[1] = GsoTcpV4;
                    BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)_coalescer.HeaderLength);
                    BinaryPrimitives.WriteUInt16LittleEndian(header[4..], (ushort)_coalescer.SegmentSize);
                    BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)_coalescer.ChecksumStart);
                    BinaryPrimitives.WriteUInt16LittleEndian(header[8..], (ushort)TcpReceiveCoalescer.ChecksumOffset);
                }
                else if (started || (GuestCsum && ReceiveChecksum.IsValid(frame)))
                {
                    // §5.1.6.4: DATA_VALID only for a checksum the device has validated (Start did).
                    header[0] = HeaderDataValid;
                }
            }

            if (frames > 1)
            {
                frame = _coalescer.Joined;
            }

            if (!DeliverFrame(queue, frame, header))
            {
                return;
            }

            _prepared = 0;

            lock (_rxLock)
            {
                for (int i = 0; i < frames; i++)
                {
                    (byte[] Data, int Length, bool Urgent) done = _pending.Dequeue();
                    _pendingBytes -= done.Length;
                    _pendingUrgent -= done.Urgent ? 1 : 0;
                    ArrayPool<byte>.Shared.Return(done.Data);
                }
            }
        }
    }

    // Under _rxLock, after the coalescer started with the head frame: the frames after it that
    // continue its segment are joined; returns how many frames the packet holds.
    private int JoinFollowing()
    {
        int frames = 0;
        foreach ((byte[] data, int length, _) in _pending)
        {
            if (frames++ == 0)
            {
                continue;
            }

            if (!_coalescer.TryAppend(data.AsSpan(0, length)))
            {
                return frames - 1;
            }
        }

        return frames;
    }

    // Places one frame after the virtio header in the guest's receive buffers; false when there are not enough yet (the
    // chains taken so far are held for the next try). With MRG_RXBUF the frame spreads over as
    // many chains as it needs and num_buffers says how many (§5.1.6.4); without it one chain must
    // hold header and frame, and a frame that does not fit is dropped.
    private bool DeliverFrame(Virtqueue queue, ReadOnlySpan<byte> frame, Span<byte> header)
    {
        ulong needed = (ulong)(HeaderSize + frame.Length);
        ulong room = 0;
        int chains = 0;
        while (room < needed && (Mergeable || chains == 0))
        {
            if (chains == _held.Count)
            {
                DescriptorChain? next = TakeReceiveChain(queue);
                if (next is null)
                {
                    return false;
                }

                _held.Add(next);
            }

            room += _held[chains].WritableLength;
            chains++;
        }

        if (room < needed)
        {
            // Only without MRG_RXBUF: the driver's buffer is smaller than the frame; keep the buffer.
            _counters.RxDropped++;
            return true;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], (ushort)chains);
        int headerDone = 0, frameDone = 0;
        for (int i = 0; i < chains; i++)
        {
            DescriptorChain chain = _held[i];
            ulong at = 0;
            if (headerDone < HeaderSize)
            {
                int n = chain.Write(0, header[headerDone..]);
                headerDone += n;
                at = (ulong)n;
            }

            if (headerDone == HeaderSize)
            {
                int n = chain.Write(at, frame[frameDone..]);
                frameDone += n;
                at += (ulong)n;
            }

            queue.StageUsed(chain.Head, (uint)at);
        }

        // All of the frame's buffers become used with one index update (§5.1.6.4).
        queue.PublishUsed();

        _held.RemoveRange(0, chains);
        _counters.RxFrames++;
        _counters.RxBytes += (ulong)frame.Length;
        return true;
    }

    // The next receive chain that is fit to use; malformed ones go back to the driver unused.
    private DescriptorChain? TakeReceiveChain(Virtqueue queue)
    {
        while (true)
        {
            DescriptorChain? chain;
            try
            {
                chain = queue.Pop(rejectOverlap: true);
            }
            catch (MalformedChainException e)
            {
                Discard(queue, e.Head, e.Message);
                continue;
            }

            if (chain is null)
            {
                return null;
            }

            // §5.1.6.3: receive buffers are device-writable only.
            if (chain.ReadableLength != 0 || chain.WritableLength == 0)
            {
                Discard(queue, chain.Head, "a receive buffer that is not device-writable only (virtio 1.2 5.1.6.3)");
                continue;
            }

            return chain;
        }
    }

    private void Transmit(Virtqueue queue)
    {
        _transmitting = true;
        try
        {
            TransmitAll(queue);
        }
        finally
        {
            _transmitting = false;
        }

        // What the backend answered with during the batch goes to the guest now, so that one
        // interrupt carries the transmit completions and the answers; bare ACKs may be held.
        if (_holdTimer is not null && HasPending && PendingMayWait && queue.UsedSinceCheck < MaxHeldCompletions)
        {
            queue.NotificationHeld = true;
            if (_holdTimer.Deadline is null)
            {
                _holdTimer.ArmIn(AnswerHoldNanoseconds);
            }

            return;
        }

        queue.NotificationHeld = false;
        if (HasPending)
        {
            _transport?.ServiceQueue(RxQueue);
        }

        _holdTimer?.Cancel();
    }

    // Under the device lock (the timer's callback, or a delivery): what was held goes to the guest.
    private void EndHold()
    {
        _holdTimer?.Cancel();
        if (HasPending)
        {
            _transport?.ServiceQueue(RxQueue);
        }

        if (_tx is { NotificationHeld: true })
        {
            _transport?.NotifyUsed(TxQueue);
        }
    }

    private void TransmitAll(Virtqueue queue)
    {
        while (true)
        {
            DescriptorChain? chain;
            try
            {
                chain = queue.Pop(rejectOverlap: true);
            }
            catch (MalformedChainException e)
            {
                Discard(queue, e.Head, e.Message);
                continue;
            }

            if (chain is null)
            {
                return;
            }

            if (SendFrame(chain))
            {
                _counters.TxFrames++;
            }
            else
            {
                _counters.TxDropped++;
            }

            queue.PushUsed(chain.Head, 0);
        }
    }

    // §5.1.6.2: the header, then the frame; with NEEDS_CSUM the device fills in the checksum.
    private bool SendFrame(DescriptorChain chain)
    {
        if (chain.ReadableLength < HeaderSize + MinFrameLength || chain.ReadableLength - HeaderSize > (ulong)MaxFrameLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        chain.Read(0, header);
        int length = (int)(chain.ReadableLength - HeaderSize);
        Span<byte> frame = _txFrame.AsSpan(0, length);
        chain.Read(HeaderSize, frame);

        // No segmentation offload was offered, so any GSO request is a driver error.
        if (header[1] != GsoNone)
        {
            return false;
        }

        if ((header[0] & HeaderNeedsCsum) != 0)
        {
            if ((_features & (1UL << FeatureCsum)) == 0 || !CompleteChecksum(frame, header))
            {
                return false;
            }
        }

        if (!_linkUp || !_backend.Send(frame))
        {
            return false;
        }

        _counters.TxBytes += (ulong)length;
        return true;
    }

    // csum_start and csum_offset (§5.1.6.2): checksum from csum_start to the end, stored at
    // csum_start + csum_offset. The field holds the pseudo-header sum the driver put there, so it is
    // part of the sum. A result of 0 goes out as 0xFFFF, its ones' complement equal, because 0 means
    // "no checksum" to UDP (RFC 768).
    private static bool CompleteChecksum(Span<byte> frame, ReadOnlySpan<byte> header)
    {
        int start = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        int field = start + BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (start >= frame.Length || field + 2 > frame.Length)
        {
            return false;
        }

        ushort sum = InternetChecksum.Compute(frame[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[field..], sum == 0 ? (ushort)0xffff : sum);
        return true;
    }

    private void Discard(Virtqueue queue, ushort? head, string reason)
    {
        _counters.MalformedChains++;
        _errors.Report("virtio-net", $"queue {(queue == _rx ? "rx" : "tx")}: chain dropped: {reason}");
        if (head is ushort h)
        {
            queue.PushUsed(h, 0);
        }
    }

    private void DropPending()
    {
        lock (_rxLock)
        {
            while (_pending.TryDequeue(out (byte[] Data, int Length, bool Urgent) frame))
            {
                ArrayPool<byte>.Shared.Return(frame.Data);
            }

            _pendingBytes = _pendingUrgent = 0;
        }
    }
}

/// <summary>Traffic through one network card and what it refused.</summary>
public struct NetCounters
{
    /// <summary>Frames the guest sent that went to the backend.</summary>
    public ulong TxFrames;

    /// <summary>Their bytes (Ethernet header onwards).</summary>
    public ulong TxBytes;

    /// <summary>Frames the guest sent that were refused: runt, oversized, a bad offload request, or the backend's queue full.</summary>
    public ulong TxDropped;

    /// <summary>Frames placed in the guest's receive buffers.</summary>
    public ulong RxFrames;

    /// <summary>Their bytes.</summary>
    public ulong RxBytes;

    /// <summary>Frames from the host that were dropped: the driver not running, the link down, too many waiting, or too long.</summary>
    public ulong RxDropped;

    /// <summary>Descriptor chains that were malformed (loop, outside RAM, overlapping, wrong direction) and returned unused.</summary>
    public ulong MalformedChains;
}
