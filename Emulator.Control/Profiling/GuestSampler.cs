using System.Diagnostics;
using Emulator.Control.Guest;
using Emulator.Core.Cpu;
using Emulator.Core.Time;
using Emulator.Machines.Pc;

namespace Emulator.Control.Profiling;

/// <summary>One sample of one vCPU: user or kernel mode, and the code addresses from the leaf outwards.</summary>
/// <param name="Vcpu">The vCPU.</param>
/// <param name="User">CPL 3.</param>
/// <param name="Pcs">RIP first, then return addresses found by frame-pointer unwinding (kernel mode only).</param>
/// <param name="Periods">
/// The sampling periods (1/frequency) this sample stands for: the whole periods since the
/// sampler's previous look (usually 1, 0 for a look that came early after a late one), and those of
/// the looks that found this vCPU still answering (<see cref="GuestProfile.Missed"/>).
/// Shares of time are shares of periods, so code where a vCPU is slow to answer, or where the
/// host keeps the sampler from looking on time, still weighs by the time spent there.
/// </param>
public sealed record GuestSample(int Vcpu, bool User, IReadOnlyList<ulong> Pcs, int Periods = 1);

/// <summary>What a profiling run collected.</summary>
/// <param name="Samples">Every sample.</param>
/// <param name="Ticks">How many times the sampler looked at the vCPUs (the frequency times the duration unless the host fell behind).</param>
/// <param name="Elapsed">How long it ran.</param>
/// <param name="Missed">Looks at a vCPU whose answer to the previous look had not arrived yet: counted in that answer's <see cref="GuestSample.Periods"/>.</param>
public sealed record GuestProfile(IReadOnlyList<GuestSample> Samples, int Ticks, TimeSpan Elapsed, int Missed = 0)
{
    /// <summary>The periods all samples stand for (the denominator of a share of time).</summary>
    public int SampledPeriods => Samples.Sum(s => s.Periods);
}

/// <summary>
/// Samples every running vCPU's RIP and privilege level at a fixed rate, on either backend. Each tick
/// asks each running vCPU for its state (<see cref="PcMachine.ObserveRunningVcpus"/>) and waits for
/// nothing: the vCPU answers on its own thread at its next exit from guest code, which takes it out
/// of guest code only for the moment it takes to read its registers (and, with <c>unwind</c>, its
/// stack). A vCPU that has not answered the previous tick yet is not asked again; its answer
/// then stands for both ticks, and a tick the host made late for the periods since the one before
/// (<see cref="GuestSample.Periods"/>). Waiting for each answer (through
/// the machine thread) instead made the sampler look at a vCPU running code less often than at a
/// halted one, which answers at once: a boot sampled at 1 kHz on a busy two-core host reported 27%
/// of its samples in HLT while the vCPU had been halted for 15% of the time. The period is kept
/// with a <see cref="WakeableWait"/>: Thread.Sleep counts whole milliseconds, and the shorter waits
/// of a 1 kHz loop returned at once, so the sampler spun. With <c>unwind</c>, kernel samples follow the RBP
/// chain (frames of [saved RBP, return address]) while the return addresses are kernel text, as far
/// as the kernel keeps frame pointers, read while the vCPU is stopped.
/// </summary>
public static class GuestSampler
{
    private const int MaxFrames = 32;
    // A kernel stack is 16 KiB on x86-64 (THREAD_SIZE); frames beyond it are not this stack's.
    private const ulong StackSpan = 16 * 1024;
    // How long the sampler waits at the end for the answers still on their way.
    private static readonly TimeSpan LastAnswers = TimeSpan.FromMilliseconds(500);

