using System.Text.Json.Nodes;
using Emulator.Tests.EndToEnd.Control;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// ACPI S3 as a guest and a control socket see it, with Roms/tests/s3wake (a multiboot kernel that
/// sleeps through PM1a control with the DSDT's <c>\_S3</c> type and checks how it woke: the FACS
/// waking vector in real mode, RAM kept, no instruction after the sleep request, WAK_STS and
/// RTC_STS from ACPI 6.5 Table 4.16). emu plays the firmware's resume (a direct boot); QEMU, which
/// resumes through SeaBIOS, runs the same kernel for the QMP side.
/// </summary>
public sealed class SleepTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-s3").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Kernel => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "s3wake.bin");

    private static string[] Lines(string text) => text.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // EMU_TRANSLATE=0: the interpreter alone must stop at the OUT too, not only translated code.
    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    public void RtcAlarmWakesTheKernelAtItsWakingVectorWithRamKept(string translate)
    {
        EmuProcess.Result r = EmuProcess.RunWith(Timeout, new Dictionary<string, string> { ["EMU_TRANSLATE"] = translate }, [],
            "run", "--accel", "jit", "-m", "64M", "--kernel", Kernel);

        string[] lines = Lines(r.Stdout);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode} (1 = debug-exit 0, all checks passed); stdout:\n{r.Stdout}\nstderr: {r.Stderr}");
        Assert.Equal(["s3 test kernel", "sleeping in S3 until the RTC alarm", "resumed"], lines[..3]);
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal));
        Assert.Equal(6, lines.Count(l => l.StartsWith("PASS", StringComparison.Ordinal)));
        Assert.Equal("all checks passed", lines[^1]);
    }

    /// <summary>
    /// With X_Firmware_Waking_Vector set (s3wake's "wake=x32"), a direct boot resumes there in the
    /// environment ACPI 6.5 Table 5.14 gives for a clear 64BIT_WAKE_F: 32-bit protected mode, paging
    /// off, interrupts off, flat segments (the stub addresses its data absolutely), and not at the
    /// real-mode Firmware_Waking_Vector, which is set too. (QEMU is no oracle here: SeaBIOS enters
    /// either vector in real mode.)
    /// </summary>
    [Fact]
    public void TheXFirmwareWakingVectorIsEnteredInProtectedModeWithInterruptsOff()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "-m", "64M", "--kernel", Kernel, "--append", "wake=x32");

        string[] lines = Lines(r.Stdout);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode} (1 = debug-exit 0, all checks passed); stdout:\n{r.Stdout}\nstderr: {r.Stderr}");
        Assert.Contains("PASS woke at X_Firmware_Waking_Vector in 32-bit protected mode, paging off", lines);
        Assert.Contains("PASS with interrupts off", lines);
        Assert.Equal(6, lines.Count(l => l.StartsWith("PASS", StringComparison.Ordinal)));
        Assert.Equal("all checks passed", lines[^1]);
    }

    /// <summary>
    /// QMP around a sleep the host ends: SUSPEND when the guest sleeps, query-status "suspended",
    /// system_wakeup, WAKEUP; system_wakeup of an awake guest is an error. QEMU 7.2 (TCG) gives the
    /// replies and events; both guests find WAK_STS set and RTC_STS clear. (Under TCG QEMU lets the
    /// loop after the sleep request run before it stops, which the kernel reports as a failure; emu's
    /// run must pass every check.)
    /// </summary>
    [SkippableFact]
    public void SystemWakeupWakesASleepingGuestAsUnderQemu()
    {
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        string qemuSocket = Path.Combine(_dir, "qemu.qmp");
        string emuSocket = Path.Combine(_dir, "emu.qmp");
        using GuestProcess qemu = GuestProcess.Qemu("-kernel", Kernel, "-append", "wake=host", "-m", "64M", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-S", "-qmp", $"unix:{qemuSocket},server,wait=off");
        using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "-m", "64M", "--kernel", Kernel, "--append", "wake=host",
            "-S", "--qmp", $"unix:{emuSocket},server,wait=off");

        (List<JsonObject> qemuReplies, List<string> qemuEvents, int? qemuExit) = WakeByQmp(qemuSocket, qemu);
        (List<JsonObject> emuReplies, List<string> emuEvents, int? emuExit) = WakeByQmp(emuSocket, emu);

        Assert.Equal(["RESUME", "SUSPEND", "WAKEUP"], qemuEvents);
        Assert.Equal(qemuEvents, emuEvents);
        for (int i = 0; i < qemuReplies.Count; i++)
        {
            string? d = JsonShape.Difference(qemuReplies[i], emuReplies[i]);
            Assert.True(d is null, $"reply {i}: {d}\nQEMU: {qemuReplies[i].ToJsonString()}\nemu:  {emuReplies[i].ToJsonString()}");
            Assert.Equal(qemuReplies[i]["error"]?["class"]?.GetValue<string>(), emuReplies[i]["error"]?["class"]?.GetValue<string>());
            Assert.Equal(qemuReplies[i]["error"]?["desc"]?.GetValue<string>(), emuReplies[i]["error"]?["desc"]?.GetValue<string>());
        }

        Assert.Equal("suspended", qemuReplies[1]["return"]!["status"]!.GetValue<string>());
        Assert.Equal("suspended", emuReplies[1]["return"]!["status"]!.GetValue<string>());
        Assert.False(emuReplies[1]["return"]!["running"]!.GetValue<bool>());

        foreach (string output in new[] { qemu.Stdout, emu.Stdout })
        {
            string[] lines = Lines(output);
            Assert.Contains("sleeping in S3 until the host wakes the machine", lines);
            Assert.Contains("PASS PM1 status: WAK_STS set", lines);
            Assert.Contains("PASS PM1 status: RTC_STS clear (no alarm was armed)", lines);
        }

        Assert.NotNull(qemuExit);
        Assert.True(emuExit == 1, $"emu exit {emuExit}; stdout:\n{emu.Stdout}\nstderr: {emu.Stderr}");
        Assert.Equal("all checks passed", Lines(emu.Stdout)[^1]);
    }

    /// <summary>
    /// The power button wakes a sleeping guest whatever PWRBTN_EN says, and sets PWRBTN_STS ("in the
    /// sleeping or soft-off state, a wake event is generated when the power button is pressed
    /// (regardless of the PWRBTN_EN bit setting)", ACPI 6.5 Table 4.16); s3wake enables none.
    /// </summary>
    [Fact]
    public void PowerButtonWakesASleepingGuestWithPwrbtnSts()
    {
        string socket = Path.Combine(_dir, "emu.qmp");
        // Started paused (-S) and continued once the monitor is set up: QMP sends events only after
        // qmp_capabilities, and the kernel reaches S3 within a fraction of a second, often before a
        // client that connected to a running machine had negotiated (its SUSPEND was then never seen).
        using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "-m", "64M", "--kernel", Kernel, "--append", "wake=host",
            "-S", "--qmp", $"unix:{socket},server,wait=off");
        using (RawQmp qmp = RawQmp.Connect(socket, Timeout, () => emu.HasExited))
        {
            qmp.Send("""{"execute":"qmp_capabilities"}""");
            Assert.True(qmp.Send("""{"execute":"cont"}""")["return"] is JsonObject);
            qmp.WaitForEvent(e => e["event"]!.GetValue<string>() == "SUSPEND");
            Assert.True(qmp.Send("""{"execute":"system_powerdown"}""")["return"] is JsonObject);
            qmp.WaitForEvent(e => e["event"]!.GetValue<string>() == "WAKEUP");
            Assert.Equal(["RESUME", "SUSPEND", "POWERDOWN", "WAKEUP"], qmp.Events.Select(e => e["event"]!.GetValue<string>()));
        }

        int? exit = emu.WaitForExit(Timeout);
        string[] lines = Lines(emu.Stdout);
        Assert.True(exit == 1, $"exit {exit}; stdout:\n{emu.Stdout}\nstderr: {emu.Stderr}");
        string status = lines.Single(l => l.StartsWith("PM1 status: ", StringComparison.Ordinal))["PM1 status: ".Length..];
        int pm1 = Convert.ToInt32(status, 16);
        Assert.True((pm1 & 0x8000) != 0, $"WAK_STS clear in {status}");
        Assert.True((pm1 & 0x0100) != 0, $"PWRBTN_STS clear in {status}");
        Assert.Equal("all checks passed", lines[^1]);
    }

    // The replies to: system_wakeup before the guest runs (-S), then, after cont, query-status and
    // system_wakeup once it sleeps; the events; the exit status.
    private static (List<JsonObject> Replies, List<string> Events, int? Exit) WakeByQmp(string socket, GuestProcess process)
    {
        using RawQmp qmp = RawQmp.Connect(socket, Timeout, () => process.HasExited);
        qmp.Send("""{"execute":"qmp_capabilities"}""");
        var replies = new List<JsonObject> { qmp.Send("""{"execute":"system_wakeup"}""") };
        qmp.Send("""{"execute":"cont"}""");
        qmp.WaitForEvent(e => e["event"]!.GetValue<string>() == "SUSPEND");
        replies.Add(qmp.Send("""{"execute":"query-status"}"""));
        replies.Add(qmp.Send("""{"execute":"system_wakeup"}"""));
        qmp.WaitForEvent(e => e["event"]!.GetValue<string>() == "WAKEUP");
        int? exit = process.WaitForExit(Timeout);
        return (replies, [.. qmp.Events.Select(e => e["event"]!.GetValue<string>())], exit);
    }
}
