using System.Diagnostics;
using System.Text;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// An emulator running in the background for a control test: emu (emu.dll next to the tests) or
/// QEMU, with its output collected. Disposing kills it if it still runs.
/// </summary>
internal sealed class GuestProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private bool _disposed;

    private GuestProcess(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The ticker ROM of Roms/control: "tick NNNN" ten times a second on COM1.</summary>
    public static string Ticker => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "control", "ticker.bin");

    /// <summary>Why QEMU cannot be run here, or null.</summary>
    public static string? QemuMissing => File.Exists("/usr/bin/qemu-system-x86_64")
        ? null
        : "qemu-system-x86_64 is not installed (.ci/run installs qemu-system-x86)";

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts `emu ARGS` with extra environment variables.</summary>
    public static GuestProcess Emu(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "emu.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        return new GuestProcess(psi);
    }

    /// <summary>
    /// Runs `emu ARGS` to its end and returns what it printed; a command that asks a guest (perf,
    /// kallsyms, snapshot) is retried for up to a minute, until the guest has registered its control socket.
    /// </summary>
    public static string Output(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using GuestProcess emu = Emu(environment, args);
            int? status = emu.WaitForExit(TimeSpan.FromSeconds(120));
            if (status == 0)
            {
                return emu.Stdout;
            }

            Xunit.Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"emu {string.Join(' ', args)} kept failing: {status}: {emu.Stderr}");
            Thread.Sleep(200);
        }
    }

    /// <summary>
    /// Starts PROGRAM ARGS through `sh -c`, after <paramref name="shellSetup"/> (e.g. `trap "" INT`,
    /// which the program inherits across exec as an ignored signal).
    /// </summary>
    public static GuestProcess ThroughShell(string shellSetup, string program, params string[] args)
    {
        var psi = new ProcessStartInfo("/bin/sh");
        foreach (string a in (string[])["-c", shellSetup + "; exec \"$@\"", "sh", program, .. args])
        {
            psi.ArgumentList.Add(a);
        }

        return new GuestProcess(psi);
    }

    /// <summary>Starts qemu-system-x86_64 with the software CPU (TCG), no default devices and no display.</summary>
    public static GuestProcess Qemu(params string[] args)
    {
        var psi = new ProcessStartInfo("qemu-system-x86_64");
        foreach (string a in (string[])["-accel", "tcg", "-nodefaults", "-display", "none", "-no-user-config", .. args])
        {
            psi.ArgumentList.Add(a);
        }

        return new GuestProcess(psi);
    }

    /// <summary>Waits for the process to exit; returns its status, or null after <paramref name="timeout"/>.</summary>
    public int? WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return null;
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL, as a crash would end it: no clean-up runs.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder into, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (into)
        {
            into.Append(line).Append('\n');
        }
    }
}
