using System.Buffers.Binary;

namespace Emulator.Devices.Net;

/// <summary>
/// Recognises an Ethernet frame that carries a bare TCP acknowledgement: an IPv4 or IPv6 packet
/// holding a TCP segment with ACK set, no data and none of SYN, FIN, RST or URG. Nobody waits for
/// such a frame: the sender it acknowledges keeps sending while its window lasts, so a network card
/// may hold it back briefly and hand it over together with later ones (see <see cref="Virtio.VirtioNet"/>).
/// Everything else (ARP, DHCP, DNS, ICMP, data, connection setup and teardown, IP fragments, IPv6
/// extension headers, VLAN tags, anything malformed or cut short) is "not a bare ACK".
/// The frame is untrusted: every length is checked before it is used.
/// </summary>
public static class PureTcpAck
{
    private const ushort EtherTypeIpv4 = 0x0800, EtherTypeIpv6 = 0x86dd;
    private const int EthernetHeader = 14, Ipv6Header = 40, TcpHeader = 20;
    private const byte ProtocolTcp = 6;

    // TCP control bits (RFC 9293 §3.1).
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Ack = 0x10, Urg = 0x20;

    /// <summary>True when <paramref name="frame"/> (destination MAC first) is a bare TCP acknowledgement.</summary>
    public static bool Is(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetHeader)
        {
            return false;
        }

        ReadOnlySpan<byte> packet = frame[EthernetHeader..];
        return BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) switch
        {
            EtherTypeIpv4 => Ipv4Segment(packet, out ReadOnlySpan<byte> segment) && IsBareAck(segment),
            EtherTypeIpv6 => Ipv6Segment(packet, out ReadOnlySpan<byte> segment) && IsBareAck(segment),
            _ => false,
        };
    }

    // RFC 791 §3.1: version and IHL, total length, flags and fragment offset, protocol. A fragment
    // (MF set or a non-zero offset) is not a whole segment.
    private static bool Ipv4Segment(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> segment)
    {
        segment = default;
        if (packet.Length < 20 || packet[0] >> 4 != 4)
        {
            return false;
        }

        int headerLength = (packet[0] & 0xf) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3fff) != 0;
        if (headerLength < 20 || totalLength < headerLength || totalLength > packet.Length || fragment || packet[9] != ProtocolTcp)
        {
            return false;
        }

        segment = packet[headerLength..totalLength];
        return true;
    }

    // RFC 8200 §3: payload length, next header. Only TCP directly after the fixed header counts.
    private static bool Ipv6Segment(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> segment)
    {
        segment = default;
        if (packet.Length < Ipv6Header || packet[0] >> 4 != 6 || packet[6] != ProtocolTcp)
        {
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        if (payloadLength > packet.Length - Ipv6Header)
        {
            return false;
        }

        segment = packet.Slice(Ipv6Header, payloadLength);
        return true;
    }

    // RFC 9293 §3.1: the data offset counts 32-bit words of header (options included); what follows is data.
    private static bool IsBareAck(ReadOnlySpan<byte> segment)
    {
        if (segment.Length < TcpHeader)
        {
            return false;
        }

        int dataOffset = (segment[12] >> 4) * 4;
        byte flags = segment[13];
        return dataOffset >= TcpHeader && dataOffset == segment.Length
            && (flags & Ack) != 0 && (flags & (Syn | Fin | Rst | Urg)) == 0;
    }
}
