using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>Data movement: MOV (general and segment registers), MOVZX, MOVSX, MOVSXD, LEA, XCHG, CMOVcc, SETcc, CBW family, XLAT, far-pointer loads, NOP.</summary>
internal static unsafe class DataMove
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Mov, BinaryForms<MovOp>.Table);
        r.Add(Code.Mov_rm16_Sreg, &MovFromSreg);
        r.Add(Code.Mov_r32m16_Sreg, &MovFromSreg);
        r.Add(Code.Mov_r64m16_Sreg, &MovFromSreg);
        r.Add(Code.Mov_Sreg_rm16, &MovToSreg);
        r.Add(Code.Mov_Sreg_r32m16, &MovToSreg);
        r.Add(Code.Mov_Sreg_r64m16, &MovToSreg);
        r.Add(Mnemonic.Movzx, &Movzx, OperandForm.RegReg, &MovzxRegReg, OperandForm.RegMem, &MovzxRegMem);
        r.Add(Mnemonic.Movsx, &Movsx, OperandForm.RegReg, &MovsxRegReg, OperandForm.RegMem, &MovsxRegMem);
        r.Add(Mnemonic.Movsxd, &Movsx, OperandForm.RegReg, &MovsxRegReg, OperandForm.RegMem, &MovsxRegMem);
        r.Add(Mnemonic.Lea, &Lea, OperandForm.RegMem, &LeaRegMem);
        r.Add(Mnemonic.Xchg, &Xchg);
        r.Add(Mnemonic.Cbw, &Cbw);
        r.Add(Mnemonic.Cwde, &Cbw);
        r.Add(Mnemonic.Cdqe, &Cbw);
        r.Add(Mnemonic.Cwd, &Cwd);
        r.Add(Mnemonic.Cdq, &Cwd);
        r.Add(Mnemonic.Cqo, &Cwd);
        r.Add(Mnemonic.Xlatb, &Xlat);
        r.Add(Mnemonic.Nop, &Nop);
        r.Add(Mnemonic.Pause, &Nop);
        // ENDBR32/ENDBR64 are NOPs while CET is not enabled, and CPUID advertises no CET (Intel SDM Vol. 2A ENDBR64).
        r.Add(Mnemonic.Endbr32, &Nop);
        r.Add(Mnemonic.Endbr64, &Nop);
        r.Add(Mnemonic.Lds, &LoadFarPointer);
        r.Add(Mnemonic.Les, &LoadFarPointer);
        r.Add(Mnemonic.Lfs, &LoadFarPointer);
        r.Add(Mnemonic.Lgs, &LoadFarPointer);
        r.Add(Mnemonic.Lss, &LoadFarPointer);
        foreach (Mnemonic m in new[] { Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova, Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg })
        {
            r.Add(m, &Cmov, OperandForm.RegReg, &CmovRegReg, OperandForm.RegMem, &CmovRegMem);
        }

        foreach (Mnemonic m in new[] { Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe, Mnemonic.Seta, Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg })
        {
            r.Add(m, &Setcc, OperandForm.Reg, &SetccReg);
        }
    }

    private struct MovOp : IBinaryOp
    {
        public static bool ReadsDestination => false;

        public static bool WritesDestination => true;

        public static ulong Compute(CpuCore cpu, int size, ulong dst, ulong src) => src;

        public static void SetFlags(CpuCore cpu, int size, ulong result, ulong dst, ulong src)
        {
        }
    }

    private static void MovFromSreg(CpuCore cpu, ref Instruction ins)
    {
        ushort selector = cpu.Seg[CpuCore.SegmentIndex(ins.Op1Register)].Selector;
        int size = ins.Op0Kind == OpKind.Memory ? 2 : CpuCore.OpSize(ins, 0);
        cpu.WriteOp(ins, 0, size, selector);
    }

    private static void MovToSreg(CpuCore cpu, ref Instruction ins)
    {
        int seg = CpuCore.SegmentIndex(ins.Op0Register);
        if (seg == (int)SegIndex.Cs)
        {
            throw new GuestFault(Vectors.UD);
        }

        cpu.LoadSegment(seg, (ushort)cpu.ReadOp(ins, 1, 2));
        if (seg == (int)SegIndex.Ss)
        {
            // Intel SDM Vol. 3A 6.8.3: no interrupt between MOV SS and the next instruction.
            cpu.InterruptShadow = true;
            cpu.MovSsShadow = true;
            cpu.EndBlock = true;
        }
    }

    private static long SignExtend(ulong v, int size) => size switch { 1 => (sbyte)v, 2 => (short)v, 4 => (int)v, _ => (long)v };

    private static void Movzx(CpuCore cpu, ref Instruction ins) =>
        cpu.WriteOp(ins, 0, CpuCore.OpSize(ins, 0), cpu.ReadOp(ins, 1, CpuCore.OpSize(ins, 1)));

    private static void Movsx(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int srcSize = CpuCore.OpSize(ins, 1);
        cpu.WriteOp(ins, 0, size, (ulong)SignExtend(cpu.ReadOp(ins, 1, srcSize), srcSize) & Alu.Mask(size));
    }

    private static void MovzxRegReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), op.Size, cpu.Gpr(op.Reg1) & Alu.Mask(op.Size1));
    }

    private static void MovzxRegMem(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), op.Size, cpu.ReadSized(cpu.MemoryLinear(ref op), op.Size1));
    }

    private static void MovsxRegReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), op.Size, (ulong)SignExtend(cpu.Gpr(op.Reg1) & Alu.Mask(op.Size1), op.Size1));
    }

    private static void MovsxRegMem(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), op.Size, (ulong)SignExtend(cpu.ReadSized(cpu.MemoryLinear(ref op), op.Size1), op.Size1));
    }

    private static void Lea(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        cpu.WriteOp(ins, 0, size, cpu.EffectiveAddress(ins) & Alu.Mask(size));
    }

    private static void LeaRegMem(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), op.Size, cpu.EffectiveAddress(ref op));
    }

    private static void Xchg(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        cpu.WriteOp(ins, 0, size, b);
        cpu.WriteOp(ins, 1, size, a);
    }

    // CBW/CWDE/CDQE and CWD/CDQ/CQO have implicit operands; the mnemonic gives the size.
    private static int AccumulatorSize(Mnemonic m) => m switch
    {
        Mnemonic.Cbw or Mnemonic.Cwd => 2,
        Mnemonic.Cwde or Mnemonic.Cdq => 4,
        _ => 8,
    };

    private static Iced.Intel.Register Sized(Iced.Intel.Register reg64, int size) =>
        size switch { 2 => reg64 - Iced.Intel.Register.RAX + Iced.Intel.Register.AX, 4 => reg64 - Iced.Intel.Register.RAX + Iced.Intel.Register.EAX, _ => reg64 };

    private static void Cbw(CpuCore cpu, ref Instruction ins)
    {
        int size = AccumulatorSize(ins.Mnemonic);
        cpu.WriteReg(Sized(Iced.Intel.Register.RAX, size), (ulong)SignExtend(cpu.R[0], size / 2) & Alu.Mask(size));
    }

    private static void Cwd(CpuCore cpu, ref Instruction ins)
    {
        int size = AccumulatorSize(ins.Mnemonic);
        ulong high = SignExtend(cpu.R[0], size) < 0 ? Alu.Mask(size) : 0;
        cpu.WriteReg(Sized(Iced.Intel.Register.RDX, size), high);
    }

    private static void Xlat(CpuCore cpu, ref Instruction ins)
    {
        // Iced names AL as the index register; only AL (not all of RAX) is added to the base.
        ulong ea = (cpu.ReadReg(ins.MemoryBase) + (byte)cpu.R[0]) & Alu.Mask(RegisterMap.Size[(int)ins.MemoryBase]);
        byte v = cpu.Read8(cpu.Linear(CpuCore.SegmentIndex(ins.MemorySegment), ea, 1));
        cpu.WriteReg(Iced.Intel.Register.AL, v);
    }

    private static void Nop(CpuCore cpu, ref Instruction ins)
    {
    }

    private static void Cmov(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong v = cpu.ReadOp(ins, 1, size);
        if (cpu.Condition(ins.ConditionCode))
        {
            cpu.WriteOp(ins, 0, size, v);
        }
        else if (size == 4)
        {
            // A 32-bit CMOV zero-extends its destination even when the condition is false (64-bit mode).
            cpu.WriteOp(ins, 0, 4, cpu.ReadOp(ins, 0, 4));
        }
    }

    // A 32-bit CMOV writes its destination (zero-extending it) whatever the condition; the source is always read.
    private static void CmovRegReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ref ulong reg = ref cpu.Gpr(op.Reg0);
        CpuCore.Put(ref reg, op.Size, cpu.Condition(op.Ins.ConditionCode) ? cpu.Gpr(op.Reg1) : reg);
    }

    private static void CmovRegMem(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ulong v = cpu.ReadSized(cpu.MemoryLinear(ref op), op.Size1);
        ref ulong reg = ref cpu.Gpr(op.Reg0);
        CpuCore.Put(ref reg, op.Size, cpu.Condition(op.Ins.ConditionCode) ? v : reg);
    }

    private static void SetccReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), 1, cpu.Condition(op.Ins.ConditionCode) ? 1UL : 0);
    }

    private static void Setcc(CpuCore cpu, ref Instruction ins) =>
        cpu.WriteOp(ins, 0, 1, cpu.Condition(ins.ConditionCode) ? 1UL : 0);

    private static void LoadFarPointer(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong ea = cpu.EffectiveAddress(ins);
        int segReg = CpuCore.SegmentIndex(ins.MemorySegment);
        ulong offset = cpu.ReadSized(cpu.Linear(segReg, ea, size), size);
        ushort selector = cpu.Read16(cpu.Linear(segReg, ea + (ulong)size, 2));
        int target = ins.Mnemonic switch
        {
            Mnemonic.Lds => (int)SegIndex.Ds,
            Mnemonic.Les => (int)SegIndex.Es,
            Mnemonic.Lfs => (int)SegIndex.Fs,
            Mnemonic.Lgs => (int)SegIndex.Gs,
            _ => (int)SegIndex.Ss,
        };
        cpu.LoadSegment(target, selector);
        cpu.WriteOp(ins, 0, size, offset);
    }
}
