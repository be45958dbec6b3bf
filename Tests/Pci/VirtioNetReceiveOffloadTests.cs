using System.Buffers.Binary;
using Emulator.Devices.Virtio;
using Xunit;
using static Emulator.Tests.Net.TcpFrames;

namespace Emulator.Tests.Pci;

/// <summary>
/// virtio-net's receive offloads (Virtio 1.2 §5.1.6.4): with GUEST_CSUM a frame whose checksum the
/// card validated carries DATA_VALID; with GUEST_TSO4 (and mergeable buffers) the consecutive TCP
/// segments of one delivered batch reach the driver as one GSO packet with NEEDS_CSUM.
/// </summary>
public sealed partial class VirtioNetTests
{
    private const ulong OffloadFeatures = Features | (1UL << VirtioNet.FeatureGuestCsum) | (1UL << VirtioNet.FeatureGuestTso4);

    private (byte[] Header, byte[] Frame) ReadPacket(ulong address, uint length)
    {
        byte[] all = ReadGuest(address, (int)length);
        return (all[..VirtioNet.HeaderSize], all[VirtioNet.HeaderSize..]);
    }

    private void PostLargeBuffers(int count)
    {
        for (ushort i = 0; i < count; i++)
        {
            Descriptor(0, i, Buffers + 0x20000 + (i * 0x10000UL), 0x10000, Write);
            Offer(0, i);
        }
    }

