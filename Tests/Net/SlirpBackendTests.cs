using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Emulator.Backends.Net;
using Emulator.Core.Net;
using Emulator.Devices.Net;
using Xunit;

namespace Emulator.Tests.Net;

/// <summary>
/// The libslirp backend without a guest: the test plays the guest's network card, hand-building
/// frames (RFC 791 IPv4, RFC 793 TCP, RFC 2131 DHCP) and reading what libslirp sends back, with a
/// listener on the host's 127.0.0.1 as the other end. libslirp itself is the oracle for DHCP; the
/// host kernel's accept() says whether a guest's connection reached the host.
/// </summary>
public sealed class SlirpBackendTests
{
    private static readonly byte[] GuestMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    private static void SkipWithoutLibslirp() =>
        Skip.IfNot(NativeLibrary.TryLoad("libslirp.so.0", out _), "libslirp is not installed (Debian package libslirp0; .ci/run installs it)");

    [SkippableFact]
    public void DhcpOffersTheGuest10_0_2_15WithGatewayAndDns()
    {
        SkipWithoutLibslirp();
        var frames = new BlockingCollection<byte[]>();
        using var slirp = new SlirpBackend(new SlirpOptions());
        slirp.Start(new TestGuest(slirp, frames));
        slirp.Send(DhcpDiscover(0x1234_5678));

        byte[] offer = WaitFor(frames, f => IsUdp(f, 67, 68), "a DHCP reply");
        int bootp = 14 + 20 + 8;
        Assert.Equal(2, offer[bootp]);                                                     // op BOOTREPLY
        Assert.Equal(0x1234_5678u, BinaryPrimitives.ReadUInt32BigEndian(offer.AsSpan(bootp + 4)));  // xid echoed
        Assert.Equal(IPAddress.Parse("10.0.2.15"), new IPAddress(offer.AsSpan(bootp + 16, 4)));       // yiaddr
        Dictionary<byte, byte[]> options = DhcpOptions(offer.AsSpan(bootp + 240));
        Assert.Equal([2], options[53]);                                                    // DHCPOFFER
        Assert.Equal(IPAddress.Parse("10.0.2.2"), new IPAddress(options[3]));              // router
        Assert.Equal(IPAddress.Parse("10.0.2.3"), new IPAddress(options[6]));              // DNS
        Assert.Equal(IPAddress.Parse("255.255.255.0"), new IPAddress(options[1]));         // subnet mask
        Assert.Equal(GuestMac, offer.AsSpan(bootp + 28, 6).ToArray());                     // chaddr: for this card
    }

    [SkippableFact]
    public void WhatLibslirpAnswersAtOnceReachesTheCardBeforeSendReturnsAndNeedsNoDeliver()
    {
        // libslirp answers DHCP from inside slirp_input: the offer is handed to the receiver on the
        // transmitting thread, during Send, and left for the card to deliver after its transmit batch.
        SkipWithoutLibslirp();
        var frames = new BlockingCollection<byte[]>();
        using var slirp = new SlirpBackend(new SlirpOptions());
        var guest = new TestGuest(slirp, frames);
        slirp.Start(guest);
        Thread.Sleep(200);                     // the slirp thread is polling

        int thread = Environment.CurrentManagedThreadId;
        Assert.True(slirp.Send(DhcpDiscover(0x0bad_cafe)));
        Assert.True(frames.TryTake(out byte[]? offer), "the DHCP offer had not arrived when Send returned");
        Assert.True(IsUdp(offer, 67, 68));
        Assert.Equal(thread, guest.LastReceiveThread);
        Assert.Equal(0, guest.Deliveries);
    }

    [SkippableFact]
    public void AGuestsTcpSegmentReachesTheHostSocketAndTheHostsBytesComeBackInBatches()
    {
        // The guest connects to the host's listener and sends a line; the host answers. The SYN and
        // the data go into libslirp on the sending thread; the host's answer is read by the slirp
        // thread, which hands it over and then delivers the batch.
        SkipWithoutLibslirp();
        using var host = new TcpListener(IPAddress.Loopback, 0);
        host.Start();
        var frames = new BlockingCollection<byte[]>();
        using var slirp = new SlirpBackend(new SlirpOptions());
        var guest = new TestGuest(slirp, frames);
        slirp.Start(guest);
        slirp.Send(TcpSyn(((IPEndPoint)host.LocalEndpoint).Port));
        using Socket accepted = host.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        byte[] synAck = WaitFor(frames, f => IsTcp(f) && (f[14 + 20 + 13] & 0x12) == 0x12, "a SYN-ACK");
        uint serverSequence = BinaryPrimitives.ReadUInt32BigEndian(synAck.AsSpan(14 + 20 + 4));

        Assert.False(PureTcpAck.Is(synAck));

        byte[] line = "hello from the guest\n"u8.ToArray();
        slirp.Send(TcpSegment(((IPEndPoint)host.LocalEndpoint).Port, 1001, serverSequence + 1, 0x18, line));

        // libslirp acknowledges the line at once (its tcp_input ACKs short segments immediately):
        // a bare ACK, which the card may hold back (VirtioNet).
        byte[] ack = WaitFor(frames, f => IsTcp(f) && BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(14 + 20 + 8)) == 1001 + (uint)line.Length, "the ACK of the line");
        Assert.True(PureTcpAck.Is(ack));
        var got = new byte[line.Length];
        accepted.ReceiveTimeout = 30_000;
        int n = 0;
        while (n < got.Length)
        {
            n += accepted.Receive(got, n, got.Length - n, SocketFlags.None);
        }

