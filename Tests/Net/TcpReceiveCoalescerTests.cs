using System.Buffers.Binary;
using Emulator.Devices.Net;
using Xunit;
using static Emulator.Tests.Net.TcpFrames;

namespace Emulator.Tests.Net;

/// <summary>
/// Joining received TCP segments (<see cref="TcpReceiveCoalescer"/>) and validating received
/// checksums (<see cref="ReceiveChecksum"/>) against frames and sums built by hand (RFC 791,
/// RFC 9293, RFC 1071). The oracle for a joined packet: once its checksum is completed as Virtio
/// 1.2 §5.1.6.4 tells a driver (sum from csum_start to the end, store at csum_start + csum_offset),
/// it is byte for byte the one segment a sender would have sent with all the data.
/// </summary>
public sealed class TcpReceiveCoalescerTests
{
    private readonly TcpReceiveCoalescer _join = new();

    [Fact]
    public void ConsecutiveSegmentsBecomeTheOneSegmentCarryingAllTheData()
    {
        byte[] data = Data(0, 2500);
        Assert.True(_join.Start(Segment(5000, data.AsSpan(0, 1000))));
        Assert.True(_join.TryAppend(Segment(6000, data.AsSpan(1000, 1000), window: 60000)));
        Assert.True(_join.TryAppend(Segment(7000, data.AsSpan(2000, 500), flags: Ack | Psh, window: 50000)));
        Assert.Equal(3, _join.Segments);
        Assert.Equal(1000, _join.SegmentSize);
        Assert.Equal(14 + 20 + 20, _join.HeaderLength);
        Assert.Equal(34, _join.ChecksumStart);
        Assert.Equal(16, TcpReceiveCoalescer.ChecksumOffset);

        byte[] joined = _join.Finish().ToArray();
        byte[] expected = Segment(5000, data, flags: Ack | Psh, window: 50000);

        // As handed over, the checksum field holds the pseudo-header sum (CHECKSUM_PARTIAL)...
        Span<byte> ip = expected.AsSpan(14);
        Assert.Equal(Pseudo(ip, expected.Length - 34), BinaryPrimitives.ReadUInt16BigEndian(joined.AsSpan(34 + 16)));

        // ...and completing it gives the sender's segment, IP header (length, checksum) included.
        BinaryPrimitives.WriteUInt16BigEndian(joined.AsSpan(34 + 16), (ushort)~Sum(joined.AsSpan(34), 0));
        Assert.Equal(expected, joined);
    }

