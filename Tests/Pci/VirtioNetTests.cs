using System.Buffers.Binary;
using Emulator.Core.Memory;
using Emulator.Core.Net;
using Emulator.Core.Time;
using Emulator.Devices.Net;
using Emulator.Devices.Virtio;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>A backend that keeps what the guest sent and lets the test play the host side.</summary>
internal sealed class RecordingNetBackend : INetBackend
{
    public List<byte[]> Sent { get; } = [];

    public INetReceiver? Receiver { get; private set; }

    public bool Full { get; set; }

    /// <summary>Answer every frame at once, from inside Send, with this frame (as libslirp answers a TCP segment with its ACK).</summary>
    public byte[]? Answer { get; set; }

    public string Name => "recording";

    public void Start(INetReceiver receiver) => Receiver = receiver;

    /// <summary>The host side delivers one frame, as a backend's thread does: take it, then flush.</summary>
    public void Deliver(byte[] frame)
    {
        Receiver!.Receive(frame);
        Receiver.Deliver();
    }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (Full)
        {
            return false;
        }

        Sent.Add(frame.ToArray());
        if (Answer is { } answer)
        {
            Receiver!.Receive(answer);
        }

        return true;
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// virtio-net (Virtio 1.1 §5.1) driven through its two virtqueues the way Linux's virtio_net drives
/// it, with malformed chains of every kind: each is returned unused and counted, and the card keeps
/// working without DEVICE_NEEDS_RESET.
/// </summary>
public sealed partial class VirtioNetTests : IDisposable
{
    private const ushort Next = 1, Write = 2;
    private const ulong RxTable = 0x10000, RxAvail = 0x11000, RxUsed = 0x12000;
    private const ulong TxTable = 0x13000, TxAvail = 0x14000, TxUsed = 0x15000;
    private const ushort QueueSize = 16;
    private const ulong Buffers = 0x40000;

    private static readonly byte[] TestMac = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];

    private readonly PciTestBench _pc = new();
    private readonly TimerService _timers;
    private readonly RecordingNetBackend _host = new();
    private readonly VirtioNet _net;
    private readonly Emulator.Core.Machine.GuestErrorLog _errors = new();
    private readonly VirtioDriver _driver;
    private readonly ushort[] _availIndex = new ushort[2];
    private readonly ushort[] _usedSeen = new ushort[2];

    public VirtioNetTests()
    {
        _timers = TimerService.Deterministic(_pc.DeviceLock);
        _net = new VirtioNet(_host, _pc.DeviceLock, TestMac, mtu: 1500, errors: _errors, timers: _timers);
        _driver = new VirtioDriver(_pc, 4, new VirtioPci("virtio-net", _net, _pc.Memory));
        _net.Start();
    }

    public void Dispose()
    {
        _driver.Device.Dispose();
        _timers.Dispose();
        _pc.Dispose();
    }

    private const ulong Features = (1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioNet.FeatureMac) | (1UL << VirtioNet.FeatureStatus)
        | (1UL << VirtioNet.FeatureMrgRxbuf) | (1UL << VirtioNet.FeatureCsum) | (1UL << VirtioNet.FeatureMtu);

    // Linux's order (§3.1.1): negotiate, set up both queues, DRIVER_OK.
    private void Start(ulong features = Features)
    {
        byte status = _driver.Negotiate(features);
        Assert.NotEqual(0, status & VirtioPci.StatusFeaturesOk);
        SetUpQueue(0, RxTable, RxAvail, RxUsed);
        SetUpQueue(1, TxTable, TxAvail, TxUsed);
        _driver.Write(0x14, 1, VirtioPci.StatusAcknowledge | VirtioPci.StatusDriver | VirtioPci.StatusFeaturesOk | VirtioPci.StatusDriverOk);
    }

    private void SetUpQueue(int index, ulong table, ulong avail, ulong used)
    {
        _pc.Memory.Write(new GuestPhysicalAddress(avail), new byte[6 + (2 * QueueSize)]);
        _pc.Memory.Write(new GuestPhysicalAddress(used), new byte[6 + (8 * QueueSize)]);
        _driver.Write(0x16, 2, (ulong)index);
        _driver.Write(0x18, 2, QueueSize);
        _driver.Write(0x20, 8, table);
        _driver.Write(0x28, 8, avail);
        _driver.Write(0x30, 8, used);
        _driver.Write(0x1c, 2, 1);
    }

