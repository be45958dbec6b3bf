using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;

namespace Emulator.Benchmarks;

/// <summary>
/// Guest instructions per second of the software CPU on the guest programs of Roms/bench, each run
/// for a fixed wall-clock slice several times; prints the median and the spread. Run side by side
/// in one process so the figures are comparable. Two rates per run: per wall-clock second, and per
/// second of CPU time of the thread that ran the guest, which a busy machine disturbs much less
/// (other processes take the core away, they do not make our instructions slower).
/// </summary>
internal static partial class GuestIps
{
    public static void Run(string romDirectory, double secondsPerRun, int runs)
    {
        Console.WriteLine($"software CPU, guest instructions per second (median of {runs} runs of {secondsPerRun:0.##} s each)");
        foreach (string name in new[] { "alu", "memcpy", "calls" })
        {
            byte[] code = File.ReadAllBytes(Path.Combine(romDirectory, name + ".bin"));
            var wall = new List<double>();
            var cpu = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                (double w, double c) = Measure(code, secondsPerRun);
                wall.Add(w);
                cpu.Add(c);
            }

            wall.Sort();
            cpu.Sort();
            Console.WriteLine($"  {name,-8} wall: median {wall[runs / 2] / 1e6,7:0.0} M/s (min {wall[0] / 1e6:0.0}, max {wall[^1] / 1e6:0.0})   thread CPU time: median {cpu[runs / 2] / 1e6,7:0.0} M/s (min {cpu[0] / 1e6:0.0}, max {cpu[^1] / 1e6:0.0})");
        }
    }

    private static (double PerWallSecond, double PerCpuSecond) Measure(byte[] code, double seconds)
    {
        using var platform = new MachinePlatform(deterministicTime: true);
        using var ram = new HostMapping(16 << 20);
        platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 16 << 20, ram);
        platform.Memory.Write(new GuestPhysicalAddress(0x10000), code);
        using var accelerator = new SoftAccelerator(platform);
        var vcpu = (SoftVcpu)accelerator.CreateVcpu(0);
        vcpu.SetState(FlatProtectedMode(0x10000));

        var stopper = new Timer(_ => vcpu.RequestExit(), null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
        var watch = Stopwatch.StartNew();
        double cpuStart = ThreadCpuSeconds();
        VcpuExit exit = vcpu.Run();
        double cpuSeconds = ThreadCpuSeconds() - cpuStart;
        watch.Stop();
        stopper.Dispose();
        if (exit.Reason != VcpuExitReason.ExitRequested)
        {
            throw new InvalidOperationException($"benchmark guest stopped: {exit}");
        }

        return (vcpu.InstructionsRetired / watch.Elapsed.TotalSeconds, vcpu.InstructionsRetired / cpuSeconds);
    }

    // CLOCK_THREAD_CPUTIME_ID (Linux clock id 3): CPU time consumed by the calling thread.
    private static double ThreadCpuSeconds()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(3, out TimeSpec t) != 0)
        {
            return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        }

        return t.Seconds + (t.Nanoseconds / 1e9);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static CpuState FlatProtectedMode(ulong entry)
    {
        CpuState s = CpuState.AtReset();
        s.Cr0 = 0x11;
        s.Rip = entry;
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = new SegmentRegister { Selector = 0x10, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc093 };
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x08, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc09b };
        return s;
    }
}
