using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The RFLAGS instructions a 64-bit kernel runs around every spinlock (local_irq_save is PUSHFQ,
/// POP, CLI): PUSHFQ composes the image from the arithmetic flags (the state's LAHF/SETO word,
/// see SaveFlags) and the rest of RFLAGS; CLI clears IF. 64-bit mode has no virtual-8086 mode, so
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
        SlowPath(op, miss, done);
        return false;
    }

    // CLI with CPL <= IOPL clears IF; otherwise (#GP, or VIF with CR4.PVI at CPL 3) the interpreter decides.
    private bool Cli(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        _a.movzx(eax, __word_ptr[rbx + GuestState.SegmentSelectorOffset((int)Core.Cpu.Seg.Cs)]);
        _a.and(eax, 3);
        _a.mov(edx, __dword_ptr[rbx + GuestState.FlagsRestOffset]);
        _a.shr(edx, 12);
        _a.and(edx, 3);
        _a.cmp(eax, edx);
        _a.ja(miss);
        _a.and(__dword_ptr[rbx + GuestState.FlagsRestOffset], ~(int)CpuCore.IF);
        Bind(ref done);
        SlowPath(op, miss, done);
        return false;
    }
}
