using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Emulator.Jit.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The RFLAGS instructions a 64-bit kernel runs around every spinlock (local_irq_save is PUSHFQ,
/// POP, CLI; local_irq_enable is STI): PUSHFQ composes the image from the arithmetic flags (the
/// state's LAHF/SETO word, see SaveFlags) and the rest of RFLAGS; CLI clears IF, STI sets it. 64-bit mode has no virtual-8086 mode, so
/// neither needs more than the checks below (Intel SDM Vol. 2B PUSHF, Vol. 2A CLI); anything else
/// runs in the interpreter's handler.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private bool Pushf(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        StackSlot(-8, 8);
        Probe(8, write: true, miss);

        // SF ZF AF PF CF from the LAHF byte, OF from the SETO byte, the rest from FlagsRest; the
        // image never shows VM or RF (Intel SDM Vol. 2B PUSHF).
        _a.movzx(edx, __byte_ptr[rbx + GuestState.HostRflagsOffset + 1]);
        _a.and(edx, 0xd5);
        _a.movzx(eax, __byte_ptr[rbx + GuestState.HostRflagsOffset]);
        _a.shl(eax, 11);
        _a.or(edx, eax);
        _a.or(edx, __dword_ptr[rbx + GuestState.FlagsRestOffset]);
        _a.and(edx, ~(int)(CpuCore.VM | CpuCore.RF));
        _a.mov(__qword_ptr[r10], rdx);
        AdjustStack(-8, 8);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    // CLI with CPL <= IOPL clears IF; otherwise (#GP, or VIF with CR4.PVI at CPL 3) the interpreter decides.
    private bool Cli(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        CplAboveIopl(miss);
        _a.and(__dword_ptr[rbx + GuestState.FlagsRestOffset], ~(int)CpuCore.IF);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    // STI with CPL <= IOPL sets IF (else the interpreter: #GP, or VIF). It is never the last
    // instruction of its block, and translated code looks at interrupts only at block boundaries, so
    // the next instruction runs before any interrupt, as the STI shadow requires (Intel SDM Vol. 2B
    // STI); after that one, AfterSti gives a waiting interrupt its chance. When that instruction
    // leaves the block (sti; ret), the budget, zeroed here if an interrupt waits, ends the run at
    // the next block's entry.
    private bool Sti(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        CplAboveIopl(miss);
        _a.or(__dword_ptr[rbx + GuestState.FlagsRestOffset], (int)CpuCore.IF);
        _a.cmp(__byte_ptr[rbx + GuestState.InterruptPendingOffset], 0);
        _a.je(done);
        // As CpuCore.RequestStop does, atomically against it: what is left is not counted as run.
        _a.xor(eax, eax);
        _a.xchg(__qword_ptr[rbx + GuestState.BudgetOffset], rax);
        _a.test(rax, rax);
        _a.jle(done);
        _a.@lock.add(__qword_ptr[rbx + GuestState.ForfeitedOffset], rax);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    // After the instruction that follows a translated STI: if an interrupt is waiting, the run ends
    // here, where the processor would take it (sti; inc; cli takes it before the CLI), not at the
    // next block boundary, which may come after IF is clear again.
    private void AfterSti(ulong next)
    {
        Label exit = _a.CreateLabel();
        ClobberFlags();
        _a.cmp(__byte_ptr[rbx + GuestState.InterruptPendingOffset], 0);
        _a.jne(exit);
        _outOfLine.Add(new OutOfLine(OutOfLineKind.InterruptExit, exit) { Rip = next });
    }

    // AfterSti's exit: the run ends at `next`, where the waiting interrupt is taken.
    private void InterruptExit(Label exit, ulong next)
    {
        Bind(ref exit);
        StoreRegisters();
        ExitAt(next, ExitReason.End);
    }

    // Jumps to `miss` when CPL > IOPL (RFLAGS bits 13:12), where CLI and STI fault or use VIF.
    private void CplAboveIopl(Label miss)
    {
        _a.movzx(eax, __word_ptr[rbx + GuestState.SegmentSelectorOffset((int)Core.Cpu.Seg.Cs)]);
        _a.and(eax, 3);
        _a.mov(edx, __dword_ptr[rbx + GuestState.FlagsRestOffset]);
        _a.shr(edx, 12);
        _a.and(edx, 3);
        _a.cmp(eax, edx);
        _a.ja(miss);
    }
}
