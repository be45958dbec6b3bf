using System.Buffers.Binary;

namespace Emulator.Devices.Net;

/// <summary>
/// Checks the checksums of a received IPv4 TCP or UDP packet on the host, so that a network card
/// can tell the guest they are already validated (virtio-net's VIRTIO_NET_HDR_F_DATA_VALID,
/// Virtio 1.2 §5.1.6.4) and the guest's stack skips summing every byte again. Only a packet
/// whose IPv4 header checksum (RFC 791 §3.1) and TCP (RFC 9293 §3.1) or UDP (RFC 768) checksum
/// over the pseudo-header are both right counts as valid; a UDP datagram sent without a checksum
/// (0), fragments, IPv6 and anything malformed or cut short are "not validated" and the guest checks
/// them itself. The frame is untrusted: every length is checked before it is used.
/// </summary>
public static class ReceiveChecksum
{
    /// <summary>Ethernet header length and the IPv4 EtherType.</summary>
    public const int EthernetHeader = 14;

    /// <summary>IP protocol numbers.</summary>
    public const byte ProtocolTcp = 6, ProtocolUdp = 17;

    private const ushort EtherTypeIpv4 = 0x0800;

    /// <summary>True when <paramref name="frame"/> is an IPv4 TCP or UDP packet whose checksums are all right.</summary>
    public static bool IsValid(ReadOnlySpan<byte> frame)
    {
        if (!TryIpv4(frame, out int headerLength, out int totalLength, out byte protocol))
        {
            return false;
        }

        ReadOnlySpan<byte> ip = frame.Slice(EthernetHeader, totalLength);
        ReadOnlySpan<byte> transport = ip[headerLength..];
        if (protocol == ProtocolUdp)
        {
            // RFC 768: a zero checksum means the sender computed none; nothing to validate.
            return transport.Length >= 8 && BinaryPrimitives.ReadUInt16BigEndian(transport[6..]) != 0
                && BinaryPrimitives.ReadUInt16BigEndian(transport[4..]) == transport.Length
                && InternetChecksum.Sum(transport, PseudoHeaderSum(ip, protocol, transport.Length)) == 0xffff;
        }

        return protocol == ProtocolTcp && transport.Length >= 20
            && InternetChecksum.Sum(transport, PseudoHeaderSum(ip, protocol, transport.Length)) == 0xffff;
    }

    /// <summary>
    /// The IPv4 header of <paramref name="frame"/> if it is a whole, unfragmented packet with a
    /// correct header checksum: its length, the total length and the protocol.
    /// </summary>
    public static bool TryIpv4(ReadOnlySpan<byte> frame, out int headerLength, out int totalLength, out byte protocol)
    {
        headerLength = totalLength = 0;
        protocol = 0;
        if (frame.Length < EthernetHeader + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeIpv4)
        {
            return false;
        }

        ReadOnlySpan<byte> ip = frame[EthernetHeader..];
        headerLength = (ip[0] & 0xf) * 4;
        totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        protocol = ip[9];
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3fff) != 0;
        return ip[0] >> 4 == 4 && headerLength >= 20 && totalLength >= headerLength && totalLength <= ip.Length && !fragment
            && InternetChecksum.Sum(ip[..headerLength]) == 0xffff;
    }

    /// <summary>
    /// The ones' complement sum (folded, not complemented) of the IPv4 pseudo-header (RFC 9293
    /// §3.1, RFC 768): source, destination, protocol and the transport length.
    /// </summary>
    public static ushort PseudoHeaderSum(ReadOnlySpan<byte> ip, byte protocol, int transportLength)
    {
        ulong sum = (ulong)BinaryPrimitives.ReadUInt16BigEndian(ip[12..]) + BinaryPrimitives.ReadUInt16BigEndian(ip[14..])
            + BinaryPrimitives.ReadUInt16BigEndian(ip[16..]) + BinaryPrimitives.ReadUInt16BigEndian(ip[18..])
            + protocol + (ulong)transportLength;
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)sum;
    }
}
