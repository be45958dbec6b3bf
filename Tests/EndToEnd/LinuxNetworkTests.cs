using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Emulator.Tests.Kvm;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// One boot of the Debian guest shared by the network tests of one CPU backend (one boot keeps CI
/// short): a <c>--nic user</c> card (virtio-net over libslirp) and, where this process may create
/// tap devices, a <c>--nic tap</c> card whose host side is moved into a network namespace made for
/// the test. All traffic stays on this machine: the loopback for user networking, the test's own
/// namespace for tap. The backends' guests take turns (<see cref="NetworkGuestCollection"/>): both
/// would want the test's DNS server on 127.0.0.1:53.
/// </summary>
public abstract class NetworkGuest : IDisposable
{
    public const int Size = 16 << 20;
    public const string TestName = "emu-test.example";
    public const string TestNameAddress = "192.0.2.53"; // TEST-NET-1 (RFC 5737): never contacted, only printed
    public const string TapHost = "192.0.2.1", TapGuest = "192.0.2.2";

    private readonly string _dir = Directory.CreateTempSubdirectory("emu-net-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private readonly TcpListener? _http;
    private readonly UdpClient? _dns;
    private readonly string _tapName = string.Empty;

    /// <param name="accel">The CPU backend, as <c>--accel</c> takes it.</param>
    /// <param name="unusable">Why that backend cannot run here, or null.</param>
    protected NetworkGuest(string accel, string? unusable)
    {
        SkipReason = unusable ?? GuestConsole.MissingImages;
        if (SkipReason is null && !NativeLibrary.TryLoad("libslirp.so.0", out _))
        {
            SkipReason = "libslirp is not installed (Debian package libslirp0; .ci/run installs it)";
        }

        if (SkipReason is null && !(Environment.UserName == "root" && File.Exists("/usr/bin/unshare")))
        {
            SkipReason = "needs root: emu runs in a private mount namespace (unshare -m) whose /etc/resolv.conf names a DNS server the test runs on 127.0.0.1:53";
        }

        if (SkipReason is not null)
        {
            return;
        }

        Served = RandomNumberGenerator.GetBytes(Size);
        _http = new TcpListener(IPAddress.Loopback, 0);
        _http.Start();
        HttpPort = ((IPEndPoint)_http.LocalEndpoint).Port;
        _ = ServeOneFileAsync(_http, Served, _stop.Token);
        try
        {
            _dns = new UdpClient(new IPEndPoint(IPAddress.Loopback, 53));
        }
        catch (SocketException e)
        {
            SkipReason = $"the test's DNS server cannot listen on 127.0.0.1:53: {e.Message}";
            return;
        }

        _ = AnswerDnsAsync(_dns, _stop.Token);
        ToGuestPort = FreePort();
        FromGuestPort = FreePort();
        string resolvConf = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(resolvConf, "nameserver 127.0.0.1\n");

        string[] nics = ["--nic", $"user,hostfwd=tcp:127.0.0.1:{ToGuestPort}-:5000,hostfwd=tcp:127.0.0.1:{FromGuestPort}-:80"];
        string tapName = _tapName = $"emutap{accel[0]}{Environment.ProcessId % 10000}";
        TapNamespace = $"emu-net-{accel}-{Environment.ProcessId}";
        TapSkipReason = CreateTap(tapName, TapNamespace);
        if (TapSkipReason is null)
        {
            nics = [.. nics, "--nic", $"tap,ifname={tapName}"];
        }

        Guest = GuestConsole.BootWrapped(
            accel,
            ["/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", $"mount --bind {resolvConf} /etc/resolv.conf && exec \"$0\" \"$@\""],
            nics);
        if (TapSkipReason is null)
        {
            // Once emu holds the tap open (its fdinfo names the interface, tun's show_fdinfo), the
            // host side moves to the test's own namespace; emu's descriptor stays attached.
            string? failed = WaitForTapAttached(Guest.Emu.Id, tapName, TimeSpan.FromMinutes(5)) ?? Ip("link", "set", tapName, "netns", TapNamespace)
                ?? Ip("-n", TapNamespace, "addr", "add", $"{TapHost}/24", "dev", tapName)
                ?? Ip("-n", TapNamespace, "link", "set", tapName, "up")
                ?? Ip("-n", TapNamespace, "link", "set", "lo", "up");
            TapSkipReason = failed is null ? null : $"could not move the tap into a test namespace: {failed}";
        }

        Guest.WaitForShell(TimeSpan.FromMinutes(20));
    }

    public string? SkipReason { get; }

    public string? TapSkipReason { get; }

    public string TapNamespace { get; } = string.Empty;

    internal GuestConsole Guest { get; } = null!;

    public byte[] Served { get; } = [];

    public int HttpPort { get; }

    public int ToGuestPort { get; }

    public int FromGuestPort { get; }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        Guest?.Dispose();
        _stop.Cancel();
        _http?.Stop();
        _dns?.Dispose();
        if (TapNamespace.Length > 0)
        {
            // Deleting the namespace destroys a tap moved there; one never moved is deleted by name.
            _ = Ip("netns", "del", TapNamespace);
            _ = Ip("link", "del", _tapName);
        }

        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Runs `ip ARGS`; null on success, else its error output.</summary>
    public static string? Ip(params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string error = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : $"ip {string.Join(' ', args)}: {error.Trim()}";
    }

    /// <summary>Creates a socket inside <see cref="TapNamespace"/>: setns(2) on a thread of its own, which then ends.</summary>
    public T InTapNamespace<T>(Func<T> create)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle ns = File.OpenHandle($"/run/netns/{TapNamespace}");
                if (SetNs((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new IOException($"setns: {Marshal.GetLastPInvokeErrorMessage()}");
                }

                result = create();
            }
            catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new IOException($"in namespace {TapNamespace}: {failure.Message}", failure);
    }

    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);

