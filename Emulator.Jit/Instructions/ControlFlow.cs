using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Control transfers: JMP, Jcc, CALL, RET, RETF, LOOP/LOOPcc, JCXZ family.</summary>
internal static unsafe class ControlFlow
{
    // Size in bytes of the counter register used by LOOP and JCXZ encodings, from the Iced code name.
    private static readonly byte[] CounterSize = BuildCounterSizes();

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Jmp, &Jmp, OperandForm.NearBranch, &JmpNear);
        r.Add(Mnemonic.Call, &Call, OperandForm.NearBranch, &CallNear);
        r.Add(Mnemonic.Ret, &Ret);
        r.Add(Mnemonic.Retf, &Retf);
        r.Add(Mnemonic.Loop, &Loop);
        r.Add(Mnemonic.Loope, &Loop);
        r.Add(Mnemonic.Loopne, &Loop);
        r.Add(Mnemonic.Jcxz, &Jcxz);
        r.Add(Mnemonic.Jecxz, &Jcxz);
        r.Add(Mnemonic.Jrcxz, &Jcxz);
        foreach (Mnemonic m in new[] { Mnemonic.Jo, Mnemonic.Jno, Mnemonic.Jb, Mnemonic.Jae, Mnemonic.Je, Mnemonic.Jne, Mnemonic.Jbe, Mnemonic.Ja, Mnemonic.Js, Mnemonic.Jns, Mnemonic.Jp, Mnemonic.Jnp, Mnemonic.Jl, Mnemonic.Jge, Mnemonic.Jle, Mnemonic.Jg })
        {
            r.Add(m, &Jcc, OperandForm.NearBranch, &JccNear);
        }
    }

    private static byte[] BuildCounterSizes()
    {
        Code[] codes = Enum.GetValues<Code>();
        byte[] sizes = new byte[codes.Length];
        foreach (Code c in codes)
        {
            string name = c.ToString();
            sizes[(int)c] = name.EndsWith("_RCX", StringComparison.Ordinal) || name.StartsWith("Jrcxz", StringComparison.Ordinal) ? (byte)8
                : name.EndsWith("_ECX", StringComparison.Ordinal) || name.StartsWith("Jecxz", StringComparison.Ordinal) ? (byte)4
                : (byte)2;
        }

        return sizes;
    }

    /// <summary>The near branch target, truncated to the operand size (Intel SDM Vol. 2A JMP).</summary>
    private static ulong NearTarget(in Instruction ins) => ins.Op0Kind switch
    {
        OpKind.NearBranch16 => ins.NearBranch16,
        OpKind.NearBranch32 => ins.NearBranch32,
        _ => ins.NearBranch64,
    };

    /// <summary>
    /// Checks a near branch target before anything is committed: in 64-bit mode it must be
    /// canonical, elsewhere within the CS limit, else #GP(0) reported on the branch instruction
    /// itself (Intel SDM Vol. 2A JMP and CALL, Vol. 2B RET and Jcc, "Protected Mode Exceptions" /
    /// "64-Bit Mode Exceptions"). AMD reports a non-canonical target at the target; the CPU model
    /// is Intel's.
    /// </summary>
    private static ulong Checked(CpuCore cpu, ulong target)
    {
        if (cpu.Bitness == 64 ? !CpuCore.IsCanonical(target) : target > cpu.Seg[(int)Core.Cpu.Seg.Cs].Limit)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        return target;
    }

    private static void Jmp(CpuCore cpu, ref Instruction ins)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
            case OpKind.NearBranch64:
                cpu.Rip = Checked(cpu, NearTarget(ins));
                return;
            case OpKind.FarBranch16:
            case OpKind.FarBranch32:
                cpu.FarJump(ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch16 ? ins.FarBranch16 : ins.FarBranch32);
                return;
            default:
                if (ins.IsJmpFarIndirect)
                {
                    (ushort selector, ulong offset) = ReadFarPointer(cpu, ins);
                    cpu.FarJump(selector, offset);
                    return;
                }

                int size = CpuCore.OpSize(ins, 0);
                cpu.Rip = Checked(cpu, cpu.ReadOp(ins, 0, size));
                return;
        }
    }

    private static (ushort Selector, ulong Offset) ReadFarPointer(CpuCore cpu, in Instruction ins)
    {
        int size = ins.MemorySize switch { MemorySize.SegPtr16 => 2, MemorySize.SegPtr32 => 4, _ => 8 };
        ulong ea = cpu.EffectiveAddress(ins);
        int seg = CpuCore.SegmentIndex(ins.MemorySegment);
        ulong offset = cpu.ReadSized(cpu.Linear(seg, ea, size), size);
        ushort selector = cpu.Read16(cpu.Linear(seg, ea + (ulong)size, 2));
        return (selector, offset);
    }

    private static void Jcc(CpuCore cpu, ref Instruction ins)
    {
        if (cpu.Condition(ins.ConditionCode))
        {
            cpu.Rip = Checked(cpu, NearTarget(ins));
        }
    }

    private static void JmpNear(CpuCore cpu, ref Instruction ins) => cpu.Rip = Checked(cpu, DecodedOp.Of(ref ins).Imm);

    private static void JccNear(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        if (cpu.Condition(op.Ins.ConditionCode))
        {
            cpu.Rip = Checked(cpu, op.Imm);
        }
    }

    private static void CallNear(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ulong target = Checked(cpu, op.Imm);
        cpu.Push(cpu.Rip, op.Size);
        cpu.Rip = target;
    }

    private static void Call(CpuCore cpu, ref Instruction ins)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
            case OpKind.NearBranch64:
                ulong relative = Checked(cpu, NearTarget(ins));
                cpu.Push(cpu.Rip, -ins.StackPointerIncrement);
                cpu.Rip = relative;
                return;
            case OpKind.FarBranch16:
            case OpKind.FarBranch32:
                FarCall(cpu, ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch16 ? ins.FarBranch16 : ins.FarBranch32, ins.Op0Kind == OpKind.FarBranch16 ? 2 : 4);
                return;
            default:
                if (ins.IsCallFarIndirect)
                {
                    (ushort selector, ulong offset) = ReadFarPointer(cpu, ins);
                    FarCall(cpu, selector, offset, ins.MemorySize == MemorySize.SegPtr16 ? 2 : ins.MemorySize == MemorySize.SegPtr32 ? 4 : 8);
                    return;
                }

                int size = CpuCore.OpSize(ins, 0);
                ulong target = Checked(cpu, cpu.ReadOp(ins, 0, size));
                cpu.Push(cpu.Rip, size);
                cpu.Rip = target;
                return;
        }
    }

    private static void FarCall(CpuCore cpu, ushort selector, ulong offset, int size) => cpu.FarCall(selector, offset, size);

    private static void Ret(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Code switch
        {
            Code.Retnw or Code.Retnw_imm16 => 2,
            Code.Retnd or Code.Retnd_imm16 => 4,
            _ => 8,
        };
        ulong target = Checked(cpu, cpu.PeekStack(0, size));
        cpu.StackPointer += (ulong)size + (ins.OpCount > 0 ? ins.Immediate16 : 0UL);
        cpu.Rip = target;
    }

    private static void Retf(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Code switch
        {
            Code.Retfw or Code.Retfw_imm16 => 2,
            Code.Retfd or Code.Retfd_imm16 => 4,
            _ => 8,
        };
        cpu.FarReturn(size, ins.OpCount > 0 ? ins.Immediate16 : 0UL);
    }

    private static void Loop(CpuCore cpu, ref Instruction ins)
    {
        int counterSize = CounterSize[(int)ins.Code];
        ulong mask = Alu.Mask(counterSize);
        ulong count = (cpu.R[1] - 1) & mask;
        bool take = count != 0 && ins.Mnemonic switch
        {
            Mnemonic.Loope => cpu.Flags.Zero,
            Mnemonic.Loopne => !cpu.Flags.Zero,
            _ => true,
        };
        ulong target = take ? Checked(cpu, NearTarget(ins)) : 0;
        cpu.R[1] = counterSize == 4 ? count : (cpu.R[1] & ~mask) | count;
        if (take)
        {
            cpu.Rip = target;
        }
    }

    private static void Jcxz(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.R[1] & Alu.Mask(CounterSize[(int)ins.Code])) == 0)
        {
            cpu.Rip = Checked(cpu, NearTarget(ins));
        }
    }
}
