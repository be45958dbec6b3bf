using System.Net;
using System.Net.Sockets;
using Emulator.Backends.Net;
using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Cli;

/// <summary>
/// <c>--nic</c> as a user meets it: QEMU's syntax parsed, every mistake one line naming the option
/// and exit status 2, and a host end that cannot be set up (no libslirp, a busy forwarded port, tap
/// without CAP_NET_ADMIN) refused with one line before the guest starts.
/// </summary>
public sealed class NicOptionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("--nic bogus", "unknown network backend 'bogus'")]
    [InlineData("--nic user,model=e1000", "model=e1000")]
    [InlineData("--nic user,mac=01:00:5e:00:00:01", "multicast")]
    [InlineData("--nic user,mac=52:54:00:12:34", "mac=52:54:00:12:34")]
    [InlineData("--nic user,hostfwd=tcp:127.0.0.1:70000-:22", "'70000' is not a port")]
    [InlineData("--nic user,hostfwd=sctp::2222-:22", "protocol 'sctp'")]
    [InlineData("--nic user,hostfwd=tcp:127.0.0.1:2222", "hostfwd=tcp:127.0.0.1:2222")]
    [InlineData("--nic user,hostfwd=tcp:localhost:2222-:22", "'localhost' is not an IPv4 address")]
    [InlineData("--nic user,mtu=20", "mtu=20")]
    [InlineData("--nic user,mtu=65521", "mtu=65521 is not a number from 68 to 65520")]
    [InlineData("--nic user,ifname=tap0", "'ifname=tap0'")]
    [InlineData("--nic tap,hostfwd=tcp::2222-:22", "'hostfwd=tcp::2222-:22'")]
    [InlineData("--nic none,mac=52:54:00:12:34:56", "'none' takes no settings")]
    [InlineData("--nic none --nic user", "--nic none: cannot be combined")]
    public void BadNicOptionsGiveOneLineAndStatus2(string args, string named)
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, ["run", .. args.Split(' ')]);

        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("emu: --nic ", lines[0], StringComparison.Ordinal);
        Assert.Contains(named, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void HostForwardsParseAsQemuWritesThem()
    {
        HostForward f = HostForward.Parse("tcp:127.0.0.1:2222-:22");
        Assert.Equal(new HostForward(false, IPAddress.Loopback, 2222, null, 22), f);
        Assert.Equal(new HostForward(true, IPAddress.Any, 5353, IPAddress.Parse("10.0.2.15"), 53), HostForward.Parse("udp::5353-10.0.2.15:53"));
        Assert.Equal(new HostForward(false, IPAddress.Any, 8080, null, 80), HostForward.Parse("::8080-:80"));

        NicConfig nic = NicConfig.Parse("user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::5353-:53,restrict=on,mac=52:54:00:aa:bb:cc,model=virtio")!;
        Assert.Equal(NicBackendKind.User, nic.Kind);
        Assert.True(nic.Slirp.Restrict);
        Assert.Equal(2, nic.Slirp.HostForwards.Count);
        Assert.Equal(new byte[] { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc }, nic.MacFor(3));
        Assert.Null(NicConfig.Parse("none"));

        // Without mac=, the cards count up from QEMU's 52:54:00:12:34:56.
        Assert.Equal(new byte[] { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 }, NicConfig.Parse("user")!.MacFor(1));
    }

    [Fact]
    public void MissingLibslirpIsOneLineNamingThePackage()
    {
        EmuProcess.Result r = EmuProcess.RunWith(Timeout, new Dictionary<string, string> { ["EMU_LIBSLIRP"] = "/nonexistent/libslirp.so.0" }, [], "run", "--nic", "user");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("emu: --nic user: cannot load /nonexistent/libslirp.so.0: libslirp is not installed (Debian package libslirp0: apt-get install libslirp0)", r.Stderr.TrimEnd());
    }

    [SkippableFact]
    public void ForwardedPortInUseIsRefusedBeforeTheGuestStarts()
    {
        Skip.IfNot(System.Runtime.InteropServices.NativeLibrary.TryLoad("libslirp.so.0", out _), "libslirp is not installed (Debian package libslirp0)");
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;

        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--nic", $"user,hostfwd=tcp:127.0.0.1:{port}-:22");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"emu: --nic user,hostfwd=tcp:127.0.0.1:{port}-:22: cannot listen on 127.0.0.1:{port} (tcp; the port is in use or not permitted)", r.Stderr.TrimEnd());
    }

    [SkippableFact]
    public void TapWithoutCapNetAdminIsRefused()
    {
        // Root without CAP_NET_ADMIN (setpriv drops it from the bounding set, so the exec'd emu never
        // has it) can open /dev/net/tun but not create an interface: TUNSETIFF fails with EPERM.
        Skip.IfNot(Environment.UserName == "root" && File.Exists("/usr/bin/setpriv") && File.Exists("/dev/net/tun"),
            "needs root, setpriv (util-linux) and /dev/net/tun to run emu with CAP_NET_ADMIN taken away");
        EmuProcess.Result r = EmuProcess.RunWith(Timeout, null, ["/usr/bin/setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin"], "run", "--nic", "tap,ifname=emunocap0");

        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("emu: --nic tap,ifname=emunocap0: not permitted", r.Stderr.TrimEnd(), StringComparison.Ordinal);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
    }
}