    /// <summary>Samples for <paramref name="duration"/> at <paramref name="frequency"/> Hz.</summary>
    /// <exception cref="MachineStoppedException">The machine stopped meanwhile.</exception>
    public static GuestProfile Run(PcMachine machine, int frequency, TimeSpan duration, KernelSymbols? symbols, bool unwind)
    {
        var round = new Round(machine, symbols, unwind);
        using var clock = new WakeableWait();
        var watch = Stopwatch.StartNew();
        long period = Stopwatch.Frequency / frequency;
        long end = (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long next = watch.ElapsedTicks, lastPeriod = -1;
        int ticks = 0;
        while (watch.ElapsedTicks < end)
        {
            if (machine.RunState == MachineRunState.Shutdown)
            {
                throw new MachineStoppedException();
            }

            // A look the host delayed past later ticks stands for their periods too: waking a halted
            // vCPU makes the host run its thread, which can keep this one from looking on time, so
            // the looks missed would otherwise be missing from halted time.
            // Whole periods since the previous look, so that the samples add up to the time sampled.
            long thisPeriod = watch.ElapsedTicks / period;
            round.PeriodsThisLook = (int)(thisPeriod - lastPeriod);
            lastPeriod = thisPeriod;
            machine.ObserveRunningVcpus(round.Want, round.Answer);
            ticks++;
            next += period;
            long wait = next - watch.ElapsedTicks;
            if (wait > 0)
            {
                clock.Wait((long)(wait * (1e9 / Stopwatch.Frequency)));
            }
            else
            {
                next = watch.ElapsedTicks; // behind: do not try to catch up with a burst
            }
        }

        TimeSpan elapsed = watch.Elapsed;
        return new GuestProfile(round.Finish(LastAnswers), ticks, elapsed, round.Missed);
    }

    /// <summary>The current privilege level: CS.RPL in protected mode (Intel SDM Vol. 3A 5.5), 0 in real mode.</summary>
    public static int Cpl(CpuState s) => (s.Cr0 & 1) == 0 ? 0 : (s.Rflags & (1UL << 17)) != 0 ? 3 : s.Segments[(int)Seg.Cs].Selector & 3;

    private static GuestSample Sample(PcMachine machine, int vcpu, CpuState s, KernelSymbols? symbols, bool unwind, int periods)
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

        return new GuestSample(vcpu, user, pcs, periods);
    }

    // One profiling run's bookkeeping, shared by the sampler's thread (Want, Finish) and the vCPU
    // threads (Answer).
    private sealed class Round(PcMachine machine, KernelSymbols? symbols, bool unwind)
    {
        private readonly List<GuestSample> _samples = [];
        // Per vCPU: 1 while a look is on its way; the periods its answer will stand for.
        private readonly int[] _asked = new int[machine.VcpuCount];
        private readonly int[] _owed = new int[machine.VcpuCount];
        private int _missed;
        private volatile bool _closed;

        public int Missed => Volatile.Read(ref _missed);

        // Set by the sampler's thread before each look: the periods since its previous look.
        public int PeriodsThisLook { get; set; } = 1;

        // On the sampler's thread: ask vCPU i unless it is still answering the previous tick.
        public bool Want(int i)
        {
            if (_closed || i >= _asked.Length)
            {
                return false;
            }

            Interlocked.Add(ref _owed[i], PeriodsThisLook);
            if (Interlocked.CompareExchange(ref _asked[i], 1, 0) != 0)
            {
                Interlocked.Increment(ref _missed);
                return false;
            }

            return true;
        }

        // On vCPU i's thread, outside guest code.
        public void Answer(int i, IVcpu vcpu)
        {
            try
            {
                if (_closed)
                {
                    return;
                }

                GuestSample sample = Sample(machine, i, vcpu.GetState(), symbols, unwind, Interlocked.Exchange(ref _owed[i], 0));
                lock (_samples)
                {
                    if (!_closed)
                    {
                        _samples.Add(sample);
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _asked[i], 0);
            }
        }

        // Waits up to `patience` for the answers still on their way, then takes no more.
        public List<GuestSample> Finish(TimeSpan patience)
        {
            var watch = Stopwatch.StartNew();
            while (Outstanding() && watch.Elapsed < patience)
            {
                Thread.Sleep(1);
            }

            lock (_samples)
            {
                _closed = true;
                return [.. _samples];
            }
        }

        private bool Outstanding()
        {
            for (int i = 0; i < _asked.Length; i++)
            {
                if (Volatile.Read(ref _asked[i]) != 0)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
