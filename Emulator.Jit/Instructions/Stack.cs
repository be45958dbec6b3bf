using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>Stack instructions: PUSH, POP, PUSHA, POPA, PUSHF, POPF, ENTER, LEAVE.</summary>
internal static unsafe class Stack
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Push, &Push, OperandForm.Reg, &PushReg);
        r.Add(Mnemonic.Pop, &Pop, OperandForm.Reg, &PopReg);
        r.Add(Mnemonic.Pusha, &Pusha);
        r.Add(Mnemonic.Pushad, &Pusha);
        r.Add(Mnemonic.Popa, &Popa);
        r.Add(Mnemonic.Popad, &Popa);
        r.Add(Mnemonic.Pushf, &Pushf);
        r.Add(Mnemonic.Pushfd, &Pushf);
        r.Add(Mnemonic.Pushfq, &Pushf);
        r.Add(Mnemonic.Popf, &Popf);
        r.Add(Mnemonic.Popfd, &Popf);
        r.Add(Mnemonic.Popfq, &Popf);
        r.Add(Mnemonic.Enter, &Enter);
        r.Add(Mnemonic.Leave, &Leave);
    }

    private static int StackOperandSize(in Instruction ins) => -ins.StackPointerIncrement is 2 or 4 or 8 ? -ins.StackPointerIncrement : ins.StackPointerIncrement;

    // PUSH r: the register's value before the push (PUSH ESP pushes the old ESP; Intel SDM Vol. 2B PUSH).
    private static void PushReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        cpu.Push(cpu.Gpr(op.Reg0) & Alu.Mask(op.Size), op.Size);
    }

    // POP r: the stack pointer moves first, then the register is written (POP ESP loads the popped value).
    private static void PopReg(CpuCore cpu, ref Instruction ins)
    {
        ref DecodedOp op = ref DecodedOp.Of(ref ins);
        ulong value = cpu.Pop(op.Size);
        CpuCore.Put(ref cpu.Gpr(op.Reg0), op.Size, value);
    }

    private static void Push(CpuCore cpu, ref Instruction ins)
    {
        int size = StackOperandSize(ins);
        if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
        {
            ushort selector = cpu.Seg[CpuCore.SegmentIndex(ins.Op0Register)].Selector;
            if (size == 4)
            {
                // Intel SDM Vol. 2B PUSH: with a 32-bit operand size the selector is either
                // zero-extended or written with a 16-bit move; "all recent Core and Atom processors
                // perform a 16-bit move, leaving the upper portion of the stack location unmodified",
                // and so do the 80386 and 80486. The stack pointer still moves by 4.
                cpu.PushWordInSlot(selector, size);
                return;
            }

            cpu.Push(selector, size);
            return;
        }

        cpu.Push(cpu.ReadOp(ins, 0, size), size);
    }

    private static void Pop(CpuCore cpu, ref Instruction ins)
    {
        int size = StackOperandSize(ins);
        if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
        {
            // The stack-address size is SS.B before the instruction (Intel SDM Vol. 2B POP,
            // Operation: StackAddrSize decides between SS:SP and SS:ESP and which of them moves):
            // a POP SS that loads a segment of the other size still moves SP, or ESP, as the old
            // stack did (POP SS from a 16-bit stack to a 32-bit one adds to SP and keeps ESP[31:16]).
            int seg = CpuCore.SegmentIndex(ins.Op0Register);
            int stackSize = cpu.StackAddressSize;
            ulong sp = cpu.StackPointer + (ulong)size;
            ushort selector = (ushort)cpu.PeekStack(0, size);
            cpu.LoadSegment(seg, selector);
            cpu.SetStackPointer(sp, stackSize);
            if (seg == (int)SegIndex.Ss)
            {
                cpu.InterruptShadow = true;
                cpu.MovSsShadow = true;
                cpu.EndBlock = true;
            }

            return;
        }

        // POP m computes the destination's address after the increment (POP [ESP] uses the new
        // ESP; Intel SDM Vol. 2B POP), but a destination that faults leaves ESP as it was: a
        // faulting instruction has not executed (Vol. 3A 6.5).
        ulong savedSp = cpu.R[4];
        ulong value = cpu.Pop(size);
        try
        {
            cpu.WriteOp(ins, 0, size, value);
        }
        catch (GuestFault)
        {
            cpu.R[4] = savedSp;
            throw;
        }
    }

    // PUSHA/PUSHAD and POPA/POPAD fault as a whole: "#SS(0) If the starting or ending stack address
    // is outside the stack segment limit" (Intel SDM Vol. 2B PUSHA, POPA), and a faulting
    // instruction has not executed (Vol. 3A 6.5). PUSHA puts SP back when a push faults; POPA reads
    // all eight slots before it writes a register or moves SP.
    private static void Pusha(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic == Mnemonic.Pushad ? 4 : 2;
        ulong sp = cpu.R[4];
        try
        {
            for (int i = 0; i < 8; i++)
            {
                cpu.Push(i == 4 ? sp : cpu.R[i], size);
            }
        }
        catch (GuestFault)
        {
            cpu.R[4] = sp;
            throw;
        }
    }

    private static void Popa(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Mnemonic == Mnemonic.Popad ? 4 : 2;
        Iced.Intel.Register first = size == 4 ? Iced.Intel.Register.EAX : Iced.Intel.Register.AX;
        Span<ulong> values = stackalloc ulong[8];
        for (int i = 7; i >= 0; i--)
        {
            values[i] = cpu.PeekStack((7 - i) * size, size);
        }

        cpu.StackPointer += (ulong)(8 * size);
        for (int i = 7; i >= 0; i--)
        {
            if (i != 4)
            {
                cpu.WriteReg(first + i, values[i]);
            }
        }
    }

    private static void Pushf(CpuCore cpu, ref Instruction ins)
    {
        int size = StackOperandSize(ins);
        if (cpu.V86Mode && ((cpu.FlagsRest & CpuCore.IOPL) >> 12) < 3)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        // The image on the stack never shows VM or RF (Intel SDM Vol. 2B PUSHF).
        cpu.Push(cpu.Rflags & ~(ulong)(CpuCore.VM | CpuCore.RF), size);
    }

    private static void Popf(CpuCore cpu, ref Instruction ins)
    {
        int size = StackOperandSize(ins);
        if (cpu.V86Mode && ((cpu.FlagsRest & CpuCore.IOPL) >> 12) < 3)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong value = cpu.Pop(size);
        cpu.SetFlagsFromPop(value, size);
    }

    // ENTER (Intel SDM Vol. 2A ENTER). A fault leaves the instruction unexecuted (Vol. 3A 6.5):
    // SP is restored if a later push or the final check faults. Beyond its pushes, ENTER faults
    // when the new SP is outside the stack segment's limit (#SS(0)) or when "a write using the final
    // value of the stack pointer (within the current stack segment) would cause a page fault"
    // (Protected Mode Exceptions), so the byte at SS:final SP is checked as a write without being
    // written.
    private static void Enter(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Code switch { Code.Enterw_imm16_imm8 => 2, Code.Enterd_imm16_imm8 => 4, _ => 8 };
        ulong frameSize = ins.Immediate16;
        int level = ins.Immediate8_2nd & 0x1f;
        Iced.Intel.Register bp = size switch { 2 => Iced.Intel.Register.BP, 4 => Iced.Intel.Register.EBP, _ => Iced.Intel.Register.RBP };
        ulong mask = cpu.StackAddressSize switch { 2 => 0xffffUL, 4 => 0xffff_ffffUL, _ => ulong.MaxValue };
        ulong savedSp = cpu.R[4];
        ulong frameTemp;
        try
        {
            cpu.Push(cpu.ReadReg(bp), size);

            // FrameTemp is SP, ESP or RSP by the operand size, not the stack's address size: a
            // 32-bit ENTER on a 16-bit stack loads EBP with all of ESP, bits 31:16 included
            // (Vol. 2A ENTER, Operation: "IF OperandSize = 32 THEN Push(EBP); FrameTemp <- ESP").
            frameTemp = size switch { 2 => (ushort)cpu.R[4], 4 => (uint)cpu.R[4], _ => cpu.R[4] };
            if (level > 0)
            {
                ulong bpValue = cpu.ReadReg(bp);
                for (int i = 1; i < level; i++)
                {
                    bpValue -= (ulong)size;
                    cpu.Push(cpu.ReadSized(cpu.Linear((int)SegIndex.Ss, bpValue & mask, size), size), size);
                }

                cpu.Push(frameTemp, size);
            }

            if (frameSize != 0)
            {
                ulong finalSp = (cpu.StackPointer - frameSize) & mask;
                cpu.CheckWritable(cpu.LinearWrite((int)SegIndex.Ss, finalSp, 1), 1);
            }
        }
        catch (GuestFault)
        {
            cpu.R[4] = savedSp;
            throw;
        }

        cpu.WriteReg(bp, frameTemp);
        cpu.StackPointer -= frameSize;
    }

    private static void Leave(CpuCore cpu, ref Instruction ins)
    {
        int size = ins.Code switch { Code.Leavew => 2, Code.Leaved => 4, _ => 8 };
        Iced.Intel.Register bp = size switch { 2 => Iced.Intel.Register.BP, 4 => Iced.Intel.Register.EBP, _ => Iced.Intel.Register.RBP };
        // The old frame pointer is read before SP changes: a faulting read must leave SP as it was (Intel SDM Vol. 3A 6.5).
        ulong frame = cpu.R[5] & Alu.Mask(cpu.StackAddressSize);
        ulong value = cpu.ReadSized(cpu.Linear((int)SegIndex.Ss, frame, size), size);
        cpu.StackPointer = frame + (ulong)size;
        cpu.WriteReg(bp, value);
    }
}