    [Fact]
    public void OneBatchOfConsecutiveSegmentsReachesTheDriverAsOneGsoPacket()
    {
        Start(OffloadFeatures);
        PostLargeBuffers(4);
        byte[] data = Data(0, 3500);
        for (int i = 0; i < 3; i++)
        {
            _host.Receiver!.Receive(Segment((uint)(100 + (i * 1460)), data.AsSpan(i * 1460, Math.Min(1460, 3500 - (i * 1460)))));
        }

        byte[] other = Segment(1, Data(0, 10), sourcePort: 81);
        _host.Receiver!.Receive(other);
        _host.Receiver.Deliver();

        List<(uint Id, uint Length)> used = TakeUsed(0);
        Assert.Equal(2, used.Count);
        (byte[] header, byte[] frame) = ReadPacket(Buffers + 0x20000, used[0].Length);
        Assert.Equal(VirtioNet.HeaderNeedsCsum, header[0]);
        Assert.Equal(VirtioNet.GsoTcpV4, header[1]);
        Assert.Equal(54, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(2)));   // hdr_len
        Assert.Equal(1460, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(4))); // gso_size
        Assert.Equal(34, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(6)));   // csum_start
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8)));   // csum_offset
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(10)));   // num_buffers

        // The driver's completion (§5.1.6.4) gives the segment a sender would have sent with all the data.
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(34 + 16), (ushort)~Sum(frame.AsSpan(34), 0));
        Assert.Equal(Segment(100, data), frame);

        // The other flow's segment follows as a frame of its own, its checksum validated.
        (header, frame) = ReadPacket(Buffers + 0x30000, used[1].Length);
        Assert.Equal(VirtioNet.HeaderDataValid, header[0]);
        Assert.Equal(VirtioNet.GsoNone, header[1]);
        Assert.Equal(other, frame);
    }

    [Fact]
    public void WithGuestCsumAloneEachValidFrameIsMarkedAndABadOneIsNot()
    {
        Start(Features | (1UL << VirtioNet.FeatureGuestCsum));
        PostLargeBuffers(3);
        byte[] bad = Segment(1460, Data(1460, 1460));
        bad[70] ^= 1;
        _host.Receiver!.Receive(Segment(0, Data(0, 1460)));
        _host.Receiver.Receive(bad);
        _host.Receiver.Receive(Frame(60, 50));
        _host.Receiver.Deliver();

        List<(uint Id, uint Length)> used = TakeUsed(0);
        Assert.Equal([(0u, 12u + 1514u), (1u, 12u + 1514u), (2u, 72u)], used);
        Assert.Equal(VirtioNet.HeaderDataValid, ReadGuest(Buffers + 0x20000, 2)[0]);
        Assert.Equal(new byte[2], ReadGuest(Buffers + 0x30000, 2));  // the bad checksum is the guest's to find
        Assert.Equal(new byte[2], ReadGuest(Buffers + 0x40000, 2));  // not TCP or UDP over IPv4
        Assert.Equal(bad, ReadPacket(Buffers + 0x30000, used[1].Length).Frame);
    }

    [Fact]
    public void WithoutReceiveOffloadsFramesArriveUntouchedWithNoFlags()
    {
        Start();
        PostLargeBuffers(2);
        byte[] first = Segment(0, Data(0, 1460)), second = Segment(1460, Data(1460, 1460));
        _host.Receiver!.Receive(first);
        _host.Receiver.Receive(second);
        _host.Receiver.Deliver();

        List<(uint Id, uint Length)> used = TakeUsed(0);
        Assert.Equal(2, used.Count);
        Assert.Equal(new byte[10], ReadPacket(Buffers + 0x20000, used[0].Length).Header[..10]);
        Assert.Equal(first, ReadPacket(Buffers + 0x20000, used[0].Length).Frame);
        Assert.Equal(second, ReadPacket(Buffers + 0x30000, used[1].Length).Frame);
    }

    [Fact]
    public void AGsoPacketWaitsWholeForBuffersAndSpreadsOverMergeableOnes()
    {
        Start(OffloadFeatures);
        _host.Receiver!.Receive(Segment(0, Data(0, 1460)));
        _host.Receiver.Receive(Segment(1460, Data(1460, 1460)));
        _host.Receiver.Deliver();
        Assert.Empty(TakeUsed(0));

        // 12 + 54 + 2920 bytes over buffers of 2048: two of them, published together.
        PostReceiveBuffers(3);
        List<(uint Id, uint Length)> used = TakeUsed(0);
        Assert.Equal([(0u, 2048u), (1u, 12u + 54u + 2920u - 2048u)], used);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(ReadGuest(Buffers + 0x20000 + 10, 2)));
        Assert.Equal(VirtioNet.GsoTcpV4, ReadGuest(Buffers + 0x20000, 2)[1]);
        Assert.Equal(1UL, _net.Counters.RxFrames);
    }

    [Fact]
    public void APacketWaitingForBuffersKeepsItsSegmentsAndLaterOnesFollowIt()
    {
        Start(OffloadFeatures);
        byte[] data = Data(0, 4 * 1460);
        for (int i = 0; i < 3; i++)
        {
            _host.Receiver!.Receive(Segment((uint)(i * 1460), data.AsSpan(i * 1460, 1460)));
        }

        _host.Receiver!.Deliver();
        Descriptor(0, 0, Buffers + 0x20000, 2048, Write);
        Offer(0, 0);
        Assert.Empty(TakeUsed(0));

        // A fourth segment arrives while the first three wait; buffers come one at a time.
        _host.Deliver(Segment(3 * 1460, data.AsSpan(3 * 1460, 1460)));
        Descriptor(0, 1, Buffers + 0x30000, 2048, Write);
        Offer(0, 1);
        Assert.Empty(TakeUsed(0));
        Descriptor(0, 2, Buffers + 0x40000, 2048, Write);
        Offer(0, 2);
        List<(uint Id, uint Length)> used = TakeUsed(0);
        Assert.Equal([(0u, 2048u), (1u, 2048u), (2u, 12u + 54u + (3 * 1460u) - 4096u)], used);
        byte[] joined = [.. ReadGuest(Buffers + 0x20000 + 12, 2036), .. ReadGuest(Buffers + 0x30000, 2048), .. ReadGuest(Buffers + 0x40000, (int)used[2].Length)];
        BinaryPrimitives.WriteUInt16BigEndian(joined.AsSpan(34 + 16), (ushort)~Sum(joined.AsSpan(34), 0));
        Assert.Equal(Segment(0, data.AsSpan(0, 3 * 1460)), joined);

        // The fourth goes alone, its checksum validated.
        Descriptor(0, 3, Buffers + 0x50000, 2048, Write);
        Offer(0, 3);
        used = TakeUsed(0);
        Assert.Equal([(3u, 12u + 1514u)], used);
        Assert.Equal(VirtioNet.HeaderDataValid, ReadGuest(Buffers + 0x50000, 1)[0]);
        Assert.Equal(Segment(3 * 1460, data.AsSpan(3 * 1460, 1460)), ReadGuest(Buffers + 0x50000 + 12, 1514));
    }
}
