using System.Diagnostics;
using Emulator.Backends.Chardev;
using Emulator.Control.Profiling;
using Emulator.Core.Memory;
using Emulator.Machines.Loaders;
using Emulator.Machines.Pc;
using Emulator.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Control;

/// <summary>
/// The sampler behind <c>emu perf</c> (GuestSampler, the path x-emu-profile takes) against
/// Roms/control/duty.bin on the software CPU: a guest that the 8254 interrupts 20 times a second
/// (1.193182 MHz / 59659, the 8254 datasheet's input clock and the count the guest programs), that
/// runs translated code for the first half of each period (until the 8254's count is below half)
/// and sleeps in HLT for the second. The oracle is that programming and the guest's own reading
/// of the 8254, not emu's output: the interrupt rate over wall time, and the share of time it slept,
/// which is about one half but more or less on a loaded host (the CPU wakes late, or reaches the
/// HLT late), so the guest measures what it ran on the 8254, within bounds (duty.asm). The bounds
/// are wide for a loaded two-core host; the timer may skip a period when the host falls far behind.
/// </summary>
public sealed class GuestSamplerTests(ITestOutputHelper output)
{
    private const double TimerHz = 1_193_182.0 / 59659;
    private const ulong LoadAddress = 0x10_0000;
    private const int PitCount = 59659;
    private const ulong InterruptsAt = LoadAddress + 32, RoundsAt = LoadAddress + 36, RanAt = LoadAddress + 44, RanMostAt = LoadAddress + 48;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    [Fact]
    public void SamplingAt1kHzLeavesTheGuestsTimerInterruptRateAlone()
    {
        using var guest = new DutyGuest();
        guest.WaitForFirstInterrupts();

        (uint interrupts, uint rounds, TimeSpan elapsed) quiet = guest.Measure(() => Thread.Sleep(Window));
        GuestProfile? profile = null;
        (uint interrupts, uint rounds, TimeSpan elapsed) sampled = guest.Measure(() => profile = GuestSampler.Run(guest.Machine, 1000, Window, null, unwind: false));

        double expectedQuiet = TimerHz * quiet.elapsed.TotalSeconds, expectedSampled = TimerHz * sampled.elapsed.TotalSeconds;
        output.WriteLine($"unsampled: {quiet.interrupts} interrupts in {quiet.elapsed.TotalSeconds:F2} s (the 8254: {expectedQuiet:F1}), {quiet.rounds / quiet.elapsed.TotalSeconds:F0} rounds/s");
        output.WriteLine($"sampled at 1 kHz: {sampled.interrupts} interrupts in {sampled.elapsed.TotalSeconds:F2} s (the 8254: {expectedSampled:F1}), {sampled.rounds / sampled.elapsed.TotalSeconds:F0} rounds/s; {profile!.Samples.Count} samples, {profile.Ticks} ticks, {profile.Missed} missed");
        Assert.InRange(quiet.interrupts, expectedQuiet * 0.9, expectedQuiet * 1.1);
        Assert.InRange(sampled.interrupts, expectedSampled * 0.9, expectedSampled * 1.1);
        Assert.True(profile.Samples.Count > 0, "no samples of a running guest");
    }