    private static string? WaitForTapAttached(int pid, string tap, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            try
            {
                if (Directory.GetFiles($"/proc/{pid}/fdinfo").Any(f => File.ReadAllText(f).Contains($"iff:\t{tap}\n", StringComparison.Ordinal)))
                {
                    return null;
                }
            }
            catch (IOException)
            {
                // a descriptor closed while being read
            }

            Thread.Sleep(200);
        }

        return $"emu did not attach to {tap} within {timeout}";
    }

    private static string? CreateTap(string name, string ns)
    {
        if (!File.Exists("/dev/net/tun"))
        {
            return "no /dev/net/tun here (the tun driver is not loaded)";
        }

        string? failed = Ip("netns", "add", ns);
        if (failed is not null)
        {
            return $"cannot create a network namespace for the tap test: {failed}";
        }

        failed = Ip("tuntap", "add", "dev", name, "mode", "tap");
        return failed is null ? null : $"cannot create a tap device here: {failed}";
    }

    public static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

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

/// <summary>The guest under the software CPU.</summary>
public sealed class JitNetworkGuest() : NetworkGuest("jit", null);

/// <summary>The guest under KVM, where this host has a usable /dev/kvm with hardware virtualization.</summary>
public sealed class KvmNetworkGuest() : NetworkGuest("kvm", KvmHost.NotFastReason);

/// <summary>The network guests of the two backends boot one after the other.</summary>
[CollectionDefinition("network guests", DisableParallelization = true)]
public sealed class NetworkGuestCollection
{
}

