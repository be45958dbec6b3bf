using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The system-level test ROMs of Roms/tests, booted with `emu run --bios`: each prints one
/// "PASS: ..." or "FAIL: ..." line per check over COM1 and a "DONE: n checks, m failed" line, then
/// writes 0 (all passed) or 1 to the debug-exit port, so emu exits with status 1 or 3. The values
/// the ROMs expect come from the Intel SDM; see each ROM's header.
/// </summary>
public sealed class SystemTestRomTests
{
    private const int AllPassed = 1;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("paging", 69)]
    [InlineData("longmode", 65)]
    [InlineData("syscall", 20)]
    [InlineData("rings32", 58)]
    [InlineData("tasks", 73)]
    [InlineData("doublefault", 16)]
    [InlineData("v86", 44)]
    [InlineData("a20", 13)]
    [InlineData("irqshadow", 7)]
    [InlineData("ptrcheck", 121)]
    [InlineData("stack", 122)]
    [InlineData("protect", 133)]
    [InlineData("addressing", 39)]
    [InlineData("flags", 73)]
    [InlineData("addrsize", 41)]
    [InlineData("undefflags", 51)]
    [InlineData("sysfeat", 68)]
    [InlineData("debugtraps", 36)]
    [InlineData("pku", 32)]
    [InlineData("tscdeadline", 22)]
    [InlineData("x2apic", 49)]
    [InlineData("apicreloc", 17)]
    [InlineData("gates", 146)]
    [InlineData("v86sys", 93)]
    [InlineData("cachemca", 120)]
    public void EveryCheckPasses(string rom, int checks) => AssertAllPassed(rom, checks, Run(rom));

    /// <summary>
    /// smplock: two vCPUs run the same loops of locked read-modify-writes on shared counters at the
    /// same time; every counter must end exactly at start + 2 N. Without atomic LOCK this fails on
    /// every run (updates are lost in most of the loops).
    /// </summary>
    [Fact]
    public void LockedUpdatesFromTwoVcpusAreNeverLost() => AssertAllPassed("smplock", 16, Run("smplock", "--smp", "2"));

    /// <summary>
    /// undefflags with every block translated at its first run (EMU_JIT_THRESHOLD=1): the shifts and
    /// rotates whose undefined flags the ROM reads with PUSHFD run as translated code's interpreter
    /// calls (the statistics count them), and give the values the 80386 was measured to give.
    /// </summary>
    [Fact]
    public void UndefinedFlagsMatchTheMeasurementsWithEveryBlockTranslated()
    {
        string path = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "undefflags.bin");
        EmuProcess.Result r = EmuProcess.RunWith(
            Timeout,
            new Dictionary<string, string> { ["EMU_JIT_THRESHOLD"] = "1", ["EMU_JIT_STATS"] = "1" },
            [],
            "run", "--accel", "jit", "--serial", "stdio", "--bios", path);
        AssertAllPassed("undefflags", 51, r);
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(r.Stderr, @"native, (\d+) interpreted for their undefined flags");
        Assert.True(m.Success && int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, $"no instruction was left to the interpreter for its flags: {r.Stderr}");
    }

    private static void AssertAllPassed(string rom, int checks, EmuProcess.Result r)
    {
        string[] lines = Lines(r.Stdout);
        string[] failed = [.. lines.Where(l => l.StartsWith("FAIL", StringComparison.Ordinal))];
        Assert.True(failed.Length == 0, $"{rom}: {string.Join("; ", failed)}\nstderr: {r.Stderr}");
        Assert.Equal(checks, lines.Count(l => l.StartsWith("PASS: ", StringComparison.Ordinal)));
        Assert.Equal($"DONE: {checks} checks, 0 failed", lines[^1]);
        Assert.True(r.ExitCode == AllPassed, $"{rom}: exit {r.ExitCode}; stderr: {r.Stderr}");
    }

    [Fact]
    public void TripleFaultWithNoRebootExitsInsteadOfResetting()
    {
        EmuProcess.Result r = Run("doublefault", "--no-reboot");

        string[] lines = Lines(r.Stdout);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("triple fault reset the machine", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("DONE", StringComparison.Ordinal));
    }

    private static EmuProcess.Result Run(string rom, params string[] extra)
    {
        string path = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", rom + ".bin");
        return EmuProcess.Run(Timeout, ["run", "--accel", "jit", "--serial", "stdio", "--bios", path, .. extra]);
    }

    private static string[] Lines(string stdout) =>
        stdout.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
