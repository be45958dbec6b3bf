using Emulator.Jit.Decoding;
using Emulator.Jit.Instructions;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Execution;

/// <summary>
/// The semantics of a two-operand instruction (destination, source), apart from how its operands
/// are reached. <see cref="BinaryForms{T}"/> supplies the operand plumbing, once generically and
/// once per <see cref="OperandForm"/>; the instruction's family defines only this.
/// </summary>
internal interface IBinaryOp
{
    /// <summary>False for instructions that only write the destination (MOV, LEA): it is not read, so a memory destination is not read either.</summary>
    static abstract bool ReadsDestination { get; }

    /// <summary>False for instructions that only set flags (CMP, TEST).</summary>
    static abstract bool WritesDestination { get; }

    /// <summary>The result, truncated to <paramref name="size"/> bytes; operands arrive truncated.</summary>
    static abstract ulong Compute(CpuCore cpu, int size, ulong dst, ulong src);

    /// <summary>
    /// Records the flags. Called after the destination is written, so that an instruction whose
    /// write faults leaves the flags as they were.
    /// </summary>
    static abstract void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src);
}

/// <summary>The semantics of a one-operand read-modify-write instruction (INC, DEC, NEG, NOT).</summary>
internal interface IUnaryOp
{
    static abstract ulong Compute(CpuCore cpu, int size, ulong value);

    static abstract void SetFlags(CpuCore cpu, int size, ulong result, ulong value);
}

/// <summary>Handlers for a binary operation: the generic one and one per operand form.</summary>
internal static unsafe class BinaryForms<T>
    where T : struct, IBinaryOp
{
    /// <summary>Handlers indexed by <see cref="OperandForm"/>; the generic one at <see cref="OperandForm.Other"/>.</summary>
    public static readonly nint[] Table = Build();

    private static nint[] Build()
    {
        nint[] table = HandlerTable.Registry.NewFormTable();
        table[(int)OperandForm.Other] = (nint)(delegate*<CpuCore, ref Instruction, void>)&Generic;
        table[(int)OperandForm.RegReg] = (nint)(delegate*<CpuCore, ref Instruction, void>)&RegReg;
        table[(int)OperandForm.RegImm] = (nint)(delegate*<CpuCore, ref Instruction, void>)&RegImm;
        table[(int)OperandForm.RegMem] = (nint)(delegate*<CpuCore, ref Instruction, void>)&RegMem;
        table[(int)OperandForm.MemReg] = (nint)(delegate*<CpuCore, ref Instruction, void>)&MemReg;
        table[(int)OperandForm.MemImm] = (nint)(delegate*<CpuCore, ref Instruction, void>)&MemImm;
        return table;
    }

    public static void Generic(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong dst = T.ReadsDestination ? cpu.ReadOp(ins, 0, size) : 0;
        ulong src = cpu.ReadOp(ins, 1, size);
        ulong result = T.Compute(cpu, size, dst, src);
        if (T.WritesDestination)
        {
            cpu.WriteOp(ins, 0, size, result);
        }

        T.SetFlags(cpu, size, result, dst, src);
    }

    private static void RegReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ToRegister(cpu, ref op, cpu.Gpr(op.Reg1) & Alu.Mask(op.Size));
    }

    private static void RegImm(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ToRegister(cpu, ref op, op.Imm);
    }

    private static void RegMem(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ToRegister(cpu, ref op, cpu.ReadSized(cpu.MemoryLinear(ref op), op.MemorySize));
    }

    private static void MemReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ToMemory(cpu, ref op, cpu.Gpr(op.Reg1) & Alu.Mask(op.Size));
    }

    private static void MemImm(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ToMemory(cpu, ref op, op.Imm);
    }

    private static void ToRegister(CpuCore cpu, ref DecodedOp op, ulong src)
    {
        int size = op.Size;
        ref ulong reg = ref cpu.Gpr(op.Reg0);
        ulong dst = T.ReadsDestination ? reg & Alu.Mask(size) : 0;
        ulong result = T.Compute(cpu, size, dst, src);
        if (T.WritesDestination)
        {
            CpuCore.Put(ref reg, size, result);
        }

        T.SetFlags(cpu, size, result, dst, src);
    }

    private static void ToMemory(CpuCore cpu, ref DecodedOp op, ulong src)
    {
        int size = op.Size;
        ulong linear = T.WritesDestination ? cpu.MemoryLinearWrite(ref op) : cpu.MemoryLinear(ref op);
        ulong dst = T.ReadsDestination ? cpu.ReadSized(linear, size) : 0;
        ulong result = T.Compute(cpu, size, dst, src);
        if (T.WritesDestination)
        {
            cpu.WriteSized(linear, size, result);
        }

        T.SetFlags(cpu, size, result, dst, src);
    }
}

/// <summary>Handlers for a unary read-modify-write operation: the generic one and the register and memory forms.</summary>
internal static unsafe class UnaryForms<T>
    where T : struct, IUnaryOp
{
    public static readonly nint[] Table = Build();

    private static nint[] Build()
    {
        nint[] table = HandlerTable.Registry.NewFormTable();
        table[(int)OperandForm.Other] = (nint)(delegate*<CpuCore, ref Instruction, void>)&Generic;
        table[(int)OperandForm.Reg] = (nint)(delegate*<CpuCore, ref Instruction, void>)&Reg;
        table[(int)OperandForm.Mem] = (nint)(delegate*<CpuCore, ref Instruction, void>)&Mem;
        return table;
    }

    public static void Generic(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong value = cpu.ReadOp(ins, 0, size);
        ulong result = T.Compute(cpu, size, value);
        cpu.WriteOp(ins, 0, size, result);
        T.SetFlags(cpu, size, result, value);
    }

    private static void Reg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        int size = op.Size;
        ref ulong reg = ref cpu.Gpr(op.Reg0);
        ulong value = reg & Alu.Mask(size);
        ulong result = T.Compute(cpu, size, value);
        CpuCore.Put(ref reg, size, result);
        T.SetFlags(cpu, size, result, value);
    }

    private static void Mem(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        int size = op.Size;
        ulong linear = cpu.MemoryLinearWrite(ref op);
        ulong value = cpu.ReadSized(linear, size);
        ulong result = T.Compute(cpu, size, value);
        cpu.WriteSized(linear, size, result);
        T.SetFlags(cpu, size, result, value);
    }
}
