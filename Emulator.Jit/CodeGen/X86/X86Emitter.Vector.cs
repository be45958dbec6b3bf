using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Emulator.Jit.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// SSE and AVX instructions (IrKind.Vector, see Translation/VectorForms): the guest XMM/YMM registers
/// an instruction reads are loaded from the state into host XMM0-XMM3 (a YMM register from its two
/// halves, <see cref="GuestState.Xmm"/> and <see cref="GuestState.YmmHigh"/>), the instruction runs
/// on them (general registers as cached, memory through the probed host address in R10), and the
/// written register is stored back: all 256 bits for a VEX.256 form, bits 127:0 and zeros above for
/// a VEX.128 form, bits 127:0 alone for a legacy form, which leaves the upper bits as they were
/// (Intel SDM Vol. 1 14.1.2). XMM0-XMM3 are caller-saved in both host ABIs. After a 256-bit form
/// the host's VZEROUPPER keeps the upper halves of the host's registers clean, so that legacy SSE
/// code (the next translated SSE form, the runtime's helpers) pays no AVX-SSE transition.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private static readonly Register[] VectorScratch = [Register.XMM0, Register.XMM1, Register.XMM2, Register.XMM3];

    private bool Vector(IrOp op)
    {
        Instruction ins = op.Ins;
        if (VectorForms.IsZeroing(ins))
        {
            ZeroUpper(ins.Mnemonic == Mnemonic.Vzeroall);
            return false;
        }

        bool vex = ins.Encoding == EncodingKind.VEX;
        bool memory = false, wide = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            memory |= ins.GetOpKind(i) == OpKind.Memory;
            wide |= ins.GetOpKind(i) == OpKind.Register && ins.GetOpRegister(i).IsYMM();
        }

        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        if (memory)
        {
            ClobberFlags();
            Address(op);
            int size = ins.MemorySize.GetSize() is var s and > 0 ? s : 1;
            if (VectorForms.RequiresAlignment(ins) || VectorForms.RequiresVexAlignment(ins))
            {
                // Misaligned: the interpreter raises #GP(0).
                _a.test(al, (byte)(size - 1));
                _a.jnz(miss);
            }

            Probe(size, op.MemoryWrite, miss);
        }

        if (VectorForms.ReadsLengths(ins.Mnemonic))
        {
            // PCMPESTRI's lengths: EAX and EDX (RAX and RDX with REX.W) through the host's own.
            _a.mov(rax, Host64(0));
            _a.mov(rdx, Host64(2));
        }

        // Guest vector register numbers to host scratch registers, in operand order. A VEX form's
        // destination is never one of its sources unless named again, so it is not loaded. PTEST
        // and the string compares only read their first operand.
        bool destination = VectorForms.HasVectorDestination(ins.Mnemonic);
        Span<int> guest = stackalloc int[VectorScratch.Length];
        Span<bool> read = stackalloc bool[VectorScratch.Length];
        int used = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            OpKind kind = ins.GetOpKind(i);
            if (kind == OpKind.Register && IsVectorRegister(ins.GetOpRegister(i), out int g, out bool ymm))
            {
                int h = guest[..used].IndexOf(g);
                if (h < 0)
                {
                    h = used;
                    guest[used++] = g;
                }

                read[h] |= i > 0 || !vex || !destination;
                ins.SetOpRegister(i, (ymm ? Register.YMM0 : Register.XMM0) + (VectorScratch[h] - Register.XMM0));
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

        for (int h = 0; h < used; h++)
        {
            if (read[h])
            {
                LoadVector(guest[h], VectorScratch[h], vex, wide);
            }
        }

        ins.IP = 0;
        _a.AddInstruction(ins);
        if (destination && ins.Op0Kind == OpKind.Register && IsVectorRegister(op.Ins.Op0Register, out int dest, out bool destYmm))
        {
            StoreVector(dest, VectorScratch[0], vex, destYmm);
        }

        if (VectorForms.WritesEcx(ins.Mnemonic))
        {
            _a.mov(Host64(1), rcx);
        }

        if (wide)
        {
            _a.vzeroupper();
        }

        FlagsAfter(op);
        if (memory)
        {
            Bind(ref done);
            SlowPath(miss, done);
        }

        return false;
    }

    private static bool IsVectorRegister(Register r, out int guest, out bool ymm)
    {
        ymm = r.IsYMM();
        guest = ymm ? r - Register.YMM0 : r - Register.XMM0;
        return ymm || r.IsXMM();
    }

    // A guest register into a host one: its low half from Xmm, for a 256-bit form its high half from YmmHigh.
    private void LoadVector(int guest, Register host, bool vex, bool wide)
    {
        if (!vex)
        {
            _a.AddInstruction(Instruction.Create(Code.Movdqu_xmm_xmmm128, host, XmmSlot(guest)));
            return;
        }

        _a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_xmm_xmmm128, host, XmmSlot(guest)));
        if (wide)
        {
            Register y = Register.YMM0 + (host - Register.XMM0);
            _a.AddInstruction(Instruction.Create(Code.VEX_Vinsertf128_ymm_ymm_xmmm128_imm8, y, y, YmmHighSlot(guest), 1));
        }
    }

    // The written register back: bits 127:0; then bits 255:128 for a 256-bit result, zeros for a
    // VEX.128 one, nothing for a legacy form.
    private void StoreVector(int guest, Register host, bool vex, bool ymm)
    {
        if (!vex)
        {
            _a.AddInstruction(Instruction.Create(Code.Movdqu_xmmm128_xmm, XmmSlot(guest), host));
            return;
        }

        _a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_xmmm128_xmm, XmmSlot(guest), host));
        if (ymm)
        {
            _a.AddInstruction(Instruction.Create(Code.VEX_Vextractf128_xmmm128_ymm_imm8, YmmHighSlot(guest), Register.YMM0 + (host - Register.XMM0), 1));
        }
        else
        {
            Register zero = host == VectorScratch[0] ? VectorScratch[1] : VectorScratch[0];
            _a.AddInstruction(Instruction.Create(Code.VEX_Vpxor_xmm_xmm_xmmm128, zero, zero, zero));
            _a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_xmmm128_xmm, YmmHighSlot(guest), zero));
        }
    }

    // VZEROUPPER zeroes bits 255:128 of the YMM registers, VZEROALL all of them: YMM0-YMM15 in
    // 64-bit mode, YMM0-YMM7 outside it, where YMM8-YMM15 are left as they are (Intel SDM Vol. 2C
    // VZEROUPPER, VZEROALL).
    private void ZeroUpper(bool all)
    {
        int count = _ir.Bitness == 64 ? 16 : 8;
        _a.AddInstruction(Instruction.Create(Code.VEX_Vpxor_xmm_xmm_xmmm128, Register.XMM0, Register.XMM0, Register.XMM0));
        for (int i = 0; i < count; i += 2)
        {
            _a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_ymmm256_ymm, new MemoryOperand(Register.RBX, GuestState.YmmHighOffset + (16 * i), 8), Register.YMM0));
            if (all)
            {
                _a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_ymmm256_ymm, new MemoryOperand(Register.RBX, GuestState.XmmOffset + (16 * i), 8), Register.YMM0));
            }
        }

        _a.vzeroupper();
    }

    private static MemoryOperand XmmSlot(int guest) =>
        new(Register.RBX, GuestState.XmmOffset + (16 * guest), 8);

    private static MemoryOperand YmmHighSlot(int guest) =>
        new(Register.RBX, GuestState.YmmHighOffset + (16 * guest), 8);
}
