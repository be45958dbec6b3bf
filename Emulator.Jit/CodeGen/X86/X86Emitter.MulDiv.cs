using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// One-operand MUL, IMUL, DIV and IDIV as the host's own instruction on RDX:RAX (Intel SDM Vol. 2A).
/// The guest's RAX and RDX go through the host's RAX and RDX, the operand stays where it is (a host
/// register, a scratch register for one in the state, or the probed host address). A division is
/// checked first for what would make the host fault: DIV when the high half is not below the
/// divisor (a zero divisor included: the quotient would not fit), IDIV when the divisor is 0 or -1
/// or the dividend is not the sign extension of its low half (short of those, the quotient fits).
/// Those, rare, run through the interpreter, which raises #DE where the architecture does.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private bool MulDiv(IrOp op)
    {
        bool memory = op.Ins.Op0Kind == OpKind.Memory;
        bool divide = op.Ins.Mnemonic is Mnemonic.Div or Mnemonic.Idiv;
        int size = op.Size;
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        if (memory)
        {
            ushort addressSpills = LoadSpills(AddressRegisters(op.Ins), AddressScratch);
            Address(op);
            StoreSpills(addressSpills, 0);
            Probe(size, write: false, miss);
        }

        // A register operand left in the state comes in R10 (RAX and RDX are taken).
        ushort spills = memory ? (ushort)0 : LoadSpills(OperandRegisters(op), [Register.R10]);
        LoadGuest(Register.RAX, 0);
        if (divide || size == 2)
        {
            // A 16-bit result keeps RDX's upper bits; a division reads RDX.
            LoadGuest(Register.RDX, 2);
        }

        if (op.Ins.Mnemonic == Mnemonic.Div)
        {
            _a.AddInstruction(Compare(HostSized(Register.RDX, size), op));
            _a.jae(miss);
        }
        else if (op.Ins.Mnemonic == Mnemonic.Idiv)
        {
            _a.AddInstruction(CompareImmediate(op, 0));
            _a.je(miss);
            _a.AddInstruction(CompareImmediate(op, -1));
            _a.je(miss);
            Register c = HostSized(Register.RCX, size), a = HostSized(Register.RAX, size);
            _a.AddInstruction(Instruction.Create(size == 8 ? Code.Mov_r64_rm64 : size == 4 ? Code.Mov_r32_rm32 : Code.Mov_r16_rm16, c, a));
            _a.AddInstruction(Instruction.Create(size == 8 ? Code.Sar_rm64_imm8 : size == 4 ? Code.Sar_rm32_imm8 : Code.Sar_rm16_imm8, c, (size * 8) - 1));
            _a.AddInstruction(Instruction.Create(size == 8 ? Code.Cmp_r64_rm64 : size == 4 ? Code.Cmp_r32_rm32 : Code.Cmp_r16_rm16, c, HostSized(Register.RDX, size)));
            _a.jne(miss);
        }

        _a.AddInstruction(Rewrite(op));
        StoreSpills(spills, 0);
        StoreGuest(0, Register.RAX);
        StoreGuest(2, Register.RDX);
        FlagsAfter(op);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    private void LoadGuest(Register host, int guest)
    {
        if (_host[guest] == Register.None)
        {
            _a.mov(new AssemblerRegister64(host), __qword_ptr[rbx + GuestState.GprOffset(guest)]);
        }
        else
        {
            _a.mov(new AssemblerRegister64(host), new AssemblerRegister64(_host[guest]));
        }
    }

    private void StoreGuest(int guest, Register host)
    {
        if (_host[guest] == Register.None)
        {
            _a.mov(__qword_ptr[rbx + GuestState.GprOffset(guest)], new AssemblerRegister64(host));
        }
        else
        {
            _a.mov(new AssemblerRegister64(_host[guest]), new AssemblerRegister64(host));
        }
    }

    private static Register HostSized(Register host64, int size) => HostRegisters.Sized(host64, size);

    // The operand (its host register, or [R10]) as the second operand of CMP `left`, operand.
    private Instruction Compare(Register left, in IrOp op)
    {
        int size = op.Size;
        Code code = size == 8 ? Code.Cmp_r64_rm64 : size == 4 ? Code.Cmp_r32_rm32 : Code.Cmp_r16_rm16;
        return op.Ins.Op0Kind == OpKind.Memory
            ? Instruction.Create(code, left, new MemoryOperand(Register.R10))
            : Instruction.Create(code, left, Host(op.Ins.Op0Register));
    }

    // CMP operand, imm8 (sign-extended).
    private Instruction CompareImmediate(in IrOp op, int value)
    {
        int size = op.Size;
        Code code = size == 8 ? Code.Cmp_rm64_imm8 : size == 4 ? Code.Cmp_rm32_imm8 : Code.Cmp_rm16_imm8;
        return op.Ins.Op0Kind == OpKind.Memory
            ? Instruction.Create(code, new MemoryOperand(Register.R10), value)
            : Instruction.Create(code, Host(op.Ins.Op0Register), value);
    }
}