/// <summary>
/// The network checks, in one boot per CPU backend (<see cref="NetworkGuest"/>). User networking: busybox udhcpc
/// gets 10.0.2.15 from libslirp's DHCP server with 10.0.2.2 as gateway and 10.0.2.3 as DNS; the
/// guest's wget fetches 16 MiB from an HTTP server on the host's 127.0.0.1 (the guest's 10.0.2.2);
/// a hostfwd port carries 16 MiB into the guest's nc and another 16 MiB of the guest's own data out
/// of its httpd; nslookup through 10.0.2.3 gets the answer of the test's DNS server (libslirp
/// forwards to the nameserver of /etc/resolv.conf, which for emu names 127.0.0.1). Every transfer's
/// sha256 is compared on both sides. Tap: the guest pings the host side and back, and 16 MiB go
/// each way.
/// </summary>
public abstract class LinuxNetworkChecks(NetworkGuest net)
{
    [SkippableFact]
    public void UserNetworkingDhcpHttpPortForwardsBothWaysAndDns()
    {
        Skip.If(net.SkipReason is not null, net.SkipReason);
        GuestConsole guest = net.Guest;
        byte[] pushed = RandomNumberGenerator.GetBytes(NetworkGuest.Size);

        // Each expected text appears only in the output, never in the typed command.
        guest.Command("udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; ifconfig eth0 | grep -o 'inet addr:[0-9.]*'", "inet addr:10.0.2.15", TimeSpan.FromMinutes(5));
        guest.Command("ip route | grep ^default", "default via 10.0.2.2 dev eth0");
        guest.Command("cat /etc/resolv.conf", "nameserver 10.0.2.3");

        guest.Command($"wget -q -O /tmp/f http://10.0.2.2:{net.HttpPort}/f && sha256sum /tmp/f", NetworkGuest.Hex(net.Served), TimeSpan.FromMinutes(10));

        long packetsBefore = RxPackets(guest);
        guest.Command("nc -l -p 5000 </dev/null >/tmp/in & sleep 1; echo listening-$((6*7))", "listening-42");
        using (var client = new TcpClient())
        {
            client.Connect(IPAddress.Loopback, net.ToGuestPort);
            using NetworkStream stream = client.GetStream();
            stream.Write(pushed);
            client.Client.Shutdown(SocketShutdown.Send);

            // The guest's nc closes when it has read everything; the read side sees that end.
            stream.ReadTimeout = (int)TimeSpan.FromMinutes(10).TotalMilliseconds;
            _ = stream.Read(new byte[1]);
        }

        guest.Command("wait; sha256sum /tmp/in", NetworkGuest.Hex(pushed), TimeSpan.FromMinutes(10));

        // The card joins libslirp's 1460-byte segments into GSO packets (GUEST_TSO4) and the guest's
        // stack took them (the data's hash above): far fewer packets than the 11,500 segments.
        long packets = RxPackets(guest) - packetsBefore;
        Assert.InRange(packets, 1, NetworkGuest.Size / 1460 / 4);

        string listing = guest.Command("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/g bs=1M count=16 2>/dev/null && httpd -p 80 -h /tmp/www && sha256sum /tmp/www/g", "/tmp/www/g", TimeSpan.FromMinutes(5));
        string guestOwn = GuestHash(listing, "/tmp/www/g");
        using (var client = new HttpClient { Timeout = TimeSpan.FromMinutes(10) })
        {
            byte[] fetched = client.GetByteArrayAsync(new Uri($"http://127.0.0.1:{net.FromGuestPort}/g")).GetAwaiter().GetResult();
            Assert.Equal(NetworkGuest.Size, fetched.Length);
            Assert.Equal(guestOwn, NetworkGuest.Hex(fetched));
        }

        guest.Command($"nslookup {NetworkGuest.TestName} 10.0.2.3", $"Address: {NetworkGuest.TestNameAddress}", TimeSpan.FromMinutes(2));
    }

