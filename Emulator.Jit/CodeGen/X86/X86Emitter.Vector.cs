using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Emulator.Jit.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// SSE instructions (IrKind.Vector, see Translation/VectorForms): the guest XMM registers an
/// instruction names are loaded from the state into host XMM0/XMM1, the instruction runs on them
/// (general registers as cached, memory through the probed host address in R10), and the written
/// XMM register is stored back. XMM0 and XMM1 are caller-saved in both host ABIs, so translated
/// code may use them freely between helper calls.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private static readonly Register[] VectorScratch = [Register.XMM0, Register.XMM1];

    private bool Vector(IrOp op)
    {
        Instruction ins = op.Ins;
        bool memory = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            memory |= ins.GetOpKind(i) == OpKind.Memory;
        }

        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        if (memory)
        {
            ClobberFlags();
            Address(op);
            if (VectorForms.RequiresAlignment(ins))
            {
                // Misaligned: the interpreter raises #GP(0).
                _a.test(al, 15);
                _a.jnz(miss);
            }

            Probe(ins.MemorySize.GetSize() is var s and > 0 ? s : 1, op.MemoryWrite, miss);
        }

        // Guest XMM register numbers to host scratch registers, in operand order.
        Span<int> guest = stackalloc int[2];
        int used = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            OpKind kind = ins.GetOpKind(i);
            if (kind == OpKind.Register && ins.GetOpRegister(i).IsXMM())
            {
                int g = ins.GetOpRegister(i) - Register.XMM0;
                int h = guest[..used].IndexOf(g);
                if (h < 0)
                {
                    h = used;
                    guest[used++] = g;
                    _a.AddInstruction(Instruction.Create(Code.Movdqu_xmm_xmmm128, VectorScratch[h], XmmSlot(g)));
                }

                ins.SetOpRegister(i, VectorScratch[h]);
            }
            else if (kind == OpKind.Register)
            {
                ins.SetOpRegister(i, Host(ins.GetOpRegister(i)));
            }
            else if (kind == OpKind.Memory)
            {
                ins.MemoryBase = Register.R10;
                ins.MemoryIndex = Register.None;
                ins.MemoryIndexScale = 1;
                ins.MemoryDisplacement64 = 0;
                ins.MemoryDisplSize = 0;
                ins.SegmentPrefix = Register.None;
            }
        }

        ins.IP = 0;
        _a.AddInstruction(ins);
        if (ins.Op0Kind == OpKind.Register && op.Ins.Op0Register.IsXMM())
        {
            _a.AddInstruction(Instruction.Create(Code.Movdqu_xmmm128_xmm, XmmSlot(op.Ins.Op0Register - Register.XMM0), VectorScratch[0]));
        }

        if (memory)
        {
            Bind(ref done);
            SlowPath(op, miss, done);
        }

        return false;
    }

    private static MemoryOperand XmmSlot(int guest) =>
        new(Register.RBX, GuestState.XmmOffset + (16 * guest), 8);
}
