using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Segment register reads: MOV r32/r64, Sreg stores the visible selector, zero-extended (the upper
/// bits of a 32-bit destination are zero on P6 and later processors, and a 32-bit write clears bits
/// 63:32 in 64-bit mode; Intel SDM Vol. 2B MOV). It cannot fault, so it needs no slow path.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private bool MovFromSegment(IrOp op)
    {
        // IrBuilder pins the destination: it has a host register.
        int seg = CpuCore.SegmentIndex(op.Ins.Op1Register);
        int g = RegisterMap.Index[(int)op.Ins.Op0Register];
        _a.movzx(Host32(g), __word_ptr[rbx + GuestState.SegmentSelectorOffset(seg)]);
        return false;
    }
}