    private static ulong Table(int queue) => queue == 0 ? RxTable : TxTable;

    private void Descriptor(int queue, int index, ulong address, uint length, ushort flags, ushort next = 0) =>
        _driver.WriteDescriptor(Table(queue), index, address, length, flags, next);

    private void Offer(int queue, ushort head)
    {
        ulong avail = queue == 0 ? RxAvail : TxAvail;
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(avail + 4 + (2UL * (uint)(_availIndex[queue] % QueueSize))), 2, head);
        _availIndex[queue]++;
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(avail + 2), 2, _availIndex[queue]);
        _driver.Write(VirtioPci.NotifyOffset + (4 * queue), 2, (ulong)queue);
    }

    private List<(uint Id, uint Length)> TakeUsed(int queue)
    {
        ulong used = queue == 0 ? RxUsed : TxUsed;
        var entries = new List<(uint, uint)>();
        ushort index = (ushort)_pc.Memory.ReadUInt(new GuestPhysicalAddress(used + 2), 2);
        while (_usedSeen[queue] != index)
        {
            ulong e = used + 4 + (8UL * (uint)(_usedSeen[queue] % QueueSize));
            entries.Add(((uint)_pc.Memory.ReadUInt(new GuestPhysicalAddress(e), 4), (uint)_pc.Memory.ReadUInt(new GuestPhysicalAddress(e + 4), 4)));
            _usedSeen[queue]++;
        }

        return entries;
    }

    private static byte[] Frame(int length, int seed)
    {
        var frame = new byte[length];
        new Random(seed).NextBytes(frame);
        frame[0] = 0x52; // unicast destination
        return frame;
    }

    // A TX request as Linux builds it: the 12-byte header in one descriptor, the frame in the next.
    private void Transmit(ushort head, byte[] frame, byte flags = 0, ushort csumStart = 0, ushort csumOffset = 0, byte gso = 0)
    {
        var header = new byte[VirtioNet.HeaderSize];
        header[0] = flags;
        header[1] = gso;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), csumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), csumOffset);
        ulong at = Buffers + (head * 0x1000UL);
        _pc.Memory.Write(new GuestPhysicalAddress(at), header);
        _pc.Memory.Write(new GuestPhysicalAddress(at + 0x100), frame);
        Descriptor(1, head, at, VirtioNet.HeaderSize, Next, (ushort)(head + 1));
        Descriptor(1, head + 1, at + 0x100, (uint)frame.Length, 0);
        Offer(1, head);
    }

    private void AssertStillHealthy()
    {
        Assert.Equal(0, _driver.Status & VirtioPci.StatusNeedsReset);
        _host.Sent.Clear();
        byte[] frame = Frame(100, 99);
        Transmit(8, frame);
        Assert.Equal(frame, Assert.Single(_host.Sent));
    }

    [Fact]
    public void IdentifiesAsANetworkCardWithItsMacLinkAndMtu()
    {
        Assert.Equal(0x1041u, _pc.ConfigRead(4, 0, 0x02, 2));          // 0x1040 + type 1 (§4.1.2)
        Assert.Equal(0x020000u, _pc.ConfigRead(4, 0, 0x08, 4) >> 8);   // Ethernet controller
        ulong offered = _driver.DeviceFeatures();
        foreach (int bit in new[] { VirtioNet.FeatureMac, VirtioNet.FeatureStatus, VirtioNet.FeatureMrgRxbuf, VirtioNet.FeatureCsum, VirtioNet.FeatureMtu })
        {
            Assert.NotEqual(0UL, offered & (1UL << bit));
        }

        // Receive checksum offload and TCPv4 receive segmentation (which requires it, §5.1.3.1) are
        // offered; no other segmentation offload and no control queue (§5.1.3 bits 8-14, 17).
        Assert.NotEqual(0UL, offered & (1UL << VirtioNet.FeatureGuestCsum));
        Assert.NotEqual(0UL, offered & (1UL << VirtioNet.FeatureGuestTso4));
        Assert.Equal(0UL, offered & ((0x7fUL << 8) | (1UL << 17)));
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(TestMac[i], (byte)_driver.Read(VirtioPci.DeviceConfigOffset + i, 1));
        }

        Assert.Equal(1UL, _driver.Read(VirtioPci.DeviceConfigOffset + 6, 2));     // VIRTIO_NET_S_LINK_UP
        Assert.Equal(1500UL, _driver.Read(VirtioPci.DeviceConfigOffset + 10, 2)); // mtu

        Start();
        byte generation = (byte)_driver.Read(0x15, 1);
        _ = _driver.ReadIsr();
        _net.LinkUp = false;
        Assert.Equal(0UL, _driver.Read(VirtioPci.DeviceConfigOffset + 6, 2));
        Assert.NotEqual(generation, (byte)_driver.Read(0x15, 1));
        Assert.Equal(VirtioPci.IsrConfig, _driver.ReadIsr() & VirtioPci.IsrConfig);
    }

    [Fact]
    public void TransmitsTheFrameAfterTheHeader()
    {
        Start();
        byte[] frame = Frame(1514, 1);
        Transmit(0, frame);
        Assert.Equal(frame, Assert.Single(_host.Sent));
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Equal(1UL, _net.Counters.TxFrames);
    }

    [Fact]
    public void AnAnswerTheBackendGivesDuringTransmitArrivesWithTheTransmitCompletion()
    {
        Start();
        Descriptor(0, 0, Buffers + 0x8000, 2048, Write);
        Offer(0, 0);
        _ = _driver.ReadIsr();
        byte[] answer = Frame(60, 21);
        _host.Answer = answer;

        // One notification of the transmit queue: the frame goes out, and the backend's answer is
        // already in the receive buffer, with the queue interrupt pending (§2.6.8, §4.1.4.5).
        Transmit(0, Frame(100, 20));
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Equal([(0u, (uint)(VirtioNet.HeaderSize + answer.Length))], TakeUsed(0));
        Assert.Equal(answer, ReadGuest(Buffers + 0x8000 + VirtioNet.HeaderSize, answer.Length));
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
        Assert.Equal(1UL, _net.Counters.RxFrames);
    }

    [Fact]
    public void AReceivedFrameWaitsForDeliverAndOneDeliverCarriesTheBatch()
    {
        Start();
        for (ushort i = 0; i < 3; i++)
        {
            Descriptor(0, i, Buffers + (i * 0x1000UL), 2048, Write);
            Offer(0, i);
        }

        _ = _driver.ReadIsr();
        _host.Receiver!.Receive(Frame(60, 30));
        _host.Receiver.Receive(Frame(61, 31));
        Assert.Empty(TakeUsed(0));
        Assert.Equal(0, _driver.ReadIsr());

        _host.Receiver.Deliver();
        Assert.Equal([(0u, 72u), (1u, 73u)], TakeUsed(0));
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
    }

    [Fact]
    public void CompletesAUdpChecksumTheDriverLeftPartial()
    {
        Start();

        // IPv4/UDP from 10.0.2.15:1234 to 10.0.2.2:5678 with 9 bytes of payload; as Linux does for
        // CHECKSUM_PARTIAL, the checksum field holds the folded pseudo-header sum.
        byte[] payload = "emu-udp-1"u8.ToArray();
        var frame = new byte[14 + 20 + 8 + payload.Length];
        TestMac.CopyTo(frame, 0);
        frame[12] = 0x08;
        Span<byte> ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        byte[] src = [10, 0, 2, 15], dst = [10, 0, 2, 2];
        src.CopyTo(ip[12..]);
        dst.CopyTo(ip[16..]);
        Span<byte> udp = frame.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 1234);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 5678);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        uint pseudo = (10u << 8) + 0 + (2u << 8) + 15 + (10u << 8) + 0 + (2u << 8) + 2 + 17 + (uint)(8 + payload.Length);
        pseudo = (pseudo & 0xffff) + (pseudo >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], (ushort)pseudo);

        Transmit(0, frame, VirtioNet.HeaderNeedsCsum, csumStart: 34, csumOffset: 6);

        // RFC 768 / RFC 1071: the pseudo-header plus the whole datagram sums to 0xFFFF. Summed here
        // byte pair by byte pair, independently of the device's code.
        byte[] sent = Assert.Single(_host.Sent);
        ulong sum = pseudo;
        for (int i = 34; i < sent.Length; i += 2)
        {
            sum += (ulong)((sent[i] << 8) | (i + 1 < sent.Length ? sent[i + 1] : 0));
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        Assert.Equal(0xffffUL, sum);
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(sent.AsSpan(40)));
        Assert.Equal(frame.AsSpan(0, 40).ToArray(), sent.AsSpan(0, 40).ToArray());
    }

    [Fact]
    public void InternetChecksumMatchesTheRfc1071Example()
    {
        // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (checksum 220d).
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2, InternetChecksum.Sum(data));
        Assert.Equal(0x220d, InternetChecksum.Compute(data));
        Assert.Equal(0x220d, InternetChecksum.Compute(data.AsSpan(0, 7).ToArray().Append((byte)0xf7).ToArray()));
    }

    [Fact]
    public void ReceivesAFrameAcrossMergeableBuffers()
    {
        Start();
        for (ushort i = 0; i < 4; i++)
        {
            Descriptor(0, i, Buffers + (i * 0x1000UL), 600, Write);
            Offer(0, i);
        }

        _ = _driver.ReadIsr();
        byte[] frame = Frame(1500, 2);
        _host.Deliver(frame);

        // 12 + 1500 bytes: three buffers of 600, 600 and 312 (§5.1.6.4).
        Assert.Equal([(0u, 600u), (1u, 600u), (2u, 312u)], TakeUsed(0));
        var got = new byte[1512];
        _pc.Memory.Read(new GuestPhysicalAddress(Buffers), got.AsSpan(0, 600));
        _pc.Memory.Read(new GuestPhysicalAddress(Buffers + 0x1000), got.AsSpan(600, 600));
        _pc.Memory.Read(new GuestPhysicalAddress(Buffers + 0x2000), got.AsSpan(1200, 312));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(got.AsSpan(10)));  // num_buffers
        Assert.Equal(0, got[0]);                                                   // flags
        Assert.Equal(frame, got.AsSpan(12).ToArray());
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
    }

    [Fact]
    public void TheBuffersOfOneFrameBecomeUsedWithOneIndexUpdate()
    {
        // §5.1.6.4: the driver must observe at least num_buffers buffers used at once. Linux's
        // virtio_net drops a frame whose first buffer it finds without the rest ("buffers
        // missing"), which a driver polling the ring from another CPU can do between two updates.
        Start();
        for (ushort i = 0; i < 6; i++)
        {
            Descriptor(0, i, Buffers + (i * 0x1000UL), 600, Write);
            Offer(0, i);
        }

        var indexes = new List<ushort>();
        _pc.Memory.ObserveRamWrites((address, length) =>
        {
            if (address <= RxUsed + 2 && address + (ulong)length > RxUsed + 2)
            {
                indexes.Add((ushort)_pc.Memory.ReadUInt(new GuestPhysicalAddress(RxUsed + 2), 2));
            }
        });
        _host.Deliver(Frame(1500, 2));
        _host.Deliver(Frame(700, 3));

        Assert.Equal([(ushort)3, (ushort)5], indexes);
        Assert.Equal([(0u, 600u), (1u, 600u), (2u, 312u)], TakeUsed(0).Take(3));
    }

    [Fact]
    public void AFrameWaitsForBuffersAndArrivesWhenTheDriverPostsThem()
    {
        Start();
        byte[] first = Frame(60, 3), second = Frame(70, 4);
        _host.Deliver(first);
        _host.Deliver(second);
        Assert.Empty(TakeUsed(0));

        Descriptor(0, 0, Buffers, 2048, Write);
        Offer(0, 0);
        Assert.Equal([(0u, 72u)], TakeUsed(0));
        Descriptor(0, 1, Buffers + 0x1000, 2048, Write);
        Offer(0, 1);
        Assert.Equal([(1u, 82u)], TakeUsed(0));
        var got = new byte[70];
        _pc.Memory.Read(new GuestPhysicalAddress(Buffers + 0x1000 + 12), got);
        Assert.Equal(second, got);
        Assert.Equal(2UL, _net.Counters.RxFrames);
    }

    [Fact]
    public void WithoutMergeableBuffersAFrameTooLongForTheBufferIsDroppedAndTheBufferKept()
    {
        Start(Features & ~(1UL << VirtioNet.FeatureMrgRxbuf));
        Descriptor(0, 0, Buffers, 600, Write);
        Offer(0, 0);
        _host.Deliver(Frame(1000, 5));
        Assert.Empty(TakeUsed(0));
        Assert.Equal(1UL, _net.Counters.RxDropped);

        byte[] small = Frame(500, 6);
        _host.Deliver(small);
        Assert.Equal([(0u, 512u)], TakeUsed(0));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(ReadGuest(Buffers + 10, 2)));
    }

    [Fact]
    public void FramesBeforeDriverOkAreDropped()
    {
        _host.Deliver(Frame(60, 7));
        Start();
        Descriptor(0, 0, Buffers, 2048, Write);
        Offer(0, 0);
        Assert.Empty(TakeUsed(0));
        Assert.Equal(1UL, _net.Counters.RxDropped);
    }

    [Fact]
    public void TransmitChainThatLoopsIsDroppedAndCounted()
    {
        Start();
        Descriptor(1, 0, Buffers, VirtioNet.HeaderSize, Next, 1);
        Descriptor(1, 1, Buffers + 0x100, 60, Next, 0);
        Offer(1, 0);
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Empty(_host.Sent);
        Assert.Equal(1UL, _net.Counters.MalformedChains);
        AssertStillHealthy();
    }

    [Theory]
    [InlineData(0x8000_0000UL, 60u)]                 // outside RAM
    [InlineData(0x1f_fff0UL, 0x20u)]                 // runs off the end of RAM
    [InlineData(0xffff_ffff_ffff_fff0UL, 0x20u)]     // wraps the address space
    [InlineData(TxTable + 0x20, 60u)]                // overlaps the queue's own descriptor table
    [InlineData(TxUsed, 60u)]                        // overlaps the used ring
    [InlineData(Buffers + 4, 60u)]                   // overlaps the header buffer of the same chain
    public void TransmitChainWithABadBufferIsDroppedAndCounted(ulong address, uint length)
    {
        Start();
        Descriptor(1, 0, Buffers, VirtioNet.HeaderSize, Next, 1);
        Descriptor(1, 1, address, length, 0);
        Offer(1, 0);
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Empty(_host.Sent);
        Assert.Equal(1UL, _net.Counters.MalformedChains);
        AssertStillHealthy();
    }

    [Theory]
    [InlineData(1519, (byte)0, (byte)0)]                          // longer than MTU 1500 + 18
    [InlineData(13, (byte)0, (byte)0)]                            // shorter than an Ethernet header
    [InlineData(100, (byte)0, (byte)1)]                           // asks for TSO, which was not offered
    public void OversizedRuntOrUnofferedOffloadFramesAreDroppedAndCounted(int length, byte flags, byte gso)
    {
        Start();
        Transmit(0, Frame(length, 8), flags, gso: gso);
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Empty(_host.Sent);
        Assert.Equal(1UL, _net.Counters.TxDropped);
        AssertStillHealthy();
    }

    [Fact]
    public void ChecksumRequestPointingPastTheFrameIsDropped()
    {
        Start();
        Transmit(0, Frame(100, 9), VirtioNet.HeaderNeedsCsum, csumStart: 90, csumOffset: 10);
        Assert.Empty(_host.Sent);
        Assert.Equal(1UL, _net.Counters.TxDropped);
        AssertStillHealthy();
    }

    [Fact]
    public void HeadIndexOutsideTheTableIsCountedAndSkipped()
    {
        Start();
        Offer(1, 0xffff);
        Assert.Empty(TakeUsed(1));
        Assert.Equal(1UL, _net.Counters.MalformedChains);
        AssertStillHealthy();
    }

    [Fact]
    public void MalformedReceiveBuffersAreReturnedUnusedAndTheNextGoodOneIsUsed()
    {
        Start();
        Descriptor(0, 0, Buffers, 2048, 0);                       // device-readable: wrong direction
        Offer(0, 0);
        Descriptor(0, 1, Buffers + 0x1000, 2048, Write | Next, 2); // loops
        Descriptor(0, 2, Buffers + 0x2000, 2048, Write | Next, 1);
        Offer(0, 1);
        Descriptor(0, 3, 0x9000_0000, 2048, Write);               // outside RAM
        Offer(0, 3);
        Descriptor(0, 4, RxAvail, 2048, Write);                   // onto the available ring
        Offer(0, 4);
        Descriptor(0, 5, Buffers + 0x5000, 2048, Write);
        Offer(0, 5);

        byte[] frame = Frame(300, 10);
        _host.Deliver(frame);
        Assert.Equal([(0u, 0u), (1u, 0u), (3u, 0u), (4u, 0u), (5u, 312u)], TakeUsed(0));
        Assert.Equal(frame, ReadGuest(Buffers + 0x5000 + 12, 300));
        Assert.Equal(4UL, _net.Counters.MalformedChains);
        Assert.Equal(4L, _errors.CountsByDevice["virtio-net"]);
        Assert.Contains(_errors.Recent, l => l.Contains("rx", StringComparison.Ordinal) && l.Contains("5.1.6.3", StringComparison.Ordinal));
        Assert.Equal(0, _driver.Status & VirtioPci.StatusNeedsReset);
    }

    [Fact]
    public void AFullBackendCountsTheFrameAsDropped()
    {
        Start();
        _host.Full = true;
        Transmit(0, Frame(100, 11));
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Equal(1UL, _net.Counters.TxDropped);
    }

    // A bare TCP acknowledgement (RFC 791 and RFC 9293 headers, ACK only, no data), as libslirp
    // answers each data segment; the checksums do not matter to the card.
    private static byte[] BareAck(uint acknowledgment)
    {
        var f = new byte[14 + 20 + 20];
        TestMac.CopyTo(f, 0);
        f[12] = 0x08;
        f[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 40);
        f[14 + 8] = 64;
        f[14 + 9] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(34 + 8), acknowledgment);
        f[34 + 12] = 5 << 4;
        f[34 + 13] = 0x10;
        return f;
    }

    // Receive buffers away from the transmit buffers (Transmit puts head n at Buffers + n * 0x1000).
    private void PostReceiveBuffers(int count)
    {
        for (ushort i = 0; i < count; i++)
        {
            Descriptor(0, i, Buffers + 0x20000 + (i * 0x800UL), 2048, Write);
            Offer(0, i);
        }
    }

    [Fact]
    public void BareAcksAnsweringTransmitsWaitWithTheCompletionsUntilTheHoldEnds()
    {
        Start();
        PostReceiveBuffers(4);
        _ = _driver.ReadIsr();
        _host.Answer = BareAck(1);

        Transmit(0, Frame(100, 40));
        Assert.Equal([(0u, 0u)], TakeUsed(1));      // the frame went out and its buffer is back...
        Assert.Empty(TakeUsed(0));                  // ...the ACK waits...
        Assert.Equal(0, _driver.ReadIsr());         // ...and so does the interrupt
        Transmit(2, Frame(100, 41));
        _timers.AdvanceTo(VirtioNet.AnswerHoldNanoseconds - 1);
        Assert.Empty(TakeUsed(0));
        Assert.Equal(0, _driver.ReadIsr());

        _timers.AdvanceTo(VirtioNet.AnswerHoldNanoseconds);
        List<(uint Id, uint Length)> used = TakeUsed(0);
        Assert.Equal([(0u, 66u), (1u, 66u)], used);
        Assert.Equal(BareAck(1), ReadGuest(Buffers + 0x20000 + 12, 54));
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
    }

    [Fact]
    public void AnAnswerOtherThanABareAckEndsTheHoldAndTakesTheHeldOnesAlong()
    {
        Start();
        PostReceiveBuffers(4);
        _ = _driver.ReadIsr();
        _host.Answer = BareAck(1);
        Transmit(0, Frame(100, 42));
        Assert.Empty(TakeUsed(0));

        _host.Answer = Frame(60, 43);               // not TCP: say, the ARP reply the guest waits for
        Transmit(2, Frame(100, 44));
        Assert.Equal([(0u, 66u), (1u, 72u)], TakeUsed(0));
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
        _timers.AdvanceTo(VirtioNet.AnswerHoldNanoseconds);
        Assert.Equal(0, _driver.ReadIsr());
    }

    [Fact]
    public void AFrameFromTheBackendsOwnThreadEndsTheHold()
    {
        Start();
        PostReceiveBuffers(4);
        _ = _driver.ReadIsr();
        _host.Answer = BareAck(1);
        Transmit(0, Frame(100, 45));
        Assert.Empty(TakeUsed(0));

        _host.Answer = null;
        _host.Deliver(BareAck(2));
        Assert.Equal([(0u, 66u), (1u, 66u)], TakeUsed(0));
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
    }

    [Fact]
    public void SoManyHeldAcksEndTheHoldAtOnce()
    {
        Start();
        PostReceiveBuffers(QueueSize);
        _ = _driver.ReadIsr();
        _host.Answer = BareAck(1);
        for (int i = 0; i < VirtioNet.MaxHeldAnswers - 1; i++)
        {
            Transmit((ushort)(2 * (i % 2)), Frame(100, 50 + i));
        }

        Assert.Empty(TakeUsed(0));
        Assert.Equal(0, _driver.ReadIsr());
        Transmit(0, Frame(100, 49));
        Assert.Equal(VirtioNet.MaxHeldAnswers, TakeUsed(0).Count);
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
    }

    [Fact]
    public void ATransmitWithoutAnswersIsNotifiedAtOnce()
    {
        // Nothing to batch with: holding the completion would only wake an idle guest later.
        Start();
        _ = _driver.ReadIsr();
        Transmit(0, Frame(100, 46));
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Equal(VirtioPci.IsrQueue, _driver.ReadIsr() & VirtioPci.IsrQueue);
    }

    [Fact]
    public void AHeldNotificationStillHonoursTheDriversSuppression()
    {
        // VIRTQ_AVAIL_F_NO_INTERRUPT on both queues (§2.6.7.1): no interrupt when the hold ends either.
        Start();
        PostReceiveBuffers(4);
        _ = _driver.ReadIsr();
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(TxAvail), 2, 1);
        _pc.Memory.WriteUInt(new GuestPhysicalAddress(RxAvail), 2, 1);
        _host.Answer = BareAck(1);
        Transmit(0, Frame(100, 47));
        _timers.AdvanceTo(VirtioNet.AnswerHoldNanoseconds);
        Assert.Equal([(0u, 0u)], TakeUsed(1));
        Assert.Equal([(0u, 66u)], TakeUsed(0));
        Assert.Equal(0, _driver.ReadIsr());
    }

    [Fact]
    public void ADeviceResetDropsAHold()
    {
        Start();
        PostReceiveBuffers(4);
        _host.Answer = BareAck(1);
        Transmit(0, Frame(100, 48));
        _driver.Write(0x14, 1, 0);
        _timers.AdvanceTo(VirtioNet.AnswerHoldNanoseconds);
        Assert.Equal(0, _driver.ReadIsr());

        // The card starts afresh: a new driver's first transmit works.
        Array.Clear(_availIndex);
        Array.Clear(_usedSeen);
        Start();
        _host.Answer = null;
        AssertStillHealthy();
    }

    private byte[] ReadGuest(ulong address, int length)
    {
        var data = new byte[length];
        _pc.Memory.Read(new GuestPhysicalAddress(address), data);
        return data;
    }
}