        Assert.Equal(line, got);
        accepted.Send("hello from the host\n"u8.ToArray());
        // The payload: the IPv4 total length less the IP and TCP headers (RFC 791, RFC 793 data offset).
        static int PayloadLength(byte[] f) => BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(16)) - 20 - ((f[14 + 20 + 12] >> 4) * 4);
        byte[] data = WaitFor(frames, f => IsTcp(f) && PayloadLength(f) > 0, "the host's bytes");
        int offset = 14 + 20 + ((data[14 + 20 + 12] >> 4) * 4);
        Assert.Equal("hello from the host\n"u8.ToArray(), data.AsSpan(offset, PayloadLength(data)).ToArray());
        Assert.False(PureTcpAck.Is(data));
        Assert.NotEqual(Environment.CurrentManagedThreadId, guest.LastReceiveThread);
        Assert.True(guest.Deliveries > 0, "the slirp thread handed frames over without delivering them");
    }

    [SkippableFact]
    public void AGuestConnectionTo10_0_2_2ReachesTheHostsLoopback()
    {
        SkipWithoutLibslirp();
        using var host = new TcpListener(IPAddress.Loopback, 0);
        host.Start();
        using var slirp = new SlirpBackend(new SlirpOptions());
        slirp.Start(new TestGuest(slirp, null));
        slirp.Send(TcpSyn(((IPEndPoint)host.LocalEndpoint).Port));

        using Socket accepted = host.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        Assert.True(IPAddress.IsLoopback(((IPEndPoint)accepted.RemoteEndPoint!).Address));
    }

    [SkippableFact]
    public void RestrictOnRefusesTheGuestsConnectionWithAReset()
    {
        SkipWithoutLibslirp();
        using var host = new TcpListener(IPAddress.Loopback, 0);
        host.Start();
        var frames = new BlockingCollection<byte[]>();
        using var slirp = new SlirpBackend(new SlirpOptions { Restrict = true });
        slirp.Start(new TestGuest(slirp, frames));
        slirp.Send(TcpSyn(((IPEndPoint)host.LocalEndpoint).Port));

        // RFC 793: a refused SYN is answered with RST|ACK; the host never sees a connection.
        byte[] reply = WaitFor(frames, f => IsTcp(f), "a TCP reply");
        Assert.Equal(0x14, reply[14 + 20 + 13] & 0x14);
        Thread.Sleep(1000);
        Assert.False(host.Pending());
    }

    [SkippableFact]
    public void UdpHostForwardCarriesADatagramInAndTheReplyOut()
    {
        SkipWithoutLibslirp();
        int port;
        using (var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
        }

        var frames = new BlockingCollection<byte[]>();
        using var slirp = new SlirpBackend(new SlirpOptions { HostForwards = [HostForward.Parse($"udp:127.0.0.1:{port}-:7")] });
        slirp.Start(new TestGuest(slirp, frames));
        using var host = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        host.Send("ping from the host"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, port));

        // In: a datagram to 10.0.2.15:7 carrying the host's bytes.
        byte[] inbound = WaitFor(frames, f => IsIpv4(f, 17) && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(36)) == 7, "the forwarded datagram");
        Assert.Equal(IPAddress.Parse("10.0.2.15"), new IPAddress(inbound.AsSpan(30, 4)));
        int length = BinaryPrimitives.ReadUInt16BigEndian(inbound.AsSpan(38)) - 8;
        Assert.Equal("ping from the host"u8.ToArray(), inbound.AsSpan(42, length).ToArray());

        // Out: the guest's reply, to where the datagram came from, reaches the host's socket.
        byte[] payload = "pong from the guest"u8.ToArray();
        byte[] reply = Ipv4Frame(17, [10, 0, 2, 15], inbound.AsSpan(26, 4).ToArray(), inbound.AsSpan(6, 6).ToArray(), 8 + payload.Length);
        Span<byte> udp = reply.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 7);
        inbound.AsSpan(34, 2).CopyTo(udp[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], InternetChecksum.Compute(udp, PseudoHeaderSum(reply, 17, 8 + payload.Length)));
        slirp.Send(reply);

        host.Client.ReceiveTimeout = 30_000;
        IPEndPoint? from = null;
        Assert.Equal(payload, host.Receive(ref from));
        Assert.Equal(port, from.Port);
    }

    [SkippableFact]
    public void BytesWaitingOnAForwardedConnectionReachTheCardDuringTheSendOfTheGuestsSynAck()
    {
        // A host client connects through a port forward and sends its request at once, before the
        // guest has answered libslirp's SYN; libslirp does not poll the accepted socket until the
        // guest's SYN-ACK makes the connection established. That SYN-ACK changes the set libslirp
        // wants polled, so the backend polls it on the transmitting thread: the request, already in
        // the host kernel's socket, reaches the card before Send returns, on this thread, in the
        // same transmit batch (no wake-up of the slirp thread on the way).
        SkipWithoutLibslirp();
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var frames = new BlockingCollection<byte[]>();
        using var slirp = new SlirpBackend(new SlirpOptions { HostForwards = [HostForward.Parse($"tcp:127.0.0.1:{port}-:80")] });
        var guest = new TestGuest(slirp, frames);
        slirp.Start(guest);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(IPAddress.Loopback, port);
        byte[] request = "GET / HTTP/1.0\r\n\r\n"u8.ToArray();
        client.Send(request);

        byte[] syn = WaitFor(frames, f => IsTcp(f) && (f[14 + 20 + 13] & 0x12) == 0x02, "the forwarded connection's SYN");
        Assert.Equal(80, BinaryPrimitives.ReadUInt16BigEndian(syn.AsSpan(36)));
        Thread.Sleep(200);                     // the slirp thread is polling again, without the new socket
        Assert.Empty(frames);

        uint synSequence = BinaryPrimitives.ReadUInt32BigEndian(syn.AsSpan(14 + 20 + 4));
        int thread = Environment.CurrentManagedThreadId;
        Assert.True(slirp.Send(TcpAnswer(syn, 5000, synSequence + 1, 0x12)));

        // Everything libslirp handed over during Send: its ACK of the SYN-ACK and the request.
        var during = new List<byte[]>();
        while (frames.TryTake(out byte[]? f))
        {
            during.Add(f);
        }

        static int PayloadLength(byte[] f) => BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(16)) - 20 - ((f[14 + 20 + 12] >> 4) * 4);
        byte[]? data = during.Find(f => IsTcp(f) && PayloadLength(f) > 0);
        Assert.True(data is not null, $"the host client's request had not reached the card when Send returned ({during.Count} frames did)");
        int offset = 14 + 20 + ((data[14 + 20 + 12] >> 4) * 4);
        Assert.Equal(request, data.AsSpan(offset, PayloadLength(data)).ToArray());
        Assert.Equal(synSequence + 1, BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(14 + 20 + 4)));
        Assert.Equal(thread, guest.LastReceiveThread);
    }

    // The guest's side of the wire: answers libslirp's ARP requests for 10.0.2.15 (RFC 826) at once,
    // from inside the callback (so the backend must take a frame sent from there), keeps the rest.
    private sealed class TestGuest(SlirpBackend slirp, BlockingCollection<byte[]>? frames) : INetReceiver
    {
        private int _deliveries;

        public int Deliveries => Volatile.Read(ref _deliveries);

        public int LastReceiveThread { get; private set; }

        public void Receive(ReadOnlySpan<byte> f)
        {
            LastReceiveThread = Environment.CurrentManagedThreadId;
            if (f.Length >= 42 && f[12] == 0x08 && f[13] == 0x06 && BinaryPrimitives.ReadUInt16BigEndian(f[20..]) == 1
                && f.Slice(38, 4).SequenceEqual(new byte[] { 10, 0, 2, 15 }))
            {
                var reply = new byte[42];
                f.Slice(6, 6).CopyTo(reply);
                GuestMac.CopyTo(reply, 6);
                reply[12] = 0x08;
                reply[13] = 0x06;
                f.Slice(14, 6).CopyTo(reply.AsSpan(14)); // hardware and protocol types and sizes
                reply[21] = 2;                            // reply
                GuestMac.CopyTo(reply, 22);
                new byte[] { 10, 0, 2, 15 }.CopyTo(reply, 28);
                f.Slice(22, 10).CopyTo(reply.AsSpan(32)); // the asker's MAC and IP become the target
                slirp.Send(reply);
                return;
            }

            frames?.Add(f.ToArray());
        }

        public void Deliver() => Interlocked.Increment(ref _deliveries);
    }

    private static byte[] WaitFor(BlockingCollection<byte[]> frames, Func<byte[], bool> wanted, string what)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (frames.TryTake(out byte[]? f, TimeSpan.FromSeconds(1)) && wanted(f))
            {
                return f;
            }
        }

        throw new TimeoutException($"libslirp sent no {what} within 30 s");
    }

    private static bool IsIpv4(byte[] f, byte protocol) => f.Length >= 34 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == protocol;

    private static bool IsTcp(byte[] f) => IsIpv4(f, 6) && f.Length >= 54;

    private static bool IsUdp(byte[] f, int sourcePort, int destinationPort) =>
        IsIpv4(f, 17) && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(34)) == sourcePort && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(36)) == destinationPort;

    private static Dictionary<byte, byte[]> DhcpOptions(ReadOnlySpan<byte> options)
    {
        var result = new Dictionary<byte, byte[]>();
        for (int i = 0; i < options.Length && options[i] != 255;)
        {
            if (options[i] == 0)
            {
                i++;
                continue;
            }

            result[options[i]] = options.Slice(i + 2, options[i + 1]).ToArray();
            i += 2 + options[i + 1];
        }

        return result;
    }

    // Ethernet + IPv4 header around a transport payload whose checksum the caller fills in.
    private static byte[] Ipv4Frame(byte protocol, byte[] source, byte[] destination, byte[] destinationMac, int transportLength)
    {
        var f = new byte[14 + 20 + transportLength];
        destinationMac.CopyTo(f, 0);
        GuestMac.CopyTo(f, 6);
        f[12] = 0x08;
        Span<byte> ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + transportLength));
        ip[8] = 64;
        ip[9] = protocol;
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip));
        return f;
    }

    private static ushort PseudoHeaderSum(byte[] frame, byte protocol, int transportLength)
    {
        Span<byte> pseudo = stackalloc byte[12];
        frame.AsSpan(14 + 12, 8).CopyTo(pseudo);
        pseudo[9] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo[10..], (ushort)transportLength);
        return InternetChecksum.Sum(pseudo);
    }

    private static byte[] TcpSyn(int port) => TcpSegment(port, 1000, 0, 0x02, []);

    // A segment from 10.0.2.15:40000 to 10.0.2.2:port (RFC 793 header, no options).
    private static byte[] TcpSegment(int port, uint sequence, uint acknowledgment, byte flags, byte[] payload)
    {
        byte[] f = Ipv4Frame(6, [10, 0, 2, 15], [10, 0, 2, 2], [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02], 20 + payload.Length);
        Span<byte> tcp = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], (ushort)port);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], acknowledgment);
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 64240);
        payload.CopyTo(tcp[20..]);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Compute(tcp, PseudoHeaderSum(f, 6, 20 + payload.Length)));
        return f;
    }

    // The guest's answer to a TCP segment libslirp sent it: addresses and ports swapped (RFC 793 header, no options).
    private static byte[] TcpAnswer(byte[] to, uint sequence, uint acknowledgment, byte flags)
    {
        byte[] f = Ipv4Frame(6, to.AsSpan(30, 4).ToArray(), to.AsSpan(26, 4).ToArray(), to.AsSpan(6, 6).ToArray(), 20);
        Span<byte> tcp = f.AsSpan(34);
        to.AsSpan(36, 2).CopyTo(tcp);
        to.AsSpan(34, 2).CopyTo(tcp[2..]);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], acknowledgment);
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 64240);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Compute(tcp, PseudoHeaderSum(f, 6, 20)));
        return f;
    }

    private static byte[] DhcpDiscover(uint xid)
    {
        var bootp = new byte[240 + 4];
        bootp[0] = 1; // BOOTREQUEST
        bootp[1] = 1; // Ethernet
        bootp[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(bootp.AsSpan(4), xid);
        GuestMac.CopyTo(bootp, 28);
        BinaryPrimitives.WriteUInt32BigEndian(bootp.AsSpan(236), 0x63825363); // magic cookie
        bootp[240] = 53;
        bootp[241] = 1;
        bootp[242] = 1; // DHCPDISCOVER
        bootp[243] = 255;
        byte[] f = Ipv4Frame(17, [0, 0, 0, 0], [255, 255, 255, 255], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 8 + bootp.Length);
        Span<byte> udp = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 68);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 67);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + bootp.Length));
        bootp.CopyTo(udp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], InternetChecksum.Compute(udp, PseudoHeaderSum(f, 17, 8 + bootp.Length)));
        return f;
    }
}
