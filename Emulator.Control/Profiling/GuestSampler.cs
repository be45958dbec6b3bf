using System.Diagnostics;
using Emulator.Control.Guest;
using Emulator.Core.Cpu;
using Emulator.Machines.Pc;

namespace Emulator.Control.Profiling;

/// <summary>One sample of one vCPU: user or kernel mode, and the code addresses from the leaf outwards.</summary>
/// <param name="Vcpu">The vCPU.</param>
/// <param name="User">CPL 3.</param>
/// <param name="Pcs">RIP first, then return addresses found by frame-pointer unwinding (kernel mode only).</param>
public sealed record GuestSample(int Vcpu, bool User, IReadOnlyList<ulong> Pcs);

/// <summary>What a profiling run collected.</summary>
/// <param name="Samples">Every sample.</param>
/// <param name="Ticks">How many times the vCPUs were looked at.</param>
/// <param name="Elapsed">How long it ran.</param>
public sealed record GuestProfile(IReadOnlyList<GuestSample> Samples, int Ticks, TimeSpan Elapsed);

/// <summary>
/// Samples every running vCPU's RIP and privilege level at a fixed rate, on either backend: each look
/// is one call on each vCPU's own thread (<see cref="PcMachine.SampleRunningVcpus"/>), which takes the
/// vCPU out of guest code for the moment it takes to read its registers. With <c>unwind</c>, kernel
/// samples follow the RBP chain (frames of [saved RBP, return address]) while the return addresses
/// are kernel text, as far as the kernel keeps frame pointers.
/// </summary>
public static class GuestSampler
{
    private const int MaxFrames = 32;
    // A kernel stack is 16 KiB on x86-64 (THREAD_SIZE); frames beyond it are not this stack's.
    private const ulong StackSpan = 16 * 1024;

    /// <summary>Samples for <paramref name="duration"/> at <paramref name="frequency"/> Hz.</summary>
    public static GuestProfile Run(PcMachine machine, int frequency, TimeSpan duration, KernelSymbols? symbols, bool unwind)
    {
        var samples = new List<GuestSample>();
        var watch = Stopwatch.StartNew();
        long period = Stopwatch.Frequency / frequency;
        long next = watch.ElapsedTicks;
        int ticks = 0;
        while (watch.Elapsed < duration)
        {
            CpuState?[] states = machine.SampleRunningVcpus();
            ticks++;
            for (int i = 0; i < states.Length; i++)
            {
                if (states[i] is { } s)
                {
                    samples.Add(Sample(machine, i, s, symbols, unwind));
                }
            }

            next += period;
            long wait = next - watch.ElapsedTicks;
            if (wait > 0)
            {
                Thread.Sleep(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
            }
            else
            {
                next = watch.ElapsedTicks; // behind: do not try to catch up with a burst
            }
        }

        return new GuestProfile(samples, ticks, watch.Elapsed);
    }

    /// <summary>The current privilege level: CS.RPL in protected mode (Intel SDM Vol. 3A 5.5), 0 in real mode.</summary>
    public static int Cpl(CpuState s) => (s.Cr0 & 1) == 0 ? 0 : (s.Rflags & (1UL << 17)) != 0 ? 3 : s.Segments[(int)Seg.Cs].Selector & 3;

    private static GuestSample Sample(PcMachine machine, int vcpu, CpuState s, KernelSymbols? symbols, bool unwind)
    {
        bool user = Cpl(s) == 3;
        var pcs = new List<ulong> { s.Rip };
        if (!user && unwind && symbols is not null)
        {
            var memory = new GuestVirtualMemory(machine.Platform.Memory, s);
            Span<byte> frame = stackalloc byte[16];
            ulong rbp = s.Gpr[(int)Gpr.Rbp];
            ulong bottom = s.Gpr[(int)Gpr.Rsp];
            while (pcs.Count < MaxFrames && rbp >= bottom && rbp - bottom < StackSpan && memory.Read(rbp, frame) == 16)
            {
                ulong savedRbp = BitConverter.ToUInt64(frame);
                ulong ret = BitConverter.ToUInt64(frame[8..]);
                if (symbols.Lookup(ret) is null || ret < 0xFFFF_FFFF_8000_0000UL)
                {
                    break;
                }

                pcs.Add(ret);
                if (savedRbp <= rbp)
                {
                    break;
                }

                rbp = savedRbp;
            }
        }

        return new GuestSample(vcpu, user, pcs);
    }
}
