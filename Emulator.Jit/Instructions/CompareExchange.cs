using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Compare and exchange: CMPXCHG, CMPXCHG8B, CMPXCHG16B (Intel SDM Vol. 2A CMPXCHG, CMPXCHG8B/CMPXCHG16B).</summary>
internal static unsafe class CompareExchange
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Cmpxchg, &Cmpxchg);
        r.Add(Mnemonic.Cmpxchg8b, &CmpxchgDouble);
        r.Add(Mnemonic.Cmpxchg16b, &CmpxchgDouble);
    }

    // TEMP := DEST; if accumulator = TEMP then ZF := 1, DEST := SRC else ZF := 0, accumulator := TEMP,
    // DEST := TEMP. The flags are those of CMP accumulator, DEST. A memory destination is always
    // written (the processor never produces a locked read without a write), before the
    // accumulator, which may address it. A register destination is left alone when the
    // comparison fails: the host CPU keeps bits 63:32 of a 32-bit one, so it is not written.
    private static void Cmpxchg(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        Iced.Intel.Register accumulator = size switch
        {
            1 => Iced.Intel.Register.AL,
            2 => Iced.Intel.Register.AX,
            4 => Iced.Intel.Register.EAX,
            _ => Iced.Intel.Register.RAX,
        };
        ulong destination = cpu.ReadOp(ins, 0, size);
        ulong source = cpu.ReadOp(ins, 1, size);
        ulong expected = cpu.ReadReg(accumulator);
        cpu.Flags.Set(FlagOp.Sub, size, (expected - destination) & Alu.Mask(size), expected, destination);
        if (expected == destination)
        {
            cpu.WriteOp(ins, 0, size, source);
        }
        else
        {
            if (ins.Op0Kind == OpKind.Memory)
            {
                cpu.WriteOp(ins, 0, size, destination);
            }

            cpu.WriteReg(accumulator, destination);
        }
    }

    // EDX:EAX (RDX:RAX) against the 8 (16) bytes at DEST: equal stores ECX:EBX (RCX:RBX), else
    // loads DEST into EDX:EAX (RDX:RAX) and writes DEST back unchanged. Only ZF changes.
    // CMPXCHG16B needs a 16-byte aligned operand, else #GP(0).
    private static void CmpxchgDouble(CpuCore cpu, ref Instruction ins)
    {
        int half = ins.Mnemonic == Mnemonic.Cmpxchg16b ? 8 : 4;
        ulong linear = cpu.MemoryLinearWrite(ins, half * 2);
        if (half == 8 && (linear & 15) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        ulong mask = Alu.Mask(half);
        ulong low, high;
        if (half == 4)
        {
            // CMPXCHG8B as one 8-byte access, so that a LOCK prefix makes it one atomic update.
            ulong both = cpu.ReadSized(linear, 8);
            low = (uint)both;
            high = both >> 32;
        }
        else
        {
            low = cpu.ReadSized(linear, 8);
            high = cpu.ReadSized(linear + 8, 8);
        }

        bool equal = low == (cpu.R[0] & mask) && high == (cpu.R[2] & mask);
        ulong newLow = equal ? cpu.R[3] & mask : low, newHigh = equal ? cpu.R[1] & mask : high;
        if (half == 4)
        {
            cpu.WriteSized(linear, 8, newLow | (newHigh << 32));
        }
        else
        {
            cpu.WriteSized(linear, 8, newLow);
            cpu.WriteSized(linear + 8, 8, newHigh);
        }

        if (!equal)
        {
            cpu.R[0] = low;
            cpu.R[2] = high;
        }

        uint flags = cpu.Flags.Get() & ~LazyFlags.ZF;
        cpu.Flags.SetAll(flags | (equal ? LazyFlags.ZF : 0));
    }
}
