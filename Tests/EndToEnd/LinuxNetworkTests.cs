using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// One boot of the Debian guest with <c>--nic user</c> (virtio-net over libslirp), every check in
/// the same boot to keep CI short; all traffic stays on this machine's loopback:
/// <list type="bullet">
/// <item>busybox udhcpc gets 10.0.2.15 from libslirp's DHCP server, with 10.0.2.2 as gateway and 10.0.2.3 as DNS;</item>
/// <item>the guest's wget fetches 16 MiB from an HTTP server this test runs on the host's 127.0.0.1 (the guest's 10.0.2.2); the guest's sha256sum equals the host's;</item>
/// <item>hostfwd into the guest: the test sends 16 MiB to a forwarded port where the guest's nc listens; the guest's sha256sum equals the test's;</item>
/// <item>hostfwd out of the guest: the test fetches 16 MiB of the guest's own random data from the guest's httpd; the test's sha256 equals the guest's sha256sum;</item>
/// <item>DNS through 10.0.2.3: libslirp forwards to the nameserver of /etc/resolv.conf, which for emu is
/// (in a private mount namespace) a file naming 127.0.0.1, where this test answers one name; the guest's nslookup prints that answer.</item>
/// </list>
/// </summary>
public sealed class LinuxNetworkTests : IDisposable
{
    private const int Size = 16 << 20;
    private const string TestName = "emu-test.example";
    private const string TestNameAddress = "192.0.2.53"; // TEST-NET-1 (RFC 5737): never contacted, only printed

    private readonly string _dir = Directory.CreateTempSubdirectory("emu-net-").FullName;
    private readonly CancellationTokenSource _stop = new();

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [SkippableFact]
    public void DhcpHttpPortForwardsBothWaysAndDnsThroughUserNetworking()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        Skip.IfNot(NativeLibrary.TryLoad("libslirp.so.0", out nint lib), "libslirp is not installed (Debian package libslirp0; .ci/run installs it)");
        NativeLibrary.Free(lib);
        Skip.IfNot(Environment.UserName == "root" && File.Exists("/usr/bin/unshare"),
            "needs root: emu runs in a private mount namespace (unshare -m) whose /etc/resolv.conf names a DNS server this test runs on 127.0.0.1:53");

        byte[] served = RandomNumberGenerator.GetBytes(Size);
        byte[] pushed = RandomNumberGenerator.GetBytes(Size);
        using var http = new TcpListener(IPAddress.Loopback, 0);
        http.Start();
        int httpPort = ((IPEndPoint)http.LocalEndpoint).Port;
        Task serving = ServeOneFileAsync(http, served, _stop.Token);
        using var dns = new UdpClient(new IPEndPoint(IPAddress.Loopback, 53));
        Task answering = AnswerDnsAsync(dns, _stop.Token);

        int toGuestPort = FreePort(), fromGuestPort = FreePort();
        string resolvConf = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(resolvConf, "nameserver 127.0.0.1\n");
        using GuestConsole guest = GuestConsole.BootWrapped(
            ["/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", $"mount --bind {resolvConf} /etc/resolv.conf && exec \"$0\" \"$@\""],
            "--nic", $"user,hostfwd=tcp:127.0.0.1:{toGuestPort}-:5000,hostfwd=tcp:127.0.0.1:{fromGuestPort}-:80");
        guest.WaitForShell(TimeSpan.FromMinutes(15));

        // Each expected text appears only in the output, never in the typed command.
        guest.Command("udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; ifconfig eth0 | grep -o 'inet addr:[0-9.]*'", "inet addr:10.0.2.15", TimeSpan.FromMinutes(5));
        guest.Command("ip route | grep ^default", "default via 10.0.2.2 dev eth0");
        guest.Command("cat /etc/resolv.conf", "nameserver 10.0.2.3");

        guest.Command($"wget -q -O /tmp/f http://10.0.2.2:{httpPort}/f && sha256sum /tmp/f", Hex(served), TimeSpan.FromMinutes(10));

