using System.Globalization;
using System.Text.Json.Nodes;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// `emu perf` end to end (the CLI, QMP x-emu-profile, the sampler) against Roms/control/duty.bin,
/// a guest that runs for the first half of each 8254 period and sleeps in HLT for the second
/// (Control/GuestSamplerTests checks the share against the guest's own measure of its sleep): the
/// table's shares add up to the whole, and the instruction after the HLT has about half of it (more
/// when a loaded host wakes the CPU late).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PerfTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _runtime = Directory.CreateTempSubdirectory("emu-xdg").FullName;

    public void Dispose() => Directory.Delete(_runtime, recursive: true);

    private Dictionary<string, string> Environment => new() { ["XDG_RUNTIME_DIR"] = _runtime };

    [Fact]
    public void EmuPerfGivesTheHltOfAGuestThatSleepsHalfOfEachPeriodAboutHalfOfTheTime()
    {
        string kernel = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "control", "duty.bin");
        // The address of the instruction after the guest's HLT, at file offset 40 (see duty.asm).
        string sleepRip = "0x" + BitConverter.ToUInt32(File.ReadAllBytes(kernel), 40).ToString("x", CultureInfo.InvariantCulture);
        using GuestProcess guest = GuestProcess.Emu(Environment, "run", "--accel", "jit", "-m", "32M", "--kernel", kernel, "--serial", "null", "--name", "duty");

        // A first short look waits for the guest's control socket and lets it get past its set-up.
        Perf("duty", "--duration", "0.5", "--json");
        JsonObject profile = Perf("duty", "--duration", "3", "--json");
        output.WriteLine(profile.ToJsonString());

        JsonArray functions = profile["functions"]!.AsArray();
        double asleep = functions.Where(f => f!["function"]!.GetValue<string>() == sleepRip).Sum(f => f!["share"]!.GetValue<double>());
        Assert.True(profile["samples"]!.GetValue<int>() > 0, "no samples");
        Assert.Equal(0, profile["user"]!.GetValue<int>());
        // Shares are of sampling periods, which cover the 3 s at 1 kHz (but an answer or two still on its way at the end).
        Assert.InRange(profile["kernel"]!.GetValue<int>(), 3000 * 0.9, 3000 * 1.05);
        Assert.InRange(functions.Sum(f => f!["share"]!.GetValue<double>()), 99.0, 100.5);
        // About half, but a busy host moves what the guest itself sleeps: the vCPU reaches its HLT
        // late when the host holds it past the half period (GuestSamplerTests, which reads the
        // guest's own measure, saw 43-46% slept on a loaded two-core host) or wakes late (more), and
        // 3,000 looks under load give a few points of spread on top. A sampler that missed halted
        // vCPUs gives near 0; one biased toward them (waiting for each answer) gave 27% for 15%.
        Assert.InRange(asleep, 30.0, 70.0);
    }

    // `emu perf GUEST ARGS` once the guest has registered its control socket: the JSON it prints.
    private JsonObject Perf(string guestName, params string[] args) => JsonNode.Parse(GuestProcess.Output(Environment, ["perf", guestName, .. args]))!.AsObject();
}
