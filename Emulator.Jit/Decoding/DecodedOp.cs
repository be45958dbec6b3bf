using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Jit.Execution;
using Emulator.Jit.Instructions;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Decoding;

/// <summary>
/// One guest instruction as a block holds it: Iced's decoding, the handler chosen for it, and the
/// operand facts that the fast operand forms (<see cref="OperandForm"/>) read instead of asking
/// Iced again on every execution: register-file indexes, the immediate, the memory operand's
/// address parts. <see cref="Ins"/> is the first field, so a form handler, which is called with
/// <c>ref op.Ins</c> like every handler, recovers the whole op with <see cref="Of"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DecodedOp
{
    public Instruction Ins;
    public delegate*<CpuCore, ref Instruction, void> Handler;

    /// <summary>The source immediate, truncated to the operand size as ReadOp would give it.</summary>
    public ulong Imm;

    /// <summary>Memory operand: displacement (for RIP-relative operands, the absolute address).</summary>
    public ulong Disp;

    /// <summary>Memory operand: the address-size mask applied to base + index * scale + displacement.</summary>
    public ulong AddressMask;

    public OperandForm Form;

    /// <summary>Operand size in bytes (of operand 0; for a near CALL, of the return address it pushes).</summary>
    public byte Size;

    /// <summary>Size in bytes of operand 1 (register or memory), which MOVZX and MOVSX read narrower than operand 0.</summary>
    public byte Size1;

    /// <summary>Size in bytes of the memory operand, for its segment-limit check.</summary>
    public byte MemorySize;

    public byte Length;

    /// <summary>Register-file index of operand 0 and 1 when they are general registers.</summary>
    public sbyte Reg0;

    public sbyte Reg1;

    /// <summary>Memory operand: register-file index of base and index (-1 for none), index shift, segment.</summary>
    public sbyte Base;

    public sbyte Index;

    public byte Scale;

    public byte Segment;

    /// <summary>The op around the instruction a form handler was called with (see the type's summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref DecodedOp Of(ref Instruction ins) => ref Unsafe.As<Instruction, DecodedOp>(ref ins);

    /// <summary>Prepares <paramref name="ins"/>, decoded in a code segment of <paramref name="bitness"/> bits, for execution.</summary>
    public static DecodedOp Create(in Instruction ins, int bitness)
    {
        var op = new DecodedOp { Ins = ins, Length = (byte)ins.Length, Reg0 = -1, Reg1 = -1, Base = -1, Index = -1 };
        op.Form = Classify(ref op, bitness);
        op.Handler = CpuCore.IsLockedAccess(ins) ? &CpuCore.RunLocked : HandlerTable.For(ins.Code, op.Form);
        return op;
    }

    // LOCK-prefixed instructions stay on the generic handlers, which own the locked semantics.
    private static OperandForm Classify(ref DecodedOp op, int bitness)
    {
        ref Instruction ins = ref op.Ins;
        if (ins.HasLockPrefix || ins.OpCount is 0 or > 2)
        {
            return OperandForm.Other;
        }

        bool mem0;
        switch (ins.Op0Kind)
        {
            case OpKind.Register when GeneralRegister(ins.Op0Register, out op.Reg0, out op.Size):
                mem0 = false;
                break;
            case OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 when ins.OpCount == 1:
                op.Imm = ins.Op0Kind switch
                {
                    OpKind.NearBranch16 => ins.NearBranch16,
                    OpKind.NearBranch32 => ins.NearBranch32,
                    _ => ins.NearBranch64,
                };
                op.Size = (byte)Math.Abs(ins.StackPointerIncrement);
                return OperandForm.NearBranch;
            case OpKind.Memory when ins.MemorySize.GetSize() is 1 or 2 or 4 or 8 && AddressParts(ref op, bitness):
                op.Size = op.MemorySize = (byte)ins.MemorySize.GetSize();
                mem0 = true;
                break;
            default:
                return OperandForm.Other;
        }

        if (ins.OpCount == 1)
        {
            return mem0 ? OperandForm.Mem : OperandForm.Reg;
        }

        // Operand 1 may be narrower than operand 0 only where the instruction says so (MOVZX,
        // MOVSX); the families that register forms for same-size instructions rely on the ISA.
        switch (ins.Op1Kind)
        {
            case OpKind.Register when GeneralRegister(ins.Op1Register, out op.Reg1, out op.Size1):
                return mem0 ? OperandForm.MemReg : OperandForm.RegReg;
            case OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64
                or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64:
                op.Imm = ins.GetImmediate(1) & Alu.Mask(op.Size);
                return mem0 ? OperandForm.MemImm : OperandForm.RegImm;
            // LEA's memory operand has no size (it is only an address): its limit check is skipped anyway.
            case OpKind.Memory when !mem0 && ins.MemorySize.GetSize() is 0 or 1 or 2 or 4 or 8:
                op.Size1 = op.MemorySize = (byte)ins.MemorySize.GetSize();
                return AddressParts(ref op, bitness) ? OperandForm.RegMem : OperandForm.Other;
            default:
                return OperandForm.Other;
        }
    }

    private static bool GeneralRegister(Register reg, out sbyte index, out byte size)
    {
        index = RegisterMap.Index[(int)reg];
        size = RegisterMap.Size[(int)reg];
        return index >= 0 && !RegisterMap.HighByte[(int)reg];
    }

    private static bool AddressParts(ref DecodedOp op, int bitness)
    {
        ref Instruction ins = ref op.Ins;
        op.Segment = (byte)CpuCore.SegmentIndex(ins.MemorySegment);
        op.Disp = ins.MemoryDisplacement64;
        op.AddressMask = CpuCore.AddressMask(ins, bitness);
        if (ins.MemoryBase is Register.RIP or Register.EIP)
        {
            return true;
        }

        if (ins.MemoryBase != Register.None && !GeneralRegister(ins.MemoryBase, out op.Base, out _))
        {
            return false;
        }

        if (ins.MemoryIndex != Register.None && !GeneralRegister(ins.MemoryIndex, out op.Index, out _))
        {
            return false;
        }

        op.Scale = (byte)System.Numerics.BitOperations.Log2((uint)ins.MemoryIndexScale);
        return true;
    }
}
