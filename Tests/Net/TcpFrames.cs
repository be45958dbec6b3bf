using System.Buffers.Binary;

namespace Emulator.Tests.Net;

/// <summary>
/// IPv4 frames built by hand for the receive offload tests, their checksums summed here byte pair
/// by byte pair as RFC 1071 §1 describes (independently of the device's InternetChecksum).
/// </summary>
internal static class TcpFrames
{
    public const byte Ack = 0x10, Psh = 0x08, Fin = 0x01, Syn = 0x02, Rst = 0x04, Urg = 0x20, Cwr = 0x80;

    public static readonly byte[] GuestMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], HostMac = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];

    /// <summary>Ethernet + IPv4 (no options, DF) + TCP from 10.0.2.2:80 to 10.0.2.15:40000 with correct checksums.</summary>
    public static byte[] Segment(uint seq, ReadOnlySpan<byte> payload, byte flags = Ack, uint ack = 1000, ushort window = 65535,
        ushort sourcePort = 80, ReadOnlySpan<byte> options = default)
    {
        int tcpHeader = 20 + options.Length;
        var frame = new byte[14 + 20 + tcpHeader + payload.Length];
        GuestMac.CopyTo(frame, 0);
        HostMac.CopyTo(frame, 6);
        frame[12] = 0x08;
        Span<byte> ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + tcpHeader + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x1234);
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 6;
        new byte[] { 10, 0, 2, 2 }.CopyTo(ip[12..]);
        new byte[] { 10, 0, 2, 15 }.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~Sum(ip[..20], 0));
        Span<byte> tcp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 40000);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = (byte)((tcpHeader / 4) << 4);
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        options.CopyTo(tcp[20..]);
        payload.CopyTo(tcp[tcpHeader..]);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~Sum(tcp, Pseudo(ip, tcp.Length)));
        return frame;
    }

    /// <summary>The folded ones' complement sum of the IPv4 pseudo-header (RFC 9293 §3.1).</summary>
    public static uint Pseudo(ReadOnlySpan<byte> ip, int tcpLength)
    {
        uint sum = 0;
        for (int i = 12; i < 20; i += 2)
        {
            sum += (uint)((ip[i] << 8) | ip[i + 1]);
        }

        return Fold(sum + 6 + (uint)tcpLength);
    }

    /// <summary>The folded ones' complement sum of <paramref name="data"/> (odd byte padded with zero) plus <paramref name="initial"/>.</summary>
    public static uint Sum(ReadOnlySpan<byte> data, uint initial)
    {
        ulong sum = initial;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (ulong)((data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0));
        }

        return Fold(sum);
    }

    private static uint Fold(ulong sum)
    {
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (uint)sum;
    }

    /// <summary><paramref name="length"/> bytes of a repeatable pattern starting at <paramref name="from"/>.</summary>
    public static byte[] Data(int from, int length) => Enumerable.Range(from, length).Select(i => (byte)(i * 7 + (i >> 8))).ToArray();
}
