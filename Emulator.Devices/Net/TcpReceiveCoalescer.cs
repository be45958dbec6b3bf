using System.Buffers.Binary;

namespace Emulator.Devices.Net;

/// <summary>
/// Joins consecutive TCP segments of one IPv4 flow, received from the host in one batch, into one
/// large segment that a network card hands to the guest as a receive segmentation offload packet
/// (virtio-net's VIRTIO_NET_HDR_GSO_TCPV4 with NEEDS_CSUM, Virtio 1.2 §5.1.6.4): the guest's stack
/// then takes one packet where it would take up to 44, which is what a Linux guest gets from a tap
/// device whose host did GRO. The rules are those under which the result means exactly what the
/// segments meant (RFC 9293 §3.1, §3.10.7.4):
/// <list type="bullet">
/// <item>each segment is a whole IPv4 packet (no options, no fragment) with correct IP and TCP checksums;</item>
/// <item>same Ethernet header, addresses, ports, TOS, TTL, DF, acknowledgement number and TCP options;</item>
/// <item>flags ACK, or ACK|PSH on the last one; no SYN, FIN, RST, URG, CWR or ECE;</item>
/// <item>each segment's sequence number continues the previous one, every segment but the last
/// carries exactly the first one's payload length (the MSS the guest is told, gso_size), and the
/// result stays within an IPv4 packet's 65535 bytes.</item>
/// </list>
/// The joined packet keeps the first segment's headers with the total length, the IP header
/// checksum, the latest window and the last PSH updated; its TCP checksum field holds the
/// pseudo-header sum (as for CHECKSUM_PARTIAL), so the checksum is completed from
/// <see cref="ChecksumStart"/> to the end when the packet is segmented again or forwarded.
/// Frames are untrusted: every length is checked before it is used.
/// </summary>
public sealed class TcpReceiveCoalescer
{
    /// <summary>The longest frame a joined packet makes: Ethernet header and a 65535-byte IPv4 packet.</summary>
    public const int MaxFrameLength = ReceiveChecksum.EthernetHeader + 65535;

    // TCP control bits (RFC 9293 §3.1, RFC 3168 §6.1).
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40, Cwr = 0x80;

    private readonly byte[] _frame = new byte[MaxFrameLength];
    private int _length;
    private int _headerLength;
    private int _tcpOffset;
    private uint _nextSeq;
    private bool _closed;

    /// <summary>Segments joined so far.</summary>
    public int Segments { get; private set; }

    /// <summary>The payload length of the first segment: the MSS (virtio's gso_size).</summary>
    public int SegmentSize { get; private set; }

    /// <summary>Ethernet, IP and TCP headers of the joined packet (virtio's hdr_len).</summary>
    public int HeaderLength => _headerLength;

    /// <summary>Where the TCP header starts in the frame (virtio's csum_start).</summary>
    public int ChecksumStart => _tcpOffset;

    /// <summary>The TCP checksum field's offset in the TCP header (virtio's csum_offset).</summary>
    public static int ChecksumOffset => 16;

    /// <summary>
    /// Starts a packet with <paramref name="frame"/>; false (nothing started) when the frame cannot
    /// begin one: not a data segment of the kind described above, or a checksum is wrong.
    /// </summary>
    public bool Start(ReadOnlySpan<byte> frame)
    {
        Segments = 0;
        if (!Parse(frame, out int ipTotal, out int tcpHeader, out byte flags) || (flags & Psh) != 0)
        {
            return false;
        }

        _tcpOffset = ReceiveChecksum.EthernetHeader + 20;
        _headerLength = _tcpOffset + tcpHeader;
        int payload = ReceiveChecksum.EthernetHeader + ipTotal - _headerLength;
        if (payload == 0)
        {
            return false;
        }

        _length = ReceiveChecksum.EthernetHeader + ipTotal;
        frame[.._length].CopyTo(_frame);
        SegmentSize = payload;
        _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(frame[(_tcpOffset + 4)..]) + (uint)payload;
        _closed = false;
        Segments = 1;
        return true;
    }