        guest.Command("nc -l -p 5000 </dev/null >/tmp/in & sleep 1; echo listening-$((6*7))", "listening-42");
        using (var client = new TcpClient())
        {
            client.Connect(IPAddress.Loopback, toGuestPort);
            using NetworkStream stream = client.GetStream();
            stream.Write(pushed);
            client.Client.Shutdown(SocketShutdown.Send);

            // The guest's nc closes when it has read everything; the read side sees that end.
            stream.ReadTimeout = (int)TimeSpan.FromMinutes(10).TotalMilliseconds;
            _ = stream.Read(new byte[1]);
        }

        guest.Command("wait; sha256sum /tmp/in", Hex(pushed), TimeSpan.FromMinutes(10));

        string listing = guest.Command("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/g bs=1M count=16 2>/dev/null && httpd -p 80 -h /tmp/www && sha256sum /tmp/www/g", "/tmp/www/g", TimeSpan.FromMinutes(5));
        string guestOwn = listing.Split('\n').Select(l => l.Trim()).First(l => l.EndsWith("/tmp/www/g", StringComparison.Ordinal) && l.Length > 64)[..64];
        using (var client = new HttpClient { Timeout = TimeSpan.FromMinutes(10) })
        {
            byte[] fetched = client.GetByteArrayAsync(new Uri($"http://127.0.0.1:{fromGuestPort}/g")).GetAwaiter().GetResult();
            Assert.Equal(Size, fetched.Length);
            Assert.Equal(guestOwn, Hex(fetched));
        }

        guest.Command($"nslookup {TestName} 10.0.2.3", $"Address: {TestNameAddress}", TimeSpan.FromMinutes(2));

        int? status = guest.PowerOff(TimeSpan.FromMinutes(2));
        Assert.True(status == 0, $"emu exit status {status?.ToString() ?? "none (still running)"} after poweroff -f; stderr: {guest.Stderr}");
        _stop.Cancel();
        Assert.True(serving.Wait(TimeSpan.FromSeconds(10)));
        _ = answering.Wait(TimeSpan.FromSeconds(10));
    }

    private static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    // A minimal HTTP/1.0 server: every GET gets the file and the connection closes.
    private static async Task ServeOneFileAsync(TcpListener listener, byte[] file, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using TcpClient client = await listener.AcceptTcpClientAsync(stop);
                using NetworkStream stream = client.GetStream();
                var request = new StringBuilder();
                var buffer = new byte[1024];
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    int n = await stream.ReadAsync(buffer, stop);
                    if (n == 0)
                    {
                        break;
                    }

                    request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {file.Length}\r\n\r\n"), stop);
                await stream.WriteAsync(file, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // Answers A queries for TestName with TestNameAddress (RFC 1035 §4.1), anything else with NXDOMAIN.
    private static async Task AnswerDnsAsync(UdpClient socket, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                UdpReceiveResult query = await socket.ReceiveAsync(stop);
                byte[] q = query.Buffer;
                if (q.Length < 12)
                {
                    continue;
                }

                // The question: labels up to the zero byte, then QTYPE and QCLASS.
                int end = 12;
                var name = new StringBuilder();
                while (end < q.Length && q[end] != 0)
                {
                    name.Append(name.Length > 0 ? "." : string.Empty).Append(Encoding.ASCII.GetString(q, end + 1, q[end]));
                    end += q[end] + 1;
                }

                end += 5;
                if (end > q.Length)
                {
                    continue;
                }

                ushort type = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(end - 4));
                bool known = string.Equals(name.ToString(), TestName, StringComparison.OrdinalIgnoreCase);
                bool answer = known && type == 1;
                var reply = new List<byte>(q.AsSpan(0, end).ToArray());
                reply[2] = (byte)(0x84 | (q[2] & 0x01)); // QR, AA, RD copied
                reply[3] = (byte)(known ? 0x00 : 0x03);   // NOERROR or NXDOMAIN
                reply[6] = 0;
                reply[7] = (byte)(answer ? 1 : 0);
                reply[8] = reply[9] = reply[10] = reply[11] = 0;
                if (answer)
                {
                    // Name by pointer to offset 12, type A, class IN, TTL 60, 4 bytes of address.
                    reply.AddRange([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04]);
                    reply.AddRange(IPAddress.Parse(TestNameAddress).GetAddressBytes());
                }

                await socket.SendAsync(reply.ToArray(), query.RemoteEndPoint, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
