using System.Diagnostics;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// SIGINT ends a running machine even when the emulator was started with SIGINT ignored, which is
/// how a non-interactive shell starts a background job (`emu run ... &amp;` in a script; POSIX Shell
/// Command Language 2.11). QEMU, the oracle, installs its handler regardless and quits; emu must too.
/// </summary>
public sealed class QuitSignalTests
{
    private const string IgnoreSigint = "trap '' INT";

    [SkippableFact]
    public void QemuQuitsOnSigintItWasStartedIgnoring()
    {
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        using GuestProcess qemu = GuestProcess.ThroughShell(IgnoreSigint, "qemu-system-x86_64",
            "-accel", "tcg", "-nodefaults", "-display", "none", "-no-user-config", "-bios", GuestProcess.Ticker, "-serial", "stdio");
        AssertQuitsOnSigint(qemu, "QEMU");
    }

    [Fact]
    public void EmuQuitsOnSigintItWasStartedIgnoring()
    {
        using GuestProcess emu = GuestProcess.ThroughShell(IgnoreSigint, "dotnet",
            Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", "stdio");
        int? status = AssertQuitsOnSigint(emu, "emu");
        Assert.Equal(0, status);
    }

    // Waits for the ticker's output (the machine runs and the handlers are in place), sends SIGINT
    // and expects the process to end on its own.
    private static int? AssertQuitsOnSigint(GuestProcess p, string name)
    {
        var watch = Stopwatch.StartNew();
        while (!p.Stdout.Contains("tick", StringComparison.Ordinal))
        {
            Assert.False(p.HasExited, $"{name} ended before it ran: {p.Stderr}");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"{name} printed no tick in 60 s: {p.Stderr}");
            Thread.Sleep(50);
        }

        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        int? status = p.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(status is not null, $"{name} still runs 30 s after SIGINT (SIGINT was ignored when it started): {p.Stderr}");
        return status;
    }
}
