using System.Diagnostics;
using System.Text;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// A Linux guest booted by the real `emu` program (emu.dll next to the tests) from the cached Debian
/// kernel and busybox initramfs (scripts/guest-images.sh), driven over its serial console the way a
/// user types at it: send a line, wait for expected text, then for the next shell prompt.
/// </summary>
internal sealed class GuestConsole : IDisposable
{
    /// <summary>The busybox shell's prompt in the initramfs.</summary>
    public const string Prompt = "/ # ";

    private readonly Process _emu;
    private readonly StringBuilder _console = new();
    private readonly StringBuilder _stderr = new();
    private int _from;

    private GuestConsole(Process emu)
    {
        _emu = emu;
        var reader = new Thread(() => Pump(_emu.StandardOutput, _console)) { IsBackground = true };
        reader.Start();
        var errors = new Thread(() => Pump(_emu.StandardError, _stderr)) { IsBackground = true };
        errors.Start();
    }

    /// <summary>The guest cache: $EMU_GUEST_CACHE, else ~/.cache/emu/guest.</summary>
    public static string Cache { get; } = Environment.GetEnvironmentVariable("EMU_GUEST_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "emu", "guest");

    /// <summary>The cached bzImage.</summary>
    public static string Kernel => Path.Combine(Cache, "vmlinuz");

    /// <summary>The cached initramfs.</summary>
    public static string Initrd => Path.Combine(Cache, "initramfs.gz");

    /// <summary>Why the guest cannot be booted here, or null when the images are present.</summary>
    public static string? MissingImages => File.Exists(Kernel) && File.Exists(Initrd) && File.Exists(Path.Combine(Cache, "kernel-version"))
        ? null
        : $"no guest images in {Cache} (scripts/guest-images.sh builds them; .ci/run does)";

    /// <summary>The process, for its exit.</summary>
    public Process Emu => _emu;

    /// <summary>Starts `emu run --accel jit -m 512M --kernel --initrd --append console=ttyS0` plus <paramref name="extra"/>.</summary>
    public static GuestConsole Boot(params string[] extra) => BootWrapped([], extra);

    /// <summary>As <see cref="Boot"/>, with emu's command line run by <paramref name="wrapper"/> (e.g. unshare and its arguments).</summary>
    public static GuestConsole BootWrapped(string[] wrapper, params string[] extra) => BootWrapped("jit", wrapper, extra);

    /// <summary>As <see cref="BootWrapped(string[], string[])"/>, under the CPU backend <paramref name="accel"/> (jit or kvm).</summary>
    public static GuestConsole BootWrapped(string accel, string[] wrapper, params string[] extra) =>
        StartWrapped(wrapper, ["--accel", accel, "-m", "512M", "--kernel", Kernel, "--initrd", Initrd, "--append", "console=ttyS0", .. extra]);

    /// <summary>
    /// Starts <c>qemu-system-x86_64</c> with <paramref name="args"/>, its serial console on stdio, no
    /// display and no monitor: the same console for a guest under QEMU, where a test compares the two.
    /// </summary>
    public static GuestConsole StartQemu(params string[] args)
    {
        var psi = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["-display", "none", "-serial", "stdio", "-monitor", "none", .. args])
        {
            psi.ArgumentList.Add(a);
        }

        return new GuestConsole(Process.Start(psi)!);
    }

    /// <summary>Starts `emu run` with <paramref name="args"/>, its serial console on stdio.</summary>
    public static GuestConsole Start(params string[] args) => StartWrapped([], args);

