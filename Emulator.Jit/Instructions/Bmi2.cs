using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The VEX-encoded BMI2 instructions on general registers (Intel SDM Vol. 2A/2B): BZHI, MULX,
/// PDEP, PEXT, RORX, SARX, SHLX, SHRX. Only BZHI touches the flags; the others leave RFLAGS as it
/// was, which is what lets compilers schedule them between a flag-setting instruction and its Jcc.
/// </summary>
internal static unsafe class Bmi2
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Code.VEX_Bzhi_r32_rm32_r32, &Bzhi);
        r.Add(Code.VEX_Bzhi_r64_rm64_r64, &Bzhi);
        r.Add(Code.VEX_Mulx_r32_r32_rm32, &Mulx);
        r.Add(Code.VEX_Mulx_r64_r64_rm64, &Mulx);
        r.Add(Code.VEX_Pdep_r32_r32_rm32, &Pdep);
        r.Add(Code.VEX_Pdep_r64_r64_rm64, &Pdep);
        r.Add(Code.VEX_Pext_r32_r32_rm32, &Pext);
        r.Add(Code.VEX_Pext_r64_r64_rm64, &Pext);
        r.Add(Code.VEX_Rorx_r32_rm32_imm8, &Rorx);
        r.Add(Code.VEX_Rorx_r64_rm64_imm8, &Rorx);
        r.Add(Code.VEX_Sarx_r32_rm32_r32, &Sarx);
        r.Add(Code.VEX_Sarx_r64_rm64_r64, &Sarx);
        r.Add(Code.VEX_Shlx_r32_rm32_r32, &Shlx);
        r.Add(Code.VEX_Shlx_r64_rm64_r64, &Shlx);
        r.Add(Code.VEX_Shrx_r32_rm32_r32, &Shrx);
        r.Add(Code.VEX_Shrx_r64_rm64_r64, &Shrx);
    }

    // BZHI r, r/m, r(vvvv): SRC1 with the bits from index N = SRC2[7:0] up cleared; CF is set when N
    // is past the operand's last bit (and SRC1 is then copied whole); ZF and SF from the result, OF
    // cleared, AF and PF undefined (left clear).
    private static void Bzhi(CpuCore cpu, ref Instruction ins)
    {
        int size = Bmi.OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size);
        int index = (int)(cpu.ReadOp(ins, 2, size) & 0xff);
        bool beyond = index > (size * 8) - 1;
        ulong r = beyond ? source : source & ((1UL << index) - 1);
        cpu.WriteOp(ins, 0, size, r);
        uint flags = cpu.Flags.Get() & ~LazyFlags.ArithMask;
        if (r == 0)
        {
            flags |= LazyFlags.ZF;
        }

        if ((r >> ((size * 8) - 1)) != 0)
        {
            flags |= LazyFlags.SF;
        }

        cpu.Flags.SetAll(flags | (beyond ? LazyFlags.CF : 0));
    }

    // MULX r(hi), r(lo, vvvv), r/m: the unsigned product of EDX/RDX and the source, the low half to
    // the second operand and then the high half to the first, so that when both name the same
    // register it ends with the high half (Intel SDM Vol. 2B MULX, Operation). No flags change.
    private static void Mulx(CpuCore cpu, ref Instruction ins)
    {
        int size = Bmi.OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 2, size);
        ulong multiplicand = cpu.R[2] & Alu.Mask(size);
        ulong low, high;
        if (size == 8)
        {
            high = Math.BigMul(multiplicand, source, out low);
        }
        else
        {
            ulong product = multiplicand * source;
            (low, high) = ((uint)product, product >> 32);
        }

        cpu.WriteOp(ins, 1, size, low);
        cpu.WriteOp(ins, 0, size, high);
    }

    // PDEP r, r(vvvv), r/m: the low bits of SRC1, in order, deposited at the positions of the set
    // bits of the mask SRC2; every other bit is zero. No flags change.
    private static void Pdep(CpuCore cpu, ref Instruction ins)
    {
        int size = Bmi.OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size), mask = cpu.ReadOp(ins, 2, size);
        ulong r = 0;
        for (ulong bit = 1; mask != 0; bit <<= 1)
        {
            ulong lowest = mask & (0 - mask);
            if ((source & bit) != 0)
            {
                r |= lowest;
            }

            mask ^= lowest;
        }

        cpu.WriteOp(ins, 0, size, r);
    }

    // PEXT r, r(vvvv), r/m: the bits of SRC1 at the positions of the set bits of the mask SRC2,
    // gathered into the low bits of the result in order; the rest is zero. No flags change.
    private static void Pext(CpuCore cpu, ref Instruction ins)
    {
        int size = Bmi.OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size), mask = cpu.ReadOp(ins, 2, size);
        ulong r = 0;
        for (ulong bit = 1; mask != 0; bit <<= 1)
        {
            ulong lowest = mask & (0 - mask);
            if ((source & lowest) != 0)
            {
                r |= bit;
            }

            mask ^= lowest;
        }

        cpu.WriteOp(ins, 0, size, r);
    }

    // RORX r, r/m, imm8: rotate right by imm8 masked to 5 bits (6 with a 64-bit operand). No flags change.
    private static void Rorx(CpuCore cpu, ref Instruction ins)
    {
        int size = Bmi.OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size);
        int bits = size * 8;
        int count = (int)(ins.Immediate8 & (uint)(bits - 1));
        ulong r = count == 0 ? source : ((source >> count) | (source << (bits - count))) & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
    }

    // SARX, SHLX, SHRX r, r/m, r(vvvv): shifts by SRC2 masked to 5 bits (6 with a 64-bit operand).
    // No flags change (Intel SDM Vol. 2B SARX/SHLX/SHRX).
    private static void Sarx(CpuCore cpu, ref Instruction ins)
    {
        (int size, ulong source, int count) = ShiftOperands(cpu, ins);
        long signExtended = size == 8 ? (long)source : (int)source;
        cpu.WriteOp(ins, 0, size, (ulong)(signExtended >> count) & Alu.Mask(size));
    }

    private static void Shlx(CpuCore cpu, ref Instruction ins)
    {
        (int size, ulong source, int count) = ShiftOperands(cpu, ins);
        cpu.WriteOp(ins, 0, size, (source << count) & Alu.Mask(size));
    }

    private static void Shrx(CpuCore cpu, ref Instruction ins)
    {
        (int size, ulong source, int count) = ShiftOperands(cpu, ins);
        cpu.WriteOp(ins, 0, size, source >> count);
    }

    private static (int Size, ulong Source, int Count) ShiftOperands(CpuCore cpu, in Instruction ins)
    {
        int size = Bmi.OperandSize(cpu, ins);
        ulong source = cpu.ReadOp(ins, 1, size);
        int count = (int)(cpu.ReadOp(ins, 2, size) & (ulong)((size * 8) - 1));
        return (size, source, count);
    }
}
