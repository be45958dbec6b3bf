using System.Numerics;
using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.MxcsrArithmetic;

namespace Emulator.Jit.Instructions;

/// <summary>
/// F16C (Intel SDM Vol. 1 14.4.1; Vol. 2 VCVTPH2PS, VCVTPS2PH): conversions between packed half
/// precision (1 sign, 5 exponent, 10 fraction bits) and single precision. VCVTPH2PS is exact: half
/// denormals become normal singles and DAZ does not apply to half inputs; an SNaN is invalid and
/// made quiet. VCVTPS2PH rounds by imm8[1:0], or by MXCSR.RC when imm8[2] is set; MXCSR.FTZ is
/// ignored (tiny results become half denormals); DAZ applies to its single inputs.
/// </summary>
internal static unsafe class HalfPrecision
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Vcvtph2ps, &Vcvtph2ps);
        r.Add(Mnemonic.Vcvtps2ph, &Vcvtps2ph);
    }

    /// <summary>VCVTPH2PS xmm1, xmm2/m64 or ymm1, xmm2/m128.</summary>
    private static void Vcvtph2ps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector128<ushort> source = cpu.ReadVectorOp(ins, 1).GetLower().AsUInt16();
        int count = CpuCore.IsYmm(ins.Op0Register) ? 8 : 4;
        uint flags = 0;
        Span<uint> r = stackalloc uint[8];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            r[i] = Widen(source[i], ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<uint>)r).AsByte());
    }

    /// <summary>VCVTPS2PH xmm1/m64, xmm2, imm8 or xmm1/m128, ymm2, imm8.</summary>
    private static void Vcvtps2ph(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Vector256<float> source = cpu.ReadVectorOp(ins, 1).AsSingle();
        int count = CpuCore.IsYmm(ins.Op1Register) ? 8 : 4;
        byte imm = ins.Immediate8;
        uint mxcsr = cpu.Mxcsr, flags = 0;
        int mode = (imm & 4) != 0 ? RoundingMode(mxcsr) : imm & 3;
        Span<ushort> r = stackalloc ushort[16];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            r[i] = Narrow(source[i], mode, mxcsr, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorOp(ins, 0, Vector256.Create((ReadOnlySpan<ushort>)r).AsByte());
    }

    private static uint Widen(ushort h, ref uint flags)
    {
        uint sign = (uint)(h >> 15) << 31;
        int exponent = (h >> 10) & 0x1f;
        uint fraction = h & 0x3ffu;
        if (exponent == 0x1f)
        {
            if (fraction != 0 && (fraction & 0x200) == 0)
            {
                flags |= IE;
            }

            // Infinity, or a NaN with its payload moved to the top of the single's fraction and made quiet.
            return sign | 0x7f80_0000 | (fraction << 13) | (fraction != 0 ? 0x40_0000u : 0);
        }

        if (exponent == 0)
        {
            if (fraction == 0)
            {
                return sign;
            }

            // A half denormal is fraction * 2^-24: normalize it.
            int shift = BitOperations.LeadingZeroCount(fraction) - 21;
            fraction = (fraction << shift) & 0x3ff;
            exponent = 1 - shift;
        }

        return sign | ((uint)(exponent - 15 + 127) << 23) | (fraction << 13);
    }

    private static ushort Narrow(float value, int mode, uint mxcsr, ref uint flags)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        bool negative = (bits >> 31) != 0;
        if (float.IsNaN(value))
        {
            if (IsSignalingNaN(value))
            {
                flags |= IE;
            }

            return (ushort)((negative ? 0x8000u : 0u) | 0x7e00u | ((bits >> 13) & 0x3ffu));
        }

        if (float.IsInfinity(value))
        {
            return (ushort)FloatFormat.Half.Infinity(negative);
        }

        value = Operand(value, mxcsr, ref flags);
        if (value == 0)
        {
            return (ushort)FloatFormat.Half.Sign(negative);
        }

        (ulong significand, int exponent) = Decompose(value);
        return (ushort)ExactRounding.Round(negative, significand, exponent, FloatFormat.Half, mode, mxcsr, flushToZero: false, ref flags);
    }
}
