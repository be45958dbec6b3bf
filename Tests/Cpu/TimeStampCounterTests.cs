using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Tests.Cpu.Simd;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The time-stamp counter as the CPU model describes it: it counts at the frequency CPUID.15H
/// gives (crystal clock x EBX / EAX, Intel SDM Vol. 2A CPUID), so a guest that reads the frequency
/// instead of calibrating it keeps correct time; and IA32_TSC_ADJUST follows every change of the
/// TSC made through WRMSR, as Intel SDM Vol. 3B 18.17.3 specifies.
/// </summary>
public sealed class TimeStampCounterTests
{
    private const uint TscMsr = 0x10, TscAdjustMsr = 0x3b;

    [Fact]
    public void TheCounterRunsAtTheFrequencyCpuid15hReports()
    {
        (uint denominator, uint numerator, uint crystalHz, _) = CpuModel.Query(0x15, 0, 0);
        Assert.True(denominator != 0 && numerator != 0 && crystalHz != 0, "leaf 15H must give the crystal clock and the ratio");
        double advertised = (double)crystalHz * numerator / denominator;
        Assert.Equal(advertised / 1e6, CpuModel.Query(0x16, 0, 0).Eax, 0); // base frequency in MHz
        Assert.True(CpuModel.Query(0, 0, 0).Eax >= 0x16);
        Assert.NotEqual(0u, CpuModel.Query(0x8000_0007, 0, 0).Edx & (1u << 8)); // invariant TSC
        Assert.NotEqual(0u, CpuModel.Query(7, 0, 0).Ebx & (1u << 1));          // IA32_TSC_ADJUST

        // Each RDTSC runs somewhere inside its ReadTsc call, so the host time between the two lies
        // between the gap separating the calls and the span covering both: the count must fit the
        // advertised rate over some time in that range. Timing the calls (not just the sleep) keeps
        // a busy host's preemption inside a call from looking like a wrong rate; 1 s keeps the range
        // narrow. A counter at another frequency (the host's TSC, a nanosecond clock) is far outside.
        using var m = new LongModeMachine();
        ReadTsc(m); // the first run of a machine (code generation, the runtime's JIT) takes longest
        var clock = Stopwatch.StartNew();
        ulong first = ReadTsc(m);
        TimeSpan firstReturned = clock.Elapsed;
        Thread.Sleep(1000);
        TimeSpan secondCalled = clock.Elapsed;
        ulong second = ReadTsc(m);
        TimeSpan span = clock.Elapsed;
        double counted = second - first;
        Assert.InRange(counted, advertised * (secondCalled - firstReturned).TotalSeconds * 0.99, advertised * span.TotalSeconds * 1.01);
    }

    [Fact]
    public void WritingTheCounterMovesTscAdjustAndWritingTscAdjustMovesTheCounter()
    {
        using var m = new LongModeMachine();
        Assert.Equal(0UL, ReadMsr(m, TscAdjustMsr)); // 0 after RESET

        // WRMSR to IA32_TIME_STAMP_COUNTER: the TSC moves by X and so does IA32_TSC_ADJUST.
        ulong before = ReadTsc(m);
        WriteMsr(m, TscMsr, before + 5_000_000_000);
        ulong adjust = ReadMsr(m, TscAdjustMsr);
        // What the TSC counted between the reads and writes: one second's worth at most (about 20 ms
        // on an idle host; a busy one may hold the thread between two runs of the machine).
        ulong slack = TscHz();
        Assert.InRange(adjust, 5_000_000_000UL - slack, 5_000_000_000UL);
        Assert.InRange(ReadTsc(m) - before, 5_000_000_000UL, 5_000_000_000UL + slack);

        // WRMSR to IA32_TSC_ADJUST: the change X moves the TSC by X too.
        ulong tsc = ReadTsc(m);
        WriteMsr(m, TscAdjustMsr, adjust - 3_000_000_000);
        Assert.Equal(adjust - 3_000_000_000, ReadMsr(m, TscAdjustMsr));
        long moved = (long)(ReadTsc(m) - tsc);
        Assert.InRange(moved, -3_000_000_000L, -3_000_000_000L + (long)slack);
    }

    // The TSC frequency CPUID.15H gives: crystal clock x EBX / EAX (Intel SDM Vol. 2A CPUID).
    private static ulong TscHz()
    {
        (uint denominator, uint numerator, uint crystalHz, _) = CpuModel.Query(0x15, 0, 0);
        return (ulong)crystalHz * numerator / denominator;
    }

    private static ulong ReadTsc(LongModeMachine m)
    {
        m.Run(a => a.rdtsc());
        return (m.Core.R[2] << 32) | (uint)m.Core.R[0];
    }

    private static ulong ReadMsr(LongModeMachine m, uint index)
    {
        m.Run(a =>
        {
            a.mov(ecx, index);
            a.rdmsr();
        });
        return (m.Core.R[2] << 32) | (uint)m.Core.R[0];
    }

    private static void WriteMsr(LongModeMachine m, uint index, ulong value)
    {
        m.Run(a =>
        {
            a.mov(ecx, index);
            a.mov(eax, (uint)value);
            a.mov(edx, (uint)(value >> 32));
            a.wrmsr();
        });
    }
}
