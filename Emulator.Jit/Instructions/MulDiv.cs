using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>MUL, IMUL (one, two and three operands), DIV, IDIV.</summary>
internal static unsafe class MulDiv
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Mul, &Mul);
        r.Add(Mnemonic.Imul, &Imul);
        r.Add(Mnemonic.Div, &Div);
        r.Add(Mnemonic.Idiv, &Idiv);
    }

    private static long SignExtend(ulong v, int size) => size switch
    {
        1 => (sbyte)v,
        2 => (short)v,
        4 => (int)v,
        _ => (long)v,
    };

    // The implicit accumulator pair: AX for bytes, DX:AX, EDX:EAX, RDX:RAX.
    private static (ulong Low, ulong High) ReadAccumulator(CpuCore cpu, int size)
    {
        if (size == 1)
        {
            return ((byte)cpu.R[0], (byte)(cpu.R[0] >> 8));
        }

        ulong m = Alu.Mask(size);
        return (cpu.R[0] & m, cpu.R[2] & m);
    }

    private static void WriteAccumulator(CpuCore cpu, int size, ulong low, ulong high)
    {
        if (size == 1)
        {
            cpu.WriteReg(Iced.Intel.Register.AX, (low & 0xff) | ((high & 0xff) << 8));
            return;
        }

        Iced.Intel.Register lowReg = size switch { 2 => Iced.Intel.Register.AX, 4 => Iced.Intel.Register.EAX, _ => Iced.Intel.Register.RAX };
        Iced.Intel.Register highReg = size switch { 2 => Iced.Intel.Register.DX, 4 => Iced.Intel.Register.EDX, _ => Iced.Intel.Register.RDX };
        cpu.WriteReg(lowReg, low);
        cpu.WriteReg(highReg, high);
    }

    // MUL/IMUL define only CF and OF; SF, ZF, AF, PF are undefined. We set them from the low half
    // as Intel hardware does for SF/ZF/PF, with AF clear.
    private static void SetMulFlags(CpuCore cpu, int size, ulong low, bool overflow)
    {
        cpu.Flags.Set(FlagOp.Logic, size, low, 0, 0);
        uint f = cpu.Flags.Get();
        if (overflow)
        {
            f |= LazyFlags.CF | LazyFlags.OF;
        }

        cpu.Flags.SetAll(f);
    }

    private static void Mul(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong src = cpu.ReadOp(ins, 0, size);
        ulong a = ReadAccumulator(cpu, size).Low;
        ulong high = Math.BigMul(a, src, out ulong low);
        if (size < 8)
        {
            ulong product = a * src;
            low = product & Alu.Mask(size);
            high = product >> (size * 8);
        }

        WriteAccumulator(cpu, size, low, high);
        SetMulFlags(cpu, size, low, high != 0);
    }

    private static void Imul(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        if (ins.OpCount == 1)
        {
            long a = SignExtend(ReadAccumulator(cpu, size).Low, size);
            long b = SignExtend(cpu.ReadOp(ins, 0, size), size);
            long high = Math.BigMul(a, b, out long lowSigned);
            ulong low = (ulong)lowSigned;
            ulong highBits = (ulong)high;
            if (size < 8)
            {
                long product = a * b;
                low = (ulong)product & Alu.Mask(size);
                highBits = (ulong)(product >> (size * 8)) & Alu.Mask(size);
                high = product >> (size * 8);
                lowSigned = SignExtend(low, size);
            }

            WriteAccumulator(cpu, size, low, highBits);
            SetMulFlags(cpu, size, low, high != (lowSigned < 0 ? -1 : 0));
            return;
        }

        int srcIndex = ins.OpCount == 2 ? 0 : 1;
        long x = SignExtend(cpu.ReadOp(ins, srcIndex, size), size);
        long y = SignExtend(cpu.ReadOp(ins, ins.OpCount - 1, size), size);
        long hi = Math.BigMul(x, y, out long lo);
        ulong result = (ulong)lo & Alu.Mask(size);
        bool overflow = size == 8 ? hi != (lo < 0 ? -1 : 0) : SignExtend(result, size) != lo;
        cpu.WriteOp(ins, 0, size, result);
        SetMulFlags(cpu, size, result, overflow);
    }

    private static void Div(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        ulong divisor = cpu.ReadOp(ins, 0, size);
        if (divisor == 0)
        {
            throw new GuestFault(Vectors.DE);
        }

        (ulong low, ulong high) = ReadAccumulator(cpu, size);
        UInt128 dividend = size == 8 ? new UInt128(high, low) : (UInt128)((high << (size * 8)) | low);
        UInt128 quotient = dividend / divisor;
        if (quotient > Alu.Mask(size))
        {
            throw new GuestFault(Vectors.DE);
        }

        WriteAccumulator(cpu, size, (ulong)quotient, (ulong)(dividend % divisor));
    }

    private static void Idiv(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        long divisor = SignExtend(cpu.ReadOp(ins, 0, size), size);
        if (divisor == 0)
        {
            throw new GuestFault(Vectors.DE);
        }

        (ulong low, ulong high) = ReadAccumulator(cpu, size);
        Int128 dividend = size == 8
            ? (Int128)new UInt128(high, low)
            : SignExtend((high << (size * 8)) | low, size * 2);
        if (dividend == Int128.MinValue && divisor == -1)
        {
            // The quotient 2^127 overflows .NET's Int128 division itself; on x86 it is a #DE like
            // any quotient too large for the destination (Intel SDM Vol. 2A IDIV).
            throw new GuestFault(Vectors.DE);
        }

        Int128 quotient = dividend / divisor;
        Int128 remainder = dividend % divisor;
        long max = size == 8 ? long.MaxValue : (long)(Alu.Mask(size) >> 1);
        long min = -max - 1;
        if (quotient > max || quotient < min)
        {
            throw new GuestFault(Vectors.DE);
        }

        WriteAccumulator(cpu, size, (ulong)(long)quotient & Alu.Mask(size), (ulong)(long)remainder & Alu.Mask(size));
    }
}
