using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>Shifts and rotates: SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD (Intel SDM Vol. 2B SAL/SAR/SHL/SHR).</summary>
internal static unsafe class Shifts
{
    public static void Register(HandlerTable.Registry r)
    {
        ShiftForms<ShlOp>.Register(r, Mnemonic.Shl);
        ShiftForms<ShlOp>.Register(r, Mnemonic.Sal);
        ShiftForms<ShrOp>.Register(r, Mnemonic.Shr);
        ShiftForms<SarOp>.Register(r, Mnemonic.Sar);
        r.Add(Mnemonic.Rol, &Rol);
        r.Add(Mnemonic.Ror, &Ror);
        r.Add(Mnemonic.Rcl, &Rcl);
        r.Add(Mnemonic.Rcr, &Rcr);
        r.Add(Mnemonic.Shld, &Shld);
        r.Add(Mnemonic.Shrd, &Shrd);
    }

    // The count is masked to 5 bits (6 with a 64-bit operand) before use; a zero count changes nothing.
    private static int Count(CpuCore cpu, in Instruction ins, int size, int countOperand)
    {
        int raw = ins.OpCount > countOperand ? (int)cpu.ReadOp(ins, countOperand, 1) : 1;
        return raw & (size == 8 ? 0x3f : 0x1f);
    }

    private static ulong Msb(ulong v, int size) => (v >> ((size * 8) - 1)) & 1;

    // AF after a shift by a non-zero count. The SDM leaves it undefined (SAL/SAR/SHL/SHR, SHLD,
    // SHRD: "For a non-zero count, the AF flag is undefined"); the Intel 80386 sets it (measured
    // on a 386SX by the authors of the public test386.asm CPU tester, its "undefined behaviours"
    // test) and so does the AMD Zen host this was checked on, for every count and operand (the
    // differential harness compares it there). Translated code shows this value too: a shift whose
    // AF may be read is left to this handler (Translation/FlagLiveness).
    private const ulong ShiftAf = LazyFlags.AF;

    // A zero count leaves the destination's value and the flags alone, but the destination is
    // still an operand: a memory destination is accessed, so its segment-limit and page checks
    // still fault (Intel SDM Vol. 2B SAL/SAR/SHL/SHR, Exceptions), and a 32-bit register is
    // written, which clears bits 63:32 in 64-bit mode (Intel SDM Vol. 1 3.4.1.1; the host CPU
    // does so for every shift and rotate, SHLD and SHRD included).
    private static void TouchZeroCountDestination(CpuCore cpu, in Instruction ins, int size)
    {
        ulong value = cpu.ReadOp(ins, 0, size);
        if (ins.Op0Kind == OpKind.Register && size == 4)
        {
            cpu.WriteOp(ins, 0, size, value);
        }
    }

    /// <summary>A shift whose flags are recorded lazily: the result, and CF/AF/OF (bits 0, 4 and 11) for the lazy flags.</summary>
    private interface IShiftOp
    {
        static abstract FlagOp Op { get; }

        /// <summary>Shifts <paramref name="a"/> by <paramref name="n"/> (masked, non-zero) bits.</summary>
        static abstract ulong Compute(int size, ulong a, int n, out ulong carryOverflow);
    }

    private struct ShlOp : IShiftOp
    {
        public static FlagOp Op => FlagOp.Shl;

        public static ulong Compute(int size, ulong a, int n, out ulong carryOverflow)
        {
            int bits = size * 8;
            ulong r = n >= 64 ? 0 : (a << n) & Alu.Mask(size);
            ulong cf = n > bits ? 0 : (a >> (bits - n)) & 1;
            ulong of = Msb(r, size) ^ cf;
            carryOverflow = cf | (of << 11) | ShiftAf;
            return r;
        }
    }

    private struct ShrOp : IShiftOp
    {
        public static FlagOp Op => FlagOp.Shr;

        public static ulong Compute(int size, ulong a, int n, out ulong carryOverflow)
        {
            ulong r = n >= 64 ? 0 : a >> n;
            ulong cf = n > size * 8 ? 0 : (a >> (n - 1)) & 1;
            // OF is defined for 1-bit shifts only; for longer ones this gives what the last 1-bit step
            // gives (its operand's MSB is already 0), as the 80286 does.
            ulong of = n == 1 ? Msb(a, size) : 0;
            carryOverflow = cf | (of << 11) | ShiftAf;
            return r;
        }
    }

    private struct SarOp : IShiftOp
    {
        public static FlagOp Op => FlagOp.Sar;

        public static ulong Compute(int size, ulong a, int n, out ulong carryOverflow)
        {
            int bits = size * 8;
            long signed = (long)(a << (64 - bits)) >> (64 - bits);
            int effective = Math.Min(n, bits);
            ulong r = (ulong)(signed >> Math.Min(effective, 63)) & Alu.Mask(size);
            carryOverflow = ((ulong)(signed >> Math.Min(effective - 1, 63)) & 1) | ShiftAf;
            return r;
        }
    }

