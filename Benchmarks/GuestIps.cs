using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;

namespace Emulator.Benchmarks;

/// <summary>
/// Guest instructions per second of the software CPU on the guest programs of Roms/bench, each run
/// for a fixed wall-clock slice several times; prints the median and the spread. Run side by side
/// in one process so the figures are comparable.
/// </summary>
internal static class GuestIps
{
    public static void Run(string romDirectory, double secondsPerRun, int runs)
    {
        Console.WriteLine($"software CPU, guest instructions per second (median of {runs} runs of {secondsPerRun:0.##} s each)");
        foreach (string name in new[] { "alu", "memcpy", "calls" })
        {
            byte[] code = File.ReadAllBytes(Path.Combine(romDirectory, name + ".bin"));
            var samples = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                samples.Add(Measure(code, secondsPerRun));
            }

            samples.Sort();
            Console.WriteLine($"  {name,-8} median {samples[runs / 2] / 1e6,8:0.0} M/s   (min {samples[0] / 1e6:0.0}, max {samples[^1] / 1e6:0.0})");
        }
    }

    private static double Measure(byte[] code, double seconds)
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
        VcpuExit exit = vcpu.Run();
        watch.Stop();
        stopper.Dispose();
        if (exit.Reason != VcpuExitReason.ExitRequested)
        {
            throw new InvalidOperationException($"benchmark guest stopped: {exit}");
        }

        return vcpu.InstructionsRetired / watch.Elapsed.TotalSeconds;
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