    [SkippableFact]
    public void TheShareOfSampledTimeInHltIsTheShareTheGuestSleeps()
    {
        using var guest = new DutyGuest();
        guest.WaitForFirstInterrupts();

        uint interrupts = guest.Read(InterruptsAt), ran = guest.Read(RanAt), ranMost = guest.Read(RanMostAt);
        GuestProfile profile = GuestSampler.Run(guest.Machine, 1000, Window, null, unwind: false);
        uint periods = guest.Read(InterruptsAt) - interrupts;
        uint ranClocks = guest.Read(RanAt) - ran, ranMostClocks = guest.Read(RanMostAt) - ranMost;

        // The periods' time less what the guest ran, both on the 8254: at most and at least.
        double slept = 1 - ((double)ranClocks / periods / PitCount);
        double sleptLeast = 1 - ((double)ranMostClocks / periods / PitCount);
        int asleep = profile.Samples.Where(s => s.Pcs[0] == guest.SleepRip).Sum(s => s.Periods);
        double share = (double)asleep / profile.SampledPeriods;

        // The share is a weighted mean of yes/no looks, each weighing the periods it stands for: a
        // look that found the vCPU still answering adds its period to the next answer's weight. With
        // independent looks its standard error is sqrt(p(1-p) / n), n the effective number of looks
        // (sum of weights)^2 / (sum of squared weights), which is the count of answers when every
        // weight is 1 and falls as missed looks pile onto fewer answers (Kish's effective sample size).
        // The bound is four standard errors around what the guest slept: a chance of about 6e-5 of
        // failing when the sampler is right. On an idle host nearly every weight is 1 and the margin
        // is about 4-5 points; on a loaded one the host holds the sampler or the vCPU for tens of
        // milliseconds, single answers stand for that long, and it widens (about 200 effective looks
        // of 1,000 answers at load 25-30 on two cores: 14 points), as the estimate's spread does.
        // Below 100 effective looks (a margin of 20 points) the run says too little to judge: the
        // heavy weights are ticks the host made the sampler's own thread late for (one run at load
        // 30: 1,490 answers, 380 missed looks, 1,130 late periods, 74 effective looks), and a host
        // that busy is no place to measure the sampler.
        double weights = profile.Samples.Sum(s => (double)s.Periods), squares = profile.Samples.Sum(s => (double)s.Periods * s.Periods);
        double effective = weights * weights / squares;
        double margin = 4 * Math.Sqrt(share * (1 - share) / effective);
        output.WriteLine($"{profile.Samples.Count} samples, {profile.Ticks} ticks ({profile.Missed} missed), {profile.SampledPeriods} sampled periods, {effective:F0} effective looks; in HLT: {share:P1} (4 standard errors: {margin:P1}); the guest slept {sleptLeast:P1} to {slept:P1} ({periods} periods)");
        // The samples stand for the whole time (but an answer or two still on its way at the end).
        double periodsElapsed = profile.Elapsed.TotalSeconds * 1000;
        Assert.InRange(profile.SampledPeriods, periodsElapsed * 0.9, periodsElapsed * 1.05);
        Assert.True(profile.Ticks >= Window.TotalSeconds * 1000 / 2, $"only {profile.Ticks} ticks in {Window.TotalSeconds} s at 1 kHz");
        Skip.If(effective < 100, $"only {effective:F0} effective looks (the host held the sampler back): too few to judge a share");
        Assert.InRange(share, sleptLeast - margin, slept + margin);
    }

    // The duty guest running on its own machine thread, until disposed.
    private sealed class DutyGuest : IDisposable
    {
        private readonly Thread _thread;

        public DutyGuest()
        {
            string kernel = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "control", "duty.bin");
            // The address of the instruction after its HLT, at file offset 40 (see duty.asm).
            SleepRip = BitConverter.ToUInt32(File.ReadAllBytes(kernel), 40);
            Machine = new PcMachine(new PcConfig { MemoryBytes = 32UL << 20, Vga = false, Kernel = new KernelBootConfig { KernelPath = kernel } }, new NullSerialBackend());
            _thread = new Thread(() => Machine.Run()) { IsBackground = true, Name = "duty-machine" };
            _thread.Start();
        }

        public PcMachine Machine { get; }

        public ulong SleepRip { get; }

        public void WaitForFirstInterrupts()
        {
            var watch = Stopwatch.StartNew();
            while (Read(InterruptsAt) < 3)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the guest took no timer interrupts");
                Thread.Sleep(10);
            }
        }

        // The guest's interrupt and round counts across `during`, and how long it took.
        public (uint Interrupts, uint Rounds, TimeSpan Elapsed) Measure(Action during)
        {
            uint interrupts = Read(InterruptsAt), rounds = Read(RoundsAt);
            var watch = Stopwatch.StartNew();
            during();
            TimeSpan elapsed = watch.Elapsed;
            return (Read(InterruptsAt) - interrupts, Read(RoundsAt) - rounds, elapsed);
        }

        public void Dispose()
        {
            Machine.Quit("host-signal");
            _thread.Join();
            Machine.Dispose();
        }

        public uint Read(ulong address) => (uint)Machine.Platform.Memory.ReadUInt(new GuestPhysicalAddress(address), 4);
    }
}
