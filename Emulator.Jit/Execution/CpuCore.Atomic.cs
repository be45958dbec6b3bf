using Emulator.Core.Memory;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>
/// Locked read-modify-write instructions (LOCK-prefixed ADD, CMPXCHG, XADD, ... and XCHG with
/// memory, which is always locked) made atomic against the other vCPUs' threads (Intel SDM Vol. 3A
/// 9.1.2.2 "Software Controlled Bus Locking"). The instruction's ordinary handler runs with a
/// table that never hits, so its memory accesses reach <see cref="AtomicRead"/> and
/// <see cref="AtomicWrite"/>: the read loads the aligned host quadword holding the operand, the
/// write is only noted, and afterwards a compare-and-swap on that quadword publishes it. When
/// another vCPU changed the quadword meanwhile (even with a plain store to a neighbouring byte, as
/// a spinlock's release does), the registers and flags are put back and the instruction runs again
/// on the new value. Operands that straddle a quadword, MMIO, pages holding decoded code and
/// CMPXCHG16B run under one machine-wide lock instead: atomic against each other, which is what
/// guests use them for.
/// </summary>
internal sealed unsafe partial class CpuCore
{
    private static readonly Lock SplitLock = new();
    private readonly SoftTlb _atomicUser = new(user: true);
    private readonly SoftTlb _atomicSupervisor = new(user: false);
    private SoftTlb _atomicReal = null!;
    private ulong* _atomicHost;
    private ulong _atomicOld;
    private ulong _atomicNew;
    private ulong _atomicLinear;
    private int _atomicSize;
    private int _atomicShift;
    private bool _atomicHave;
    private bool _atomicWritten;

    /// <summary>True for the instructions that must execute as one indivisible memory update.</summary>
    public static bool IsLocked(in Instruction ins) =>
        (ins.HasLockPrefix && ins.Op0Kind == OpKind.Memory) ||
        (ins.Mnemonic == Mnemonic.Xchg && (ins.Op0Kind == OpKind.Memory || ins.Op1Kind == OpKind.Memory));

    /// <summary>The handler the block runs for a locked instruction: its ordinary handler, made atomic.</summary>
    public static void ExecuteLocked(CpuCore cpu, ref Instruction ins)
    {
        delegate*<CpuCore, ref Instruction, void> handler = HandlerTable.For(ins.Code);
        if (ins.Mnemonic == Mnemonic.Cmpxchg16b)
        {
            cpu.RunUnderSplitLock(handler, ref ins);
            return;
        }

        Span<ulong> registers = stackalloc ulong[16];
        cpu.R.CopyTo(registers);
        LazyFlags flags = cpu.Flags;
        ulong rip = cpu.Rip;
        SoftTlb real = cpu.Tlb;
        while (true)
        {
            cpu._atomicReal = real;
            cpu._atomicHave = false;
            cpu._atomicWritten = false;
            cpu.Tlb = real.User ? cpu._atomicUser : cpu._atomicSupervisor;
            try
            {
                handler(cpu, ref ins);
            }
            catch (AtomicFallback)
            {
                cpu.Tlb = real;
                registers.CopyTo(cpu.R);
                cpu.Flags = flags;
                cpu.Rip = rip;
                cpu.RunUnderSplitLock(handler, ref ins);
                return;
            }
            finally
            {
                cpu.Tlb = real;
            }

            if (!cpu._atomicWritten)
            {
                return;
            }

            ulong mask = Instructions.Alu.Mask(cpu._atomicSize) << cpu._atomicShift;
            ulong updated = (cpu._atomicOld & ~mask) | ((cpu._atomicNew << cpu._atomicShift) & mask);
            if (Interlocked.CompareExchange(ref *cpu._atomicHost, updated, cpu._atomicOld) == cpu._atomicOld)
            {
                return;
            }

            registers.CopyTo(cpu.R);
            cpu.Flags = flags;
            cpu.Rip = rip;
        }
    }

    private void RunUnderSplitLock(delegate*<CpuCore, ref Instruction, void> handler, ref Instruction ins)
    {
        lock (SplitLock)
        {
            handler(this, ref ins);
        }
    }

    // Called from the slow read path while a locked instruction runs (its table never hits).
    private ulong AtomicRead(ulong linear, int size)
    {
        if (_atomicHave)
        {
            return linear == _atomicLinear && size == _atomicSize
                ? (_atomicWritten ? _atomicNew : (_atomicOld >> _atomicShift) & Instructions.Alu.Mask(size))
                : throw new AtomicFallback();
        }

        if ((linear & 7) + (ulong)size > 8)
        {
            throw new AtomicFallback();
        }

        // A locked access is a write for paging even when the comparison fails (Intel SDM Vol. 2A
        // CMPXCHG: "the destination operand is written back if the comparison fails").
        SoftTlb real = _atomicReal;
        int slot = SoftTlb.Slot(linear);
        nint page;
        if (real.WriteTag[slot] == SoftTlb.Tag(linear))
        {
            page = real.WriteHost[slot];
        }
        else
        {
            ulong physical = Translate(linear, Access.Write, real.User, out _);
            MemoryRegion? region = FindRegion(physical);
            if (region is not { Kind: RegionKind.Ram } || Code.IsCodePage(physical) || !region.Contains(physical & ~SoftTlb.PageMask) || !region.Contains(physical | SoftTlb.PageMask))
            {
                throw new AtomicFallback();
            }

            page = (nint)region.HostPointer(physical & ~SoftTlb.PageMask);
        }

        _atomicHost = (ulong*)(page + (nint)(linear & SoftTlb.PageMask & ~7UL));
        _atomicOld = Volatile.Read(ref *_atomicHost);
        _atomicLinear = linear;
        _atomicSize = size;
        _atomicShift = (int)(linear & 7) * 8;
        _atomicHave = true;
        return (_atomicOld >> _atomicShift) & Instructions.Alu.Mask(size);
    }

    // Called from the slow write path while a locked instruction runs: only noted, published by ExecuteLocked.
    private void AtomicWrite(ulong linear, int size, ulong value)
    {
        if (!_atomicHave || linear != _atomicLinear || size != _atomicSize)
        {
            throw new AtomicFallback();
        }

        _atomicNew = value;
        _atomicWritten = true;
    }

    private bool IsAtomicTable(SoftTlb tlb) => ReferenceEquals(tlb, _atomicUser) || ReferenceEquals(tlb, _atomicSupervisor);

    /// <summary>Thrown inside a locked instruction whose operand cannot be updated with one compare-and-swap.</summary>
    private sealed class AtomicFallback : Exception;
}
