using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>Real gdb (the Debian package) in batch mode: one command per -ex, its output returned.</summary>
internal static class GdbBatch
{
    /// <summary>Why gdb cannot be run here, or null.</summary>
    public static string? Missing => File.Exists("/usr/bin/gdb") ? null : "gdb is not installed (.ci/run installs it)";

    /// <summary>A TCP port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Waits until the stub accepts connections (emu may still be starting).</summary>
    public static void WaitForStub(string target, GuestProcess emu)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60) && !emu.HasExited)
        {
            if (target.StartsWith(':'))
            {
                if (IPGlobalPropertiesListening(int.Parse(target[1..], System.Globalization.CultureInfo.InvariantCulture)))
                {
                    return;
                }
            }
            else if (File.Exists(target))
            {
                return;
            }

            Thread.Sleep(100);
        }

        throw new TimeoutException($"the gdbstub at {target} did not come up: {emu.Stderr}");
    }

    /// <summary>Runs gdb -batch -nx with these commands; returns stdout and stderr together.</summary>
    public static string Run(TimeSpan timeout, params string[] commands)
    {
        var psi = new ProcessStartInfo("gdb")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["-batch", "-nx"])
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string c in commands)
        {
            psi.ArgumentList.Add("-ex");
            psi.ArgumentList.Add(c);
        }

        using var gdb = Process.Start(psi)!;
        gdb.StandardInput.Close();
        Task<string> stdout = gdb.StandardOutput.ReadToEndAsync();
        Task<string> stderr = gdb.StandardError.ReadToEndAsync();
        if (!gdb.WaitForExit(timeout))
        {
            gdb.Kill();
            throw new TimeoutException($"gdb did not finish within {timeout}: {stdout.Result}{stderr.Result}");
        }

        return stdout.Result + stderr.Result;
    }

    /// <summary>The value of "NAME=hex" in gdb's printf output.</summary>
    public static ulong Value(string output, string line, string name)
    {
        string? l = output.Split('\n').FirstOrDefault(x => x.StartsWith(line + " ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no line '{line}' in gdb's output:\n{output}");
        string field = l.Split(' ').Single(f => f.StartsWith(name + "=", StringComparison.Ordinal));
        return ulong.Parse(field[(name.Length + 1)..], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool IPGlobalPropertiesListening(int port) =>
        System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Any(e => e.Port == port);
}