    /// <summary>Appends <paramref name="frame"/> if it continues the packet; false (nothing changed) otherwise.</summary>
    public bool TryAppend(ReadOnlySpan<byte> frame)
    {
        if (Segments == 0 || _closed || !Parse(frame, out int ipTotal, out int tcpHeader, out byte flags)
            || _tcpOffset + tcpHeader != _headerLength)
        {
            return false;
        }

        int payload = ReceiveChecksum.EthernetHeader + ipTotal - _headerLength;
        ReadOnlySpan<byte> first = _frame;
        ReadOnlySpan<byte> ip = frame[ReceiveChecksum.EthernetHeader..];
        ReadOnlySpan<byte> firstIp = first[ReceiveChecksum.EthernetHeader..];
        ReadOnlySpan<byte> tcp = frame[_tcpOffset..];
        ReadOnlySpan<byte> firstTcp = first[_tcpOffset..];
        bool continues = payload > 0 && payload <= SegmentSize && _length + payload <= MaxFrameLength
            && frame[..ReceiveChecksum.EthernetHeader].SequenceEqual(first[..ReceiveChecksum.EthernetHeader])
            && ip[1] == firstIp[1] && ip[8] == firstIp[8] && (ip[6] & 0x40) == (firstIp[6] & 0x40)
            && ip.Slice(12, 8).SequenceEqual(firstIp.Slice(12, 8))
            && tcp[..4].SequenceEqual(firstTcp[..4])
            && BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]) == _nextSeq
            && tcp.Slice(8, 4).SequenceEqual(firstTcp.Slice(8, 4))
            && tcp[20..tcpHeader].SequenceEqual(firstTcp[20..tcpHeader]);
        if (!continues)
        {
            return false;
        }

        frame.Slice(_headerLength, payload).CopyTo(_frame.AsSpan(_length));
        _length += payload;
        _nextSeq += (uint)payload;
        Segments++;

        // The latest window and PSH; a short segment or PSH ends the packet (only the last may be either).
        Span<byte> joinedTcp = _frame.AsSpan(_tcpOffset);
        tcp.Slice(14, 2).CopyTo(joinedTcp[14..]);
        joinedTcp[13] |= (byte)(flags & Psh);
        _closed = payload < SegmentSize || (flags & Psh) != 0;
        return true;
    }

    /// <summary>The packet as <see cref="Finish"/> left it, until the next <see cref="Start"/>.</summary>
    public ReadOnlySpan<byte> Joined => _frame.AsSpan(0, _length);

    /// <summary>
    /// The joined packet, its IPv4 total length and header checksum and its TCP checksum field (the
    /// pseudo-header sum) written; valid until the next <see cref="Start"/>.
    /// </summary>
    public ReadOnlySpan<byte> Finish()
    {
        Span<byte> ip = _frame.AsSpan(ReceiveChecksum.EthernetHeader, _length - ReceiveChecksum.EthernetHeader);
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ip.Length);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..20]));
        int tcpLength = _length - _tcpOffset;
        ushort pseudo = ReceiveChecksum.PseudoHeaderSum(ip, ReceiveChecksum.ProtocolTcp, tcpLength);
        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(_tcpOffset + ChecksumOffset), pseudo);
        return _frame.AsSpan(0, _length);
    }

    // A whole IPv4 packet without options, carrying a TCP segment with correct checksums and only
    // ACK (and PSH) set: its IP total length, TCP header length and flags.
    private static bool Parse(ReadOnlySpan<byte> frame, out int ipTotal, out int tcpHeader, out byte flags)
    {
        tcpHeader = 0;
        flags = 0;
        if (!ReceiveChecksum.TryIpv4(frame, out int ipHeader, out ipTotal, out byte protocol) || ipHeader != 20
            || protocol != ReceiveChecksum.ProtocolTcp || ipTotal < 40)
        {
            return false;
        }

        ReadOnlySpan<byte> tcp = frame.Slice(ReceiveChecksum.EthernetHeader + 20, ipTotal - 20);
        tcpHeader = (tcp[12] >> 4) * 4;
        flags = tcp[13];
        return tcpHeader >= 20 && tcpHeader <= tcp.Length
            && (flags & Ack) != 0 && (flags & (Fin | Syn | Rst | Urg | Ece | Cwr)) == 0
            && ReceiveChecksum.IsValid(frame);
    }
}
