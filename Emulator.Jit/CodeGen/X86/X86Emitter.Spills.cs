using System.Numerics;
using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Guest registers the block keeps in the state rather than in host registers (IrBuilder caches at
/// most nine): a Native or NativeMemory op that names one gets a scratch register, loaded from the
/// state before the op and stored back after it when the op writes it. A 32-bit write's zero
/// extension and an 8- or 16-bit write's untouched upper bits both come out right, since the whole
/// 64-bit register goes in and out. Loads and stores are MOVs, so the flags live on in RFLAGS.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    // A Native op's registers. RAX is free once the flags are in RFLAGS (they come through AH).
    private static readonly Register[] NativeScratch = [Register.RDX, Register.R10, Register.RAX];

    // A NativeMemory op's address registers, free until the address is in RAX (the TLB probe then
    // uses RDX and R10), and its register operands, after the probe (R10 then holds the host address).
    private static readonly Register[] AddressScratch = [Register.RDX, Register.R10];
    private static readonly Register[] OperandScratch = [Register.RDX, Register.RAX];

    // True when some register of `guests` has no host register (LoadSpills would load it).
    private bool Spills(ushort guests)
    {
        for (ushort r = guests; r != 0; r &= (ushort)(r - 1))
        {
            if (_host[BitOperations.TrailingZeroCount(r)] == Register.None)
            {
                return true;
            }
        }

        return false;
    }

    // Maps each register of `guests` that has no host register to one of `scratch` and loads it.
    private ushort LoadSpills(ushort guests, Register[] scratch)
    {
        ushort spilled = 0;
        int next = 0;
        for (ushort r = guests; r != 0; r &= (ushort)(r - 1))
        {
            int g = BitOperations.TrailingZeroCount(r);
            if (_host[g] != Register.None)
            {
                continue;
            }

            if (next == scratch.Length)
            {
                // IrBuilder never asks for this; Compile turns it into an untranslated block.
                throw new InvalidOperationException("more registers in the state than scratch registers");
            }

            _host[g] = scratch[next++];
            _a.mov(new AssemblerRegister64(_host[g]), __qword_ptr[rbx + GuestState.GprOffset(g)]);
            spilled |= (ushort)(1 << g);
        }

        return spilled;
    }

    // The written ones back to the state; the scratch registers are free again.
    private void StoreSpills(ushort spilled, ushort written)
    {
        for (ushort r = spilled; r != 0; r &= (ushort)(r - 1))
        {
            int g = BitOperations.TrailingZeroCount(r);
            if ((written & (1 << g)) != 0)
            {
                _a.mov(__qword_ptr[rbx + GuestState.GprOffset(g)], new AssemblerRegister64(_host[g]));
            }

            _host[g] = Register.None;
        }
    }

    // The registers a memory operand's address is formed from.
    private static ushort AddressRegisters(in Instruction ins)
    {
        ushort mask = 0;
        foreach (Register reg in (ReadOnlySpan<Register>)[ins.MemoryBase, ins.MemoryIndex])
        {
            if (reg != Register.None && reg is not (Register.RIP or Register.EIP))
            {
                mask |= (ushort)(1 << RegisterMap.Index[(int)reg]);
            }
        }

        return mask;
    }

    // The explicit register operands, without a shift count in CL (Operands puts that in ECX).
    private static ushort OperandRegisters(in IrOp op)
    {
        ref readonly Instruction ins = ref op.Ins;
        ushort mask = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Register && !(op.CountInCl && i == ins.OpCount - 1 && ins.GetOpRegister(i) == Register.CL))
            {
                mask |= (ushort)(1 << RegisterMap.Index[(int)ins.GetOpRegister(i)]);
            }
        }

        return mask;
    }
}
