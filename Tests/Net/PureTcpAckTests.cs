using System.Buffers.Binary;
using Emulator.Devices.Net;
using Xunit;

namespace Emulator.Tests.Net;

/// <summary>
/// <see cref="PureTcpAck"/> against frames built field by field from the header layouts of RFC 791
/// (IPv4), RFC 8200 (IPv6) and RFC 9293 (TCP). SlirpBackendTests checks it against what libslirp
/// itself sends.
/// </summary>
public sealed class PureTcpAckTests
{
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40;

    // Ethernet (type 0x0800) + IPv4 (ihl words) + TCP (dataOffset words) + payload, then padding.
    private static byte[] Ipv4(byte flags, int payload = 0, int ihl = 5, int dataOffset = 5, ushort fragment = 0,
        byte protocol = 6, int padding = 0)
    {
        int ipLength = (ihl * 4) + (dataOffset * 4) + payload;
        var f = new byte[14 + ipLength + padding];
        f[12] = 0x08;
        Span<byte> ip = f.AsSpan(14);
        ip[0] = (byte)(0x40 | ihl);
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], fragment);
        ip[8] = 64;
        ip[9] = protocol;
        Span<byte> tcp = ip[(ihl * 4)..];
        tcp[12] = (byte)(dataOffset << 4);
        tcp[13] = flags;
        return f;
    }

    // Ethernet (type 0x86dd) + IPv6 fixed header + TCP, or another next header.
    private static byte[] Ipv6(byte flags, int payload = 0, byte nextHeader = 6)
    {
        int segment = 20 + payload;
        var f = new byte[14 + 40 + segment];
        f[12] = 0x86;
        f[13] = 0xdd;
        Span<byte> ip = f.AsSpan(14);
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)segment);
        ip[6] = nextHeader;
        ip[7] = 64;
        Span<byte> tcp = ip[40..];
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        return f;
    }

    [Fact]
    public void ABareAckIsOne()
    {
        Assert.True(PureTcpAck.Is(Ipv4(Ack)));
        Assert.True(PureTcpAck.Is(Ipv4(Ack | Psh)));
        Assert.True(PureTcpAck.Is(Ipv4(Ack | Ece)));
        Assert.True(PureTcpAck.Is(Ipv6(Ack)));
    }

    [Fact]
    public void OptionsInEitherHeaderAndEthernetPaddingDoNotChangeThat()
    {
        Assert.True(PureTcpAck.Is(Ipv4(Ack, ihl: 6)));
        Assert.True(PureTcpAck.Is(Ipv4(Ack, dataOffset: 8)));      // e.g. timestamps or SACK blocks
        Assert.True(PureTcpAck.Is(Ipv4(Ack, padding: 6)));         // padded to Ethernet's 60 bytes
    }

    [Theory]
    [InlineData(Syn | Ack)]
    [InlineData(Fin | Ack)]
    [InlineData(Rst | Ack)]
    [InlineData(Urg | Ack)]
    [InlineData(Rst)]
    [InlineData(Psh)]
    [InlineData(0)]
    public void ConnectionControlOrNoAckIsNot(byte flags)
    {
        Assert.False(PureTcpAck.Is(Ipv4(flags)));
        Assert.False(PureTcpAck.Is(Ipv6(flags)));
    }

    [Fact]
    public void ASegmentWithDataIsNot()
    {
        Assert.False(PureTcpAck.Is(Ipv4(Ack, payload: 1)));
        Assert.False(PureTcpAck.Is(Ipv4(Ack | Psh, payload: 1448)));
        Assert.False(PureTcpAck.Is(Ipv6(Ack, payload: 1)));
    }

    [Theory]
    [InlineData((ushort)0x2000)]   // more fragments
    [InlineData((ushort)0x0001)]   // a later fragment
    public void AnIpv4FragmentIsNot(ushort fragment) => Assert.False(PureTcpAck.Is(Ipv4(Ack, fragment: fragment)));

    [Fact]
    public void DontFragmentIsNoFragment() => Assert.True(PureTcpAck.Is(Ipv4(Ack, fragment: 0x4000)));

    [Fact]
    public void OtherProtocolsAreNot()
    {
        Assert.False(PureTcpAck.Is(Ipv4(Ack, protocol: 17)));     // UDP
        Assert.False(PureTcpAck.Is(Ipv6(Ack, nextHeader: 0)));    // hop-by-hop options first
        byte[] arp = new byte[42];
        arp[12] = 0x08;
        arp[13] = 0x06;
        Assert.False(PureTcpAck.Is(arp));
        byte[] vlan = Ipv4(Ack);
        vlan[12] = 0x81;                                          // an 802.1Q tag where the type was
        vlan[13] = 0x00;
        Assert.False(PureTcpAck.Is(vlan));
    }

    [Fact]
    public void HeaderLengthsThatDoNotFitAreNot()
    {
        byte[] shortIhl = Ipv4(Ack);
        shortIhl[14] = 0x44;                                      // IHL 4: shorter than the fixed header
        Assert.False(PureTcpAck.Is(shortIhl));
        byte[] longTotal = Ipv4(Ack);
        BinaryPrimitives.WriteUInt16BigEndian(longTotal.AsSpan(16), 41);
        Assert.False(PureTcpAck.Is(longTotal));
        byte[] shortOffset = Ipv4(Ack);
        shortOffset[14 + 20 + 12] = 4 << 4;                        // data offset below 5 words
        Assert.False(PureTcpAck.Is(shortOffset));
        byte[] longOffset = Ipv4(Ack);
        longOffset[14 + 20 + 12] = 15 << 4;                        // header longer than the segment
        Assert.False(PureTcpAck.Is(longOffset));
        byte[] longIpv6 = Ipv6(Ack);
        BinaryPrimitives.WriteUInt16BigEndian(longIpv6.AsSpan(14 + 4), 21);
        Assert.False(PureTcpAck.Is(longIpv6));
    }

    [Fact]
    public void EveryTruncationOfAnAckIsNotOneAndNoneThrows()
    {
        foreach (byte[] ack in new[] { Ipv4(Ack, dataOffset: 8), Ipv6(Ack) })
        {
            for (int length = 0; length < ack.Length; length++)
            {
                Assert.False(PureTcpAck.Is(ack.AsSpan(0, length)));
            }
        }
    }
}