    private static class ShiftForms<T>
        where T : struct, IShiftOp
    {
        public static void Register(HandlerTable.Registry r, Mnemonic mnemonic) => r.Add(mnemonic, &Generic, OperandForm.RegImm, &RegImm);

        private static void Generic(CpuCore cpu, ref Instruction ins)
        {
            int size = CpuCore.OpSize(ins, 0);
            int n = Count(cpu, ins, size, 1);
            if (n == 0)
            {
                TouchZeroCountDestination(cpu, ins, size);
                return;
            }

            ulong a = cpu.ReadOp(ins, 0, size);
            ulong r = T.Compute(size, a, n, out ulong carryOverflow);
            cpu.WriteOp(ins, 0, size, r);
            cpu.Flags.Set(T.Op, size, r, a, carryOverflow);
        }

        // A register shifted by an immediate count (the 1-bit encodings included).
        private static void RegImm(CpuCore cpu, ref Instruction ins)
        {
            ref DecodedOp op = ref DecodedOp.Of(ref ins);
            int size = op.Size;
            int n = (int)op.Imm & (size == 8 ? 0x3f : 0x1f);
            ref ulong reg = ref cpu.Gpr(op.Reg0);
            if (n == 0)
            {
                if (size == 4)
                {
                    reg = (uint)reg;
                }

                return;
            }

            ulong a = reg & Alu.Mask(size);
            ulong r = T.Compute(size, a, n, out ulong carryOverflow);
            CpuCore.Put(ref reg, size, r);
            cpu.Flags.Set(T.Op, size, r, a, carryOverflow);
        }
    }

    private static void SetCarryOverflow(CpuCore cpu, bool cf, bool of)
    {
        uint f = cpu.Flags.Get() & ~(LazyFlags.CF | LazyFlags.OF);
        f |= (cf ? LazyFlags.CF : 0) | (of ? LazyFlags.OF : 0);
        cpu.Flags.SetAll(f);
    }

    private static void Rol(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        int masked = Count(cpu, ins, size, 1);
        if (masked == 0)
        {
            TouchZeroCountDestination(cpu, ins, size);
            return;
        }

        int n = masked % bits;
        ulong a = cpu.ReadOp(ins, 0, size);
        ulong r = n == 0 ? a : ((a << n) | (a >> (bits - n))) & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        bool cf = (r & 1) != 0;
        SetCarryOverflow(cpu, cf, (Msb(r, size) != 0) ^ cf);
    }

    private static void Ror(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        int masked = Count(cpu, ins, size, 1);
        if (masked == 0)
        {
            TouchZeroCountDestination(cpu, ins, size);
            return;
        }

        int n = masked % bits;
        ulong a = cpu.ReadOp(ins, 0, size);
        ulong r = n == 0 ? a : ((a >> n) | (a << (bits - n))) & Alu.Mask(size);
        cpu.WriteOp(ins, 0, size, r);
        bool msb = Msb(r, size) != 0;
        bool next = ((r >> (bits - 2)) & 1) != 0;
        SetCarryOverflow(cpu, msb, msb ^ next);
    }

    private static void Rcl(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        int masked = Count(cpu, ins, size, 1);
        if (masked == 0)
        {
            TouchZeroCountDestination(cpu, ins, size);
            return;
        }

        // The rotation is through CF, so it repeats every bits + 1 steps; a nonzero masked count
        // still updates OF even when no step remains (Intel SDM Vol. 2B RCL/RCR/ROL/ROR).
        int n = masked % (bits + 1);
        ulong a = cpu.ReadOp(ins, 0, size);
        bool cf = cpu.Flags.Carry;
        for (int i = 0; i < n; i++)
        {
            bool outBit = Msb(a, size) != 0;
            a = ((a << 1) | (cf ? 1UL : 0)) & Alu.Mask(size);
            cf = outBit;
        }

        cpu.WriteOp(ins, 0, size, a);
        SetCarryOverflow(cpu, cf, (Msb(a, size) != 0) ^ cf);
    }

    private static void Rcr(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        int masked = Count(cpu, ins, size, 1);
        if (masked == 0)
        {
            TouchZeroCountDestination(cpu, ins, size);
            return;
        }

        int n = masked % (bits + 1);
        ulong a = cpu.ReadOp(ins, 0, size);
        bool cf = cpu.Flags.Carry;
        for (int i = 0; i < n; i++)
        {
            bool outBit = (a & 1) != 0;
            a = (a >> 1) | ((cf ? 1UL : 0) << (bits - 1));
            cf = outBit;
        }

        // For a 1-bit rotate this equals the manual's MSB(DEST) XOR CF taken before the step; OF
        // is undefined for other counts and the two top result bits are what the 80286 leaves.
        cpu.WriteOp(ins, 0, size, a);
        SetCarryOverflow(cpu, cf, (Msb(a, size) ^ ((a >> (bits - 2)) & 1)) != 0);
    }

    private static void Shld(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        int n = Count(cpu, ins, size, 2);
        if (n == 0)
        {
            TouchZeroCountDestination(cpu, ins, size);
            return;
        }

        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        UInt128 combined = ((UInt128)a << bits) | b;
        ulong r = (ulong)((combined << n) >> bits) & Alu.Mask(size);
        ulong cf = (ulong)(combined >> ((2 * bits) - n)) & 1;
        ulong of = Msb(r, size) ^ Msb(a, size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Shl, size, r, a, cf | (of << 11) | ShiftAf);
    }

    private static void Shrd(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        int bits = size * 8;
        int n = Count(cpu, ins, size, 2);
        if (n == 0)
        {
            TouchZeroCountDestination(cpu, ins, size);
            return;
        }

        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        UInt128 combined = ((UInt128)b << bits) | a;
        ulong r = (ulong)(combined >> n) & Alu.Mask(size);
        ulong cf = (ulong)(combined >> (n - 1)) & 1;
        ulong of = Msb(r, size) ^ Msb(a, size);
        cpu.WriteOp(ins, 0, size, r);
        cpu.Flags.Set(FlagOp.Shr, size, r, a, cf | (of << 11) | ShiftAf);
    }
}