    [Fact]
    public void SegmentsWithEqualOptionsJoinAndTheirLengthCounts()
    {
        byte[] options = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]; // NOP NOP timestamps
        Assert.True(_join.Start(Segment(1, Data(0, 100), options: options)));
        Assert.True(_join.TryAppend(Segment(101, Data(100, 100), options: options)));
        Assert.Equal(14 + 20 + 32, _join.HeaderLength);
        Assert.False(_join.TryAppend(Segment(201, Data(200, 100), options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2])));
        Assert.Equal(2, _join.Segments);
    }

    public static TheoryData<string, byte[]> NotAContinuation => new()
    {
        { "a gap in the sequence", Segment(2001, Data(1000, 1000)) },
        { "another acknowledgement", Segment(2000, Data(1000, 1000), ack: 1001) },
        { "another port", Segment(2000, Data(1000, 1000), sourcePort: 81) },
        { "FIN", Segment(2000, Data(1000, 1000), flags: Ack | Fin) },
        { "RST", Segment(2000, Data(1000, 1000), flags: Ack | Rst) },
        { "URG", Segment(2000, Data(1000, 1000), flags: Ack | Urg) },
        { "CWR", Segment(2000, Data(1000, 1000), flags: Ack | Cwr) },
        { "no data", Segment(2000, []) },
        { "more data than the first segment", Segment(2000, Data(1000, 1001)) },
        { "a bad TCP checksum", Corrupt(Segment(2000, Data(1000, 1000)), 60) },
        { "a bad IP header checksum", Corrupt(Segment(2000, Data(1000, 1000)), 14 + 8) },
        { "a fragment", Refragment(Segment(2000, Data(1000, 1000))) },
        { "a frame cut short", Segment(2000, Data(1000, 1000))[..1000] },
        { "not IPv4", Retype(Segment(2000, Data(1000, 1000))) },
    };

    [Theory]
    [MemberData(nameof(NotAContinuation))]
    public void ASegmentThatDoesNotContinueIsNotJoined(string why, byte[] frame)
    {
        Assert.True(_join.Start(Segment(1000, Data(0, 1000))), why);
        Assert.False(_join.TryAppend(frame), why);
        Assert.Equal(1, _join.Segments);
        Assert.True(_join.TryAppend(Segment(2000, Data(1000, 1000))), why);
    }

    [Fact]
    public void AShortSegmentOrPshEndsThePacket()
    {
        Assert.True(_join.Start(Segment(0, Data(0, 1000))));
        Assert.True(_join.TryAppend(Segment(1000, Data(1000, 999))));
        Assert.False(_join.TryAppend(Segment(1999, Data(1999, 999))));

        Assert.True(_join.Start(Segment(0, Data(0, 1000))));
        Assert.True(_join.TryAppend(Segment(1000, Data(1000, 1000), flags: Ack | Psh)));
        Assert.False(_join.TryAppend(Segment(2000, Data(2000, 1000))));
        Assert.False(_join.Start(Segment(0, Data(0, 1000), flags: Ack | Psh)));
        Assert.False(_join.Start(Segment(0, Data(0, 1000), flags: Syn | Ack)));
        Assert.False(_join.Start(Segment(0, [])));
    }

    [Fact]
    public void ThePacketStaysWithinAnIpv4PacketsLength()
    {
        // 1460-byte segments: 44 of them make 64240 bytes of data; the 45th would pass 65535.
        Assert.True(_join.Start(Segment(0, Data(0, 1460))));
        int n = 1;
        while (_join.TryAppend(Segment((uint)(n * 1460), Data(n * 1460, 1460))))
        {
            n++;
        }

        Assert.Equal(44, n);
        ReadOnlySpan<byte> joined = _join.Finish();
        Assert.Equal(20 + 20 + (44 * 1460), BinaryPrimitives.ReadUInt16BigEndian(joined[16..]));
        Assert.Equal(0xffffu, Sum(joined.Slice(14, 20), 0));
    }

    [Fact]
    public void ChecksumsAreValidatedForTcpAndUdp()
    {
        Assert.True(ReceiveChecksum.IsValid(Segment(1, Data(0, 333))));
        Assert.False(ReceiveChecksum.IsValid(Corrupt(Segment(1, Data(0, 333)), 100)));
        Assert.False(ReceiveChecksum.IsValid(Corrupt(Segment(1, Data(0, 333)), 14 + 12)));
        Assert.False(ReceiveChecksum.IsValid(Segment(1, Data(0, 333)).AsSpan(0, 200)));

        byte[] udp = Udp(Data(0, 9), withChecksum: true);
        Assert.True(ReceiveChecksum.IsValid(udp));
        Assert.False(ReceiveChecksum.IsValid(Corrupt(udp, 45)));
        Assert.False(ReceiveChecksum.IsValid(Udp(Data(0, 9), withChecksum: false))); // none to validate (RFC 768)
    }

    private static byte[] Corrupt(byte[] frame, int at)
    {
        frame[at] ^= 0x40;
        return frame;
    }

    // More fragments set, the IP header checksum corrected so that only the fragment makes it unfit.
    private static byte[] Refragment(byte[] frame)
    {
        frame[14 + 6] = 0x20;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14 + 10), 0);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14 + 10), (ushort)~Sum(frame.AsSpan(14, 20), 0));
        return frame;
    }

    private static byte[] Retype(byte[] frame)
    {
        frame[12] = 0x86;
        frame[13] = 0xdd;
        return frame;
    }

    private static byte[] Udp(byte[] payload, bool withChecksum)
    {
        byte[] frame = Segment(0, []);
        Array.Resize(ref frame, 14 + 20 + 8 + payload.Length);
        Span<byte> ip = frame.AsSpan(14);
        ip[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~Sum(ip[..20], 0));
        Span<byte> udp = ip[20..];
        udp.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(udp, 53);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 5353);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        if (withChecksum)
        {
            uint pseudo = Sum(ip.Slice(12, 8), 0) + 17 + (uint)(8 + payload.Length);
            BinaryPrimitives.WriteUInt16BigEndian(udp[6..], (ushort)~Sum(udp, pseudo));
        }

        return frame;
    }
}