    /// <summary>Starts `emu run` with <paramref name="args"/>, run by <paramref name="wrapper"/> when it is not empty.</summary>
    private static GuestConsole StartWrapped(string[] wrapper, string[] args)
    {
        var psi = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])[.. wrapper.Skip(1), .. (wrapper.Length > 0 ? ["dotnet"] : Array.Empty<string>()), Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", .. args])
        {
            psi.ArgumentList.Add(a);
        }

        return new GuestConsole(Process.Start(psi)!);
    }

    /// <summary>Waits until <paramref name="text"/> appears on the console (after what was already waited for).</summary>
    public void WaitFor(string text, TimeSpan timeout) => _from = WaitFor(text, _from, timeout);

    /// <summary>Everything the guest printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_console)
            {
                return _console.ToString();
            }
        }
    }

    /// <summary>Asks emu to quit as SIGTERM does (it saves its screen dumps and exits); returns its exit status or null.</summary>
    public int? Terminate(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _emu.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        return _emu.WaitForExit(timeout) ? _emu.ExitCode : null;
    }

    /// <summary>Waits for the first shell prompt.</summary>
    public void WaitForShell(TimeSpan timeout) => _from = WaitFor(Prompt, _from, timeout);

    /// <summary>Types <paramref name="command"/>, waits for <paramref name="expected"/> in its output and for the prompt after it; returns the output between.</summary>
    public string Command(string command, string expected, TimeSpan? timeout = null)
    {
        int start = _from;
        Type(command);
        int at = WaitFor(expected, start, timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            _from = WaitFor(Prompt, at, TimeSpan.FromMinutes(3));
        }
        catch (TimeoutException missing) when (!_emu.HasExited)
        {
            throw Nudged(missing, at);
        }

        lock (_console)
        {
            return _console.ToString(start, _from - start);
        }
    }

    // The prompt did not come: says which of two causes it was. A key makes the guest's 8250 driver
    // run its interrupt handler, which sends what waits in its transmit buffer whatever IIR says: a
    // prompt that appears then was held by a transmitter interrupt that never came (the UART's or
    // the interrupt controllers' fault); one that does not points at the guest itself (or its CPU).
    private TimeoutException Nudged(TimeoutException missing, int after)
    {
        int before = Output.Length;
        Press("\n");
        try
        {
            WaitFor(Prompt, after, TimeSpan.FromSeconds(30));
            return new TimeoutException($"the prompt came only after a newline was typed: the guest's output was held until a key arrived (a lost transmitter interrupt?); then:\n{Output[before..]}", missing);
        }
        catch (TimeoutException)
        {
            return new TimeoutException($"no prompt even after a newline was typed (the guest printed {Output.Length - before} more characters)", missing);
        }
    }

    /// <summary>Waits for <paramref name="text"/> in the console output after the last prompt or wait.</summary>
    public void WaitForOutput(string text, TimeSpan timeout) => _from = WaitFor(text, _from, timeout);

    /// <summary>Sends one line to the guest's console.</summary>
    public void Type(string line) => Press(line + "\n");

    /// <summary>Sends <paramref name="keys"/> to the guest's console as they are, without a newline (a firmware menu reads single keys).</summary>
    public void Press(string keys)
    {
        _emu.StandardInput.Write(keys);
        _emu.StandardInput.Flush();
    }

    /// <summary>Types `poweroff -f` and returns emu's exit status (null when it did not exit in time).</summary>
    public int? PowerOff(TimeSpan timeout)
    {
        Type("poweroff -f");
        return _emu.WaitForExit(timeout) ? _emu.ExitCode : null;
    }

    /// <summary>Everything emu printed on stderr so far.</summary>
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

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_emu.HasExited)
        {
            _emu.Kill(entireProcessTree: true);
        }

        _emu.Dispose();
    }

    private int WaitFor(string text, int from, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            lock (_console)
            {
                int i = _console.ToString().IndexOf(text, from, StringComparison.Ordinal);
                if (i >= 0)
                {
                    return i + text.Length;
                }
            }

            if (_emu.HasExited)
            {
                break;
            }

            Thread.Sleep(200);
        }

        string tail;
        lock (_console)
        {
            string all = _console.ToString();
            tail = all[Math.Max(0, all.Length - 3000)..];
        }

        throw new TimeoutException($"'{text}' did not appear on the console within {timeout}{(_emu.HasExited ? $" (emu exited with {_emu.ExitCode}: {Stderr})" : string.Empty)}; last output:\n{tail}");
    }

    private static void Pump(StreamReader from, StringBuilder into)
    {
        int c;
        while ((c = from.Read()) >= 0)
        {
            lock (into)
            {
                into.Append((char)c);
            }
        }
    }
}