    [SkippableFact]
    public void TapPingAndTransfersBothWays()
    {
        Skip.If(net.SkipReason is not null, net.SkipReason);
        Skip.If(net.TapSkipReason is not null, net.TapSkipReason);
        GuestConsole guest = net.Guest;

        guest.Command($"ifconfig eth1 {NetworkGuest.TapGuest} netmask 255.255.255.0 up && ping -c 3 {NetworkGuest.TapHost} | grep -o '[0-9] packets received'", "3 packets received", TimeSpan.FromMinutes(3));
        // The host may have no ping of its own; the guest images' busybox has one (status 0: replies came).
        string busybox = Path.Combine(GuestConsole.Cache, "busybox-root", "bin", "busybox");
        Assert.Null(NetworkGuest.Ip("netns", "exec", net.TapNamespace, busybox, "ping", "-c", "3", "-W", "30", NetworkGuest.TapGuest));

        // Host to guest: a socket made inside the namespace connects to the guest's nc.
        byte[] pushed = RandomNumberGenerator.GetBytes(NetworkGuest.Size);
        guest.Command("nc -l -p 5001 </dev/null >/tmp/tin & sleep 1; echo tap-listening-$((6*7))", "tap-listening-42");
        using (Socket s = net.InTapNamespace(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
        {
            s.Connect(IPAddress.Parse(NetworkGuest.TapGuest), 5001);
            s.Send(pushed);
            s.Shutdown(SocketShutdown.Send);
            s.ReceiveTimeout = (int)TimeSpan.FromMinutes(10).TotalMilliseconds;
            _ = s.Receive(new byte[1]);
        }

        guest.Command("wait; sha256sum /tmp/tin", NetworkGuest.Hex(pushed), TimeSpan.FromMinutes(10));

        // Guest to host: the guest's nc sends its own random data to a listener inside the namespace.
        using TcpListener listener = net.InTapNamespace(() =>
        {
            var l = new TcpListener(IPAddress.Parse(NetworkGuest.TapHost), 0);
            l.Start();
            return l;
        });
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<byte[]> receiving = Task.Run(() =>
        {
            using TcpClient c = listener.AcceptTcpClient();
            using var all = new MemoryStream();
            c.GetStream().CopyTo(all);
            return all.ToArray();
        });
        string listing = guest.Command($"dd if=/dev/urandom of=/tmp/tout bs=1M count=16 2>/dev/null && sha256sum /tmp/tout && nc {NetworkGuest.TapHost} {port} </tmp/tout; echo tap-sent-$((6*7))", "tap-sent-42", TimeSpan.FromMinutes(10));
        Assert.True(receiving.Wait(TimeSpan.FromMinutes(2)), "the host side did not see the end of the guest's data");
        Assert.Equal(NetworkGuest.Size, receiving.Result.Length);
        Assert.Equal(GuestHash(listing, "/tmp/tout"), NetworkGuest.Hex(receiving.Result));
    }

    // eth0's received packets as the guest's driver counts them (one per packet it took from the ring).
    private static long RxPackets(GuestConsole guest)
    {
        string output = guest.Command("echo rx-packets-$(cat /sys/class/net/eth0/statistics/rx_packets)-end-$((6*7))", "-end-42");
        int at = output.LastIndexOf("rx-packets-", StringComparison.Ordinal) + "rx-packets-".Length;
        return long.Parse(output[at..output.IndexOf("-end-42", at, StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
    }

    // The guest's `sha256sum FILE` line: 64 hex digits, two spaces, the name.
    private static string GuestHash(string output, string file) =>
        output.Split('\n').Select(l => l.Trim()).First(l => l.EndsWith("  " + file, StringComparison.Ordinal) && l.Length == 66 + file.Length)[..64];
}

/// <summary>The network checks under the software CPU (<c>--accel jit</c>).</summary>
[Collection("network guests")]
public sealed class LinuxNetworkTests(JitNetworkGuest net) : LinuxNetworkChecks(net), IClassFixture<JitNetworkGuest>;

/// <summary>The same checks under KVM (<c>--accel kvm</c>); skipped, with the reason, where KVM cannot run.</summary>
[Collection("network guests")]
public sealed class LinuxNetworkKvmTests(KvmNetworkGuest net) : LinuxNetworkChecks(net), IClassFixture<KvmNetworkGuest>;
