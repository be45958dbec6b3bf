using System.Diagnostics;
using System.Runtime.InteropServices;
using Emulator.Backends.Net;
using Xunit;

namespace Emulator.Tests.Net;

/// <summary>
/// struct SlirpConfig and struct SlirpCb as C# declares them, against libslirp's own header: a C
/// program compiled here from slirp/libslirp.h prints sizes and offsets, and the C# layouts must agree.
/// </summary>
public sealed class SlirpAbiLayoutTests
{
    private const string Probe = """
        #include <stdio.h>
        #include <stddef.h>
        #include <slirp/libslirp.h>
        #define O(f) printf(#f " %zu\n", offsetof(SlirpConfig, f))
        #define C(f) printf("cb." #f " %zu\n", offsetof(SlirpCb, f))
        int main(void) {
            printf("SlirpConfig %zu\nSlirpCb %zu\n", sizeof(SlirpConfig), sizeof(SlirpCb));
            O(version); O(restricted); O(in_enabled); O(vnetwork); O(vnetmask); O(vhost); O(in6_enabled);
            O(vprefix_addr6); O(vprefix_len); O(vhost6); O(vhostname); O(tftp_server_name); O(tftp_path);
            O(bootfile); O(vdhcp_start); O(vnameserver); O(vnameserver6); O(vdnssearch); O(vdomainname);
            O(if_mtu); O(if_mru); O(disable_host_loopback); O(enable_emu); O(outbound_addr); O(outbound_addr6);
            O(disable_dns); O(disable_dhcp);
            C(send_packet); C(guest_error); C(clock_get_ns); C(timer_new); C(timer_free); C(timer_mod);
            C(register_poll_fd); C(unregister_poll_fd); C(notify); C(init_completed); C(timer_new_opaque);
            printf("SLIRP_POLL %d %d %d %d %d\n", SLIRP_POLL_IN, SLIRP_POLL_OUT, SLIRP_POLL_PRI, SLIRP_POLL_ERR, SLIRP_POLL_HUP);
            return 0;
        }
        """;

    [SkippableFact]
    public void StructuresMatchTheLibslirpHeader()
    {
        Skip.IfNot(File.Exists("/usr/include/slirp/libslirp.h"), "libslirp's header is not installed (Debian package libslirp-dev; .ci/run installs it)");
        Skip.IfNot(File.Exists("/usr/bin/cc"), "no C compiler to read the header with");
        Dictionary<string, string> c = CompileAndRun();

        Assert.Equal(c["SlirpConfig"], Marshal.SizeOf<SlirpConfig>().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["SlirpCb"], Marshal.SizeOf<SlirpCallbacks>().ToString(System.Globalization.CultureInfo.InvariantCulture));
        (string C, string Cs)[] fields =
        [
            ("version", nameof(SlirpConfig.Version)), ("restricted", nameof(SlirpConfig.Restricted)), ("in_enabled", nameof(SlirpConfig.InEnabled)),
            ("vnetwork", nameof(SlirpConfig.VNetwork)), ("vnetmask", nameof(SlirpConfig.VNetmask)), ("vhost", nameof(SlirpConfig.VHost)),
            ("in6_enabled", nameof(SlirpConfig.In6Enabled)), ("vprefix_addr6", nameof(SlirpConfig.VPrefixAddr6)), ("vprefix_len", nameof(SlirpConfig.VPrefixLen)),
            ("vhost6", nameof(SlirpConfig.VHost6)), ("vhostname", nameof(SlirpConfig.VHostname)), ("tftp_server_name", nameof(SlirpConfig.TftpServerName)),
            ("tftp_path", nameof(SlirpConfig.TftpPath)), ("bootfile", nameof(SlirpConfig.Bootfile)), ("vdhcp_start", nameof(SlirpConfig.VDhcpStart)),
            ("vnameserver", nameof(SlirpConfig.VNameserver)), ("vnameserver6", nameof(SlirpConfig.VNameserver6)), ("vdnssearch", nameof(SlirpConfig.VDnsSearch)),
            ("vdomainname", nameof(SlirpConfig.VDomainName)), ("if_mtu", nameof(SlirpConfig.IfMtu)), ("if_mru", nameof(SlirpConfig.IfMru)),
            ("disable_host_loopback", nameof(SlirpConfig.DisableHostLoopback)), ("enable_emu", nameof(SlirpConfig.EnableEmu)),
            ("outbound_addr", nameof(SlirpConfig.OutboundAddr)), ("outbound_addr6", nameof(SlirpConfig.OutboundAddr6)),
            ("disable_dns", nameof(SlirpConfig.DisableDns)), ("disable_dhcp", nameof(SlirpConfig.DisableDhcp)),
        ];
        foreach ((string cName, string csName) in fields)
        {
            Assert.True(c[cName] == Marshal.OffsetOf<SlirpConfig>(csName).ToString(), $"SlirpConfig.{cName}: C {c[cName]}, C# {Marshal.OffsetOf<SlirpConfig>(csName)}");
        }

        string[] callbacks = ["send_packet", "guest_error", "clock_get_ns", "timer_new", "timer_free", "timer_mod", "register_poll_fd", "unregister_poll_fd", "notify", "init_completed", "timer_new_opaque"];
        for (int i = 0; i < callbacks.Length; i++)
        {
            Assert.Equal(c["cb." + callbacks[i]], (i * IntPtr.Size).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(
            $"{LibSlirpNative.PollIn} {LibSlirpNative.PollOut} {LibSlirpNative.PollPri} {LibSlirpNative.PollErr} {LibSlirpNative.PollHup}",
            c["SLIRP_POLL"]);
    }

    private static Dictionary<string, string> CompileAndRun()
    {
        string dir = Directory.CreateTempSubdirectory("emu-slirp-abi-").FullName;
        try
        {
            string source = Path.Combine(dir, "probe.c"), binary = Path.Combine(dir, "probe");
            File.WriteAllText(source, Probe);
            Run("/usr/bin/cc", "-o", binary, source);
            return Run(binary).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', 2))
                .ToDictionary(p => p[0], p => p[1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} failed: {errors}");
        return output;
    }
}
