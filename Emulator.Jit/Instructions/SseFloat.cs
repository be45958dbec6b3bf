using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.MxcsrArithmetic;
using static Emulator.Jit.Instructions.SimdForms;

namespace Emulator.Jit.Instructions;

/// <summary>
/// SSE/SSE2/SSE3/SSE4.1 floating-point arithmetic, comparison and rounding, scalar and packed, in
/// the legacy and the VEX (AVX) encodings (Intel SDM Vol. 1 10.4.2, 11.4.1, 14.2; Vol. 2
/// ADDPS...UCOMISS). Every element goes through
/// <see cref="MxcsrArithmetic"/>, which applies MXCSR; exceptions are committed once per
/// instruction, before the destination is written.
/// </summary>
internal static unsafe class SseFloat
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Addps, Mnemonic.Vaddps, &PackedSingle<AddOp>);
        r.Add(Mnemonic.Addpd, Mnemonic.Vaddpd, &PackedDouble<AddOp>);
        r.Add(Mnemonic.Addss, Mnemonic.Vaddss, &ScalarSingle<AddOp>);
        r.Add(Mnemonic.Addsd, Mnemonic.Vaddsd, &ScalarDouble<AddOp>);
        r.Add(Mnemonic.Subps, Mnemonic.Vsubps, &PackedSingle<SubOp>);
        r.Add(Mnemonic.Subpd, Mnemonic.Vsubpd, &PackedDouble<SubOp>);
        r.Add(Mnemonic.Subss, Mnemonic.Vsubss, &ScalarSingle<SubOp>);
        r.Add(Mnemonic.Subsd, Mnemonic.Vsubsd, &ScalarDouble<SubOp>);
        r.Add(Mnemonic.Mulps, Mnemonic.Vmulps, &PackedSingle<MulOp>);
        r.Add(Mnemonic.Mulpd, Mnemonic.Vmulpd, &PackedDouble<MulOp>);
        r.Add(Mnemonic.Mulss, Mnemonic.Vmulss, &ScalarSingle<MulOp>);
        r.Add(Mnemonic.Mulsd, Mnemonic.Vmulsd, &ScalarDouble<MulOp>);
        r.Add(Mnemonic.Divps, Mnemonic.Vdivps, &PackedSingle<DivOp>);
        r.Add(Mnemonic.Divpd, Mnemonic.Vdivpd, &PackedDouble<DivOp>);
        r.Add(Mnemonic.Divss, Mnemonic.Vdivss, &ScalarSingle<DivOp>);
        r.Add(Mnemonic.Divsd, Mnemonic.Vdivsd, &ScalarDouble<DivOp>);
        r.Add(Mnemonic.Sqrtps, Mnemonic.Vsqrtps, &PackedSingle<SqrtOp>);
        r.Add(Mnemonic.Sqrtpd, Mnemonic.Vsqrtpd, &PackedDouble<SqrtOp>);
        r.Add(Mnemonic.Sqrtss, Mnemonic.Vsqrtss, &ScalarSingle<SqrtOp>);
        r.Add(Mnemonic.Sqrtsd, Mnemonic.Vsqrtsd, &ScalarDouble<SqrtOp>);
        r.Add(Mnemonic.Minps, Mnemonic.Vminps, &PackedSingle<MinOp>);
        r.Add(Mnemonic.Minpd, Mnemonic.Vminpd, &PackedDouble<MinOp>);
        r.Add(Mnemonic.Minss, Mnemonic.Vminss, &ScalarSingle<MinOp>);
        r.Add(Mnemonic.Minsd, Mnemonic.Vminsd, &ScalarDouble<MinOp>);
        r.Add(Mnemonic.Maxps, Mnemonic.Vmaxps, &PackedSingle<MaxOp>);
        r.Add(Mnemonic.Maxpd, Mnemonic.Vmaxpd, &PackedDouble<MaxOp>);
        r.Add(Mnemonic.Maxss, Mnemonic.Vmaxss, &ScalarSingle<MaxOp>);
        r.Add(Mnemonic.Maxsd, Mnemonic.Vmaxsd, &ScalarDouble<MaxOp>);
        r.Add(Mnemonic.Cmpps, Mnemonic.Vcmpps, &PackedSingle<CmpOp>);
        r.Add(Mnemonic.Cmppd, Mnemonic.Vcmppd, &PackedDouble<CmpOp>);
        r.Add(Mnemonic.Cmpss, Mnemonic.Vcmpss, &ScalarSingle<CmpOp>);
        r.Add(Code.Cmpsd_xmm_xmmm64_imm8, &ScalarDouble<CmpOp>);
        r.Add(Mnemonic.Vcmpsd, &ScalarDouble<CmpOp>);
        r.Add(Mnemonic.Addsubps, Mnemonic.Vaddsubps, &AddSubSingle);
        r.Add(Mnemonic.Addsubpd, Mnemonic.Vaddsubpd, &AddSubDouble);
        r.Add(Mnemonic.Haddps, Mnemonic.Vhaddps, &HorizontalSingle);
        r.Add(Mnemonic.Hsubps, Mnemonic.Vhsubps, &HorizontalSingle);
        r.Add(Mnemonic.Haddpd, Mnemonic.Vhaddpd, &HorizontalDouble);
        r.Add(Mnemonic.Hsubpd, Mnemonic.Vhsubpd, &HorizontalDouble);
        r.Add(Mnemonic.Comiss, Mnemonic.Vcomiss, &CompareFlagsSingle);
        r.Add(Mnemonic.Ucomiss, Mnemonic.Vucomiss, &CompareFlagsSingle);
        r.Add(Mnemonic.Comisd, Mnemonic.Vcomisd, &CompareFlagsDouble);
        r.Add(Mnemonic.Ucomisd, Mnemonic.Vucomisd, &CompareFlagsDouble);
        r.Add(Mnemonic.Rcpps, Mnemonic.Vrcpps, &Approximate);
        r.Add(Mnemonic.Rcpss, Mnemonic.Vrcpss, &Approximate);
        r.Add(Mnemonic.Rsqrtps, Mnemonic.Vrsqrtps, &Approximate);
        r.Add(Mnemonic.Rsqrtss, Mnemonic.Vrsqrtss, &Approximate);
        r.Add(Mnemonic.Dpps, Mnemonic.Vdpps, &Dpps);
        r.Add(Mnemonic.Dppd, Mnemonic.Vdppd, &Dppd);
        r.Add(Mnemonic.Roundps, Mnemonic.Vroundps, &PackedSingle<RoundOp>);
        r.Add(Mnemonic.Roundpd, Mnemonic.Vroundpd, &PackedDouble<RoundOp>);
        r.Add(Mnemonic.Roundss, Mnemonic.Vroundss, &ScalarSingle<RoundOp>);
        r.Add(Mnemonic.Roundsd, Mnemonic.Vroundsd, &ScalarDouble<RoundOp>);
    }

    /// <summary>One element operation on (first source, second source); imm is the instruction's imm8 (comparison predicate, rounding control).</summary>
    private interface IFloatOp
    {
        static abstract float Single(float a, float b, byte imm, uint mxcsr, ref uint flags);

        static abstract double Double(double a, double b, byte imm, uint mxcsr, ref uint flags);

        /// <summary>The imm8 bits the operation reads in each encoding.</summary>
        static virtual byte Immediate(byte imm, bool vex) => imm;
    }

    /// <summary>OPPS xmm, xmm/m128 or VOPPS x/ymm, x/ymm, x/ymm/m: four or eight single-precision elements.</summary>
    private static void PackedSingle<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<float> x = a.AsSingle(), y = b.AsSingle();
        uint flags = 0, mxcsr = cpu.Mxcsr;
        byte imm = T.Immediate(ImmediateOf(ins), CpuCore.IsVex(ins));
        int count = CpuCore.IsYmm(ins.Op0Register) ? 8 : 4;
        Span<float> r = stackalloc float[8];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            r[i] = T.Single(x[i], y[i], imm, mxcsr, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<float>)r).AsByte());
    }

    private static void PackedDouble<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<double> x = a.AsDouble(), y = b.AsDouble();
        uint flags = 0, mxcsr = cpu.Mxcsr;
        byte imm = T.Immediate(ImmediateOf(ins), CpuCore.IsVex(ins));
        int count = CpuCore.IsYmm(ins.Op0Register) ? 4 : 2;
        Span<double> r = stackalloc double[4];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            r[i] = T.Double(x[i], y[i], imm, mxcsr, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<double>)r).AsByte());
    }

    /// <summary>
    /// OPSS xmm1, xmm2/m32 or VOPSS xmm1, xmm2, xmm3/m32: the low element; the other elements come
    /// from the first source (the destination itself in the legacy form).
    /// </summary>
    private static void ScalarSingle<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        uint flags = 0;
        float r = T.Single(a.AsSingle().ToScalar(), b.AsSingle().ToScalar(), T.Immediate(ImmediateOf(ins), CpuCore.IsVex(ins)), cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, a.AsSingle().WithElement(0, r).WithUpper(Vector128<float>.Zero).AsByte());
    }

    private static void ScalarDouble<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        uint flags = 0;
        double r = T.Double(a.AsDouble().ToScalar(), b.AsDouble().ToScalar(), T.Immediate(ImmediateOf(ins), CpuCore.IsVex(ins)), cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, a.AsDouble().WithElement(0, r).WithUpper(Vector128<double>.Zero).AsByte());
    }

    private readonly struct AddOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Single(FloatOp.Add, a, b, mxcsr, ref flags);

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Double(FloatOp.Add, a, b, mxcsr, ref flags);
    }

    private readonly struct SubOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Single(FloatOp.Sub, a, b, mxcsr, ref flags);

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Double(FloatOp.Sub, a, b, mxcsr, ref flags);
    }

    private readonly struct MulOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Single(FloatOp.Mul, a, b, mxcsr, ref flags);

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Double(FloatOp.Mul, a, b, mxcsr, ref flags);
    }

    private readonly struct DivOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Single(FloatOp.Div, a, b, mxcsr, ref flags);

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Double(FloatOp.Div, a, b, mxcsr, ref flags);
    }

    private readonly struct SqrtOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Single(FloatOp.Sqrt, a, b, mxcsr, ref flags);

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags) => MxcsrArithmetic.Double(FloatOp.Sqrt, a, b, mxcsr, ref flags);
    }

    /// <summary>
    /// MIN: the second operand unless the first is strictly less; so a NaN in either operand or two
    /// zeros give the second operand. Any NaN is invalid (Intel SDM Vol. 2B MINPS).
    /// </summary>
    private readonly struct MinOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags)
        {
            a = Compared(a, b, mxcsr, ref flags, out b);
            return a < b ? a : b;
        }

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags)
        {
            a = Compared(a, b, mxcsr, ref flags, out b);
            return a < b ? a : b;
        }
    }

    private readonly struct MaxOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags)
        {
            a = Compared(a, b, mxcsr, ref flags, out b);
            return a > b ? a : b;
        }

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags)
        {
            a = Compared(a, b, mxcsr, ref flags, out b);
            return a > b ? a : b;
        }
    }

    private static float Compared(float a, float b, uint mxcsr, ref uint flags, out float bOut)
    {
        uint denormal = 0;
        bOut = Operand(b, mxcsr, ref denormal);
        a = Operand(a, mxcsr, ref denormal);
        flags |= float.IsNaN(a) || float.IsNaN(b) ? IE : denormal;
        return a;
    }

    private static double Compared(double a, double b, uint mxcsr, ref uint flags, out double bOut)
    {
        uint denormal = 0;
        bOut = Operand(b, mxcsr, ref denormal);
        a = Operand(a, mxcsr, ref denormal);
        flags |= double.IsNaN(a) || double.IsNaN(b) ? IE : denormal;
        return a;
    }

    /// <summary>
    /// CMPPS/CMPPD/CMPSS/CMPSD predicates 0-7 (imm8[2:0]: EQ_OQ, LT_OS, LE_OS, UNORD_Q, NEQ_UQ,
    /// NLT_US, NLE_US, ORD_Q) and the VEX forms' 32 (imm8[4:0]; 8-15 add EQ_UQ, NGE_US, NGT_US,
    /// FALSE_OQ, NEQ_OQ, GE_OS, GT_OS, TRUE_UQ, and 16-31 are 0-15 with signalling and quiet
    /// swapped): all ones when true. A signalling predicate is invalid on any NaN, a quiet one only on
    /// an SNaN (Intel SDM Vol. 2A CMPPS, Table 3-1).
    /// </summary>
    private readonly struct CmpOp : IFloatOp
    {
        // Predicates 0-15 that signal on a QNaN: LT, LE, NLT, NLE, NGE, NGT, GE, GT.
        private const int Signalling = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 10) | (1 << 13) | (1 << 14);

        public static byte Immediate(byte imm, bool vex) => (byte)(imm & (vex ? 0x1f : 7));

        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags)
        {
            bool unordered = float.IsNaN(a) || float.IsNaN(b);
            if (unordered && (Signals(imm) || IsSignalingNaN(a) || IsSignalingNaN(b)))
            {
                flags |= IE;
            }

            uint denormal = 0;
            a = Operand(a, mxcsr, ref denormal);
            b = Operand(b, mxcsr, ref denormal);
            flags |= unordered ? 0 : denormal;
            return BitConverter.UInt32BitsToSingle(Predicate(imm, unordered, a < b, a == b) ? uint.MaxValue : 0);
        }

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags)
        {
            bool unordered = double.IsNaN(a) || double.IsNaN(b);
            if (unordered && (Signals(imm) || IsSignalingNaN(a) || IsSignalingNaN(b)))
            {
                flags |= IE;
            }

            uint denormal = 0;
            a = Operand(a, mxcsr, ref denormal);
            b = Operand(b, mxcsr, ref denormal);
            flags |= unordered ? 0 : denormal;
            return BitConverter.UInt64BitsToDouble(Predicate(imm, unordered, a < b, a == b) ? ulong.MaxValue : 0);
        }

        private static bool Signals(byte imm) => (((Signalling >> (imm & 15)) & 1) != 0) != ((imm & 16) != 0);

        private static bool Predicate(byte imm, bool unordered, bool less, bool equal) => (imm & 15) switch
        {
            0 => !unordered && equal,
            1 => !unordered && less,
            2 => !unordered && (less || equal),
            3 => unordered,
            4 => unordered || !equal,
            5 => unordered || !less,
            6 => unordered || !(less || equal),
            7 => !unordered,
            8 => unordered || equal,
            9 => unordered || less,
            10 => unordered || less || equal,
            11 => false,
            12 => !unordered && !equal,
            13 => !unordered && !less,
            14 => !unordered && !less && !equal,
            _ => true,
        };
    }

    /// <summary>ROUNDPS/PD/SS/SD (SSE4.1): imm8 bits 0-1 rounding mode unless bit 2 selects MXCSR.RC; bit 3 suppresses the precision exception.</summary>
    private readonly struct RoundOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags)
        {
            if (float.IsNaN(b))
            {
                flags |= IsSignalingNaN(b) ? IE : 0;
                return Quiet(b);
            }

            b = DenormalsAreZero(b, mxcsr);
            float r = (float)RoundToIntegral(b, Mode(imm, mxcsr));
            r = float.CopySign(r, b);
            flags |= r != b && (imm & 8) == 0 ? PE : 0;
            return r;
        }

        public static double Double(double a, double b, byte imm, uint mxcsr, ref uint flags)
        {
            if (double.IsNaN(b))
            {
                flags |= IsSignalingNaN(b) ? IE : 0;
                return Quiet(b);
            }

            b = DenormalsAreZero(b, mxcsr);
            double r = double.CopySign(RoundToIntegral(b, Mode(imm, mxcsr)), b);
            flags |= r != b && (imm & 8) == 0 ? PE : 0;
            return r;
        }

        private static int Mode(byte imm, uint mxcsr) => (imm & 4) != 0 ? RoundingMode(mxcsr) : imm & 3;
    }

    /// <summary>ADDSUBPS/PD (SSE3) and the VEX forms: even elements subtract, odd elements add.</summary>
    private static void AddSubSingle(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<float> x = a.AsSingle(), y = b.AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        int count = CpuCore.IsYmm(ins.Op0Register) ? 8 : 4;
        Span<float> r = stackalloc float[8];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            r[i] = MxcsrArithmetic.Single((i & 1) == 0 ? FloatOp.Sub : FloatOp.Add, x[i], y[i], m, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<float>)r).AsByte());
    }

    private static void AddSubDouble(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<double> x = a.AsDouble(), y = b.AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        int count = CpuCore.IsYmm(ins.Op0Register) ? 4 : 2;
        Span<double> r = stackalloc double[4];
        r.Clear();
        for (int i = 0; i < count; i++)
        {
            r[i] = MxcsrArithmetic.Double((i & 1) == 0 ? FloatOp.Sub : FloatOp.Add, x[i], y[i], m, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<double>)r).AsByte());
    }

    /// <summary>HADDPS/HSUBPS (SSE3): pairs of the first source, then pairs of the second, in each 128-bit lane.</summary>
    private static void HorizontalSingle(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        FloatOp op = ins.Mnemonic is Mnemonic.Haddps or Mnemonic.Vhaddps ? FloatOp.Add : FloatOp.Sub;
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<float> x = a.AsSingle(), y = b.AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        int lanes = CpuCore.IsYmm(ins.Op0Register) ? 2 : 1;
        Span<float> r = stackalloc float[8];
        r.Clear();
        for (int l = 0; l < lanes; l++)
        {
            int o = 4 * l;
            r[o] = MxcsrArithmetic.Single(op, x[o], x[o + 1], m, ref flags);
            r[o + 1] = MxcsrArithmetic.Single(op, x[o + 2], x[o + 3], m, ref flags);
            r[o + 2] = MxcsrArithmetic.Single(op, y[o], y[o + 1], m, ref flags);
            r[o + 3] = MxcsrArithmetic.Single(op, y[o + 2], y[o + 3], m, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<float>)r).AsByte());
    }

    private static void HorizontalDouble(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        FloatOp op = ins.Mnemonic is Mnemonic.Haddpd or Mnemonic.Vhaddpd ? FloatOp.Add : FloatOp.Sub;
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<double> x = a.AsDouble(), y = b.AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        int lanes = CpuCore.IsYmm(ins.Op0Register) ? 2 : 1;
        Span<double> r = stackalloc double[4];
        r.Clear();
        for (int l = 0; l < lanes; l++)
        {
            int o = 2 * l;
            r[o] = MxcsrArithmetic.Double(op, x[o], x[o + 1], m, ref flags);
            r[o + 1] = MxcsrArithmetic.Double(op, y[o], y[o + 1], m, ref flags);
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<double>)r).AsByte());
    }

    /// <summary>
    /// DPPS (SSE4.1), per 128-bit lane in VDPPS ymm: products of the elements selected by imm8[7:4]
    /// (others +0), summed with a rounding at each step, written to the elements selected by
    /// imm8[3:0] (the others 0). The SDM's Operation forms one sum, (p0 + p1) + (p2 + p3); Intel
    /// processors form it per destination element i as (p[i^1] + p[i]) + (p[i^3] + p[i^2]) (measured
    /// on a Xeon with one distinct quiet NaN per product: element 0 gets p1's, 1 gets p0's, 2 gets
    /// p3's, 3 gets p2's). Additions commute exactly, so only which NaN an element carries differs
    /// (an x86 addition of two NaNs returns the first); AMD processors follow the SDM's order. The
    /// emulated CPU is GenuineIntel and does what Intel processors do.
    /// </summary>
    private static void Dpps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<float> x = a.AsSingle(), y = b.AsSingle();
        byte imm = ins.Immediate8;
        uint flags = 0, m = cpu.Mxcsr;
        int lanes = CpuCore.IsYmm(ins.Op0Register) ? 2 : 1;
        Span<float> p = stackalloc float[4];
        Span<float> r = stackalloc float[8];
        r.Clear();
        for (int l = 0; l < lanes; l++)
        {
            int o = 4 * l;
            for (int i = 0; i < 4; i++)
            {
                p[i] = (imm & (0x10 << i)) != 0 ? MxcsrArithmetic.Single(FloatOp.Mul, x[o + i], y[o + i], m, ref flags) : 0f;
            }

            // Every element's sum raises the same MXCSR flags: computing all four costs nothing in fidelity.
            for (int i = 0; i < 4; i++)
            {
                float near = MxcsrArithmetic.Single(FloatOp.Add, p[i ^ 1], p[i], m, ref flags);
                float far = MxcsrArithmetic.Single(FloatOp.Add, p[i ^ 3], p[i ^ 2], m, ref flags);
                float sum = MxcsrArithmetic.Single(FloatOp.Add, near, far, m, ref flags);
                r[o + i] = (imm & (1 << i)) != 0 ? sum : 0f;
            }
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<float>)r).AsByte());
    }

    /// <summary>
    /// DPPD: as DPPS over two elements. Intel processors add p[i] + p[i^1] for destination element i
    /// (the SDM's one sum is p0 + p1), which again differs only in which of two NaNs element 1 carries.
    /// </summary>
    private static void Dppd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        Vector256<double> x = a.AsDouble(), y = b.AsDouble();
        byte imm = ins.Immediate8;
        uint flags = 0, m = cpu.Mxcsr;
        double p0 = (imm & 0x10) != 0 ? MxcsrArithmetic.Double(FloatOp.Mul, x[0], y[0], m, ref flags) : 0;
        double p1 = (imm & 0x20) != 0 ? MxcsrArithmetic.Double(FloatOp.Mul, x[1], y[1], m, ref flags) : 0;
        double sum0 = MxcsrArithmetic.Double(FloatOp.Add, p0, p1, m, ref flags);
        double sum1 = MxcsrArithmetic.Double(FloatOp.Add, p1, p0, m, ref flags);
        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((imm & 1) != 0 ? sum0 : 0, (imm & 2) != 0 ? sum1 : 0, 0, 0).AsByte());
    }

    /// <summary>
    /// COMISS/UCOMISS/COMISD/UCOMISD and their VEX forms: ZF, PF, CF = 111 unordered, 000 greater,
    /// 001 less, 100 equal; OF, SF, AF cleared. COMIS* are invalid on any NaN, UCOMIS* on an SNaN
    /// (Intel SDM Vol. 2A COMISD).
    /// </summary>
    private static void CompareFlagsSingle(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        float a = cpu.ReadVectorOp(ins, 0).AsSingle().ToScalar();
        float b = cpu.ReadVectorOp(ins, 1).AsSingle().ToScalar();
        uint flags = 0;
        bool unordered = float.IsNaN(a) || float.IsNaN(b);
        if (unordered && (ins.Mnemonic is Mnemonic.Comiss or Mnemonic.Vcomiss || IsSignalingNaN(a) || IsSignalingNaN(b)))
        {
            flags |= IE;
        }

        uint denormal = 0;
        a = Operand(a, cpu.Mxcsr, ref denormal);
        b = Operand(b, cpu.Mxcsr, ref denormal);
        SimdForms.Commit(cpu, flags | (unordered ? 0 : denormal));
        SetCompareFlags(cpu, unordered, a < b, a == b);
    }

    private static void CompareFlagsDouble(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        double a = cpu.ReadVectorOp(ins, 0).AsDouble().ToScalar();
        double b = cpu.ReadVectorOp(ins, 1).AsDouble().ToScalar();
        uint flags = 0;
        bool unordered = double.IsNaN(a) || double.IsNaN(b);
        if (unordered && (ins.Mnemonic is Mnemonic.Comisd or Mnemonic.Vcomisd || IsSignalingNaN(a) || IsSignalingNaN(b)))
        {
            flags |= IE;
        }

        uint denormal = 0;
        a = Operand(a, cpu.Mxcsr, ref denormal);
        b = Operand(b, cpu.Mxcsr, ref denormal);
        SimdForms.Commit(cpu, flags | (unordered ? 0 : denormal));
        SetCompareFlags(cpu, unordered, a < b, a == b);
    }

    public static void SetCompareFlags(CpuCore cpu, bool unordered, bool less, bool equal)
    {
        uint f = unordered ? LazyFlags.ZF | LazyFlags.PF | LazyFlags.CF
            : less ? LazyFlags.CF
            : equal ? LazyFlags.ZF
            : 0;
        cpu.Flags.SetAll(f);
    }

    /// <summary>
    /// RCPPS/RCPSS/RSQRTPS/RSQRTSS and their VEX forms: approximations whose exact bits are
    /// implementation specific (relative error at most 1.5 * 2^-12, Intel SDM Vol. 2B RCPPS); this
    /// CPU returns what the host's instruction returns. They raise no exceptions and ignore MXCSR.
    /// The scalar forms take elements 1-3 from the first source.
    /// </summary>
    private static void Approximate(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        (Vector256<byte> a, Vector256<byte> b) = Sources(cpu, ins);
        bool reciprocal = ins.Mnemonic is Mnemonic.Rcpps or Mnemonic.Rcpss or Mnemonic.Vrcpps or Mnemonic.Vrcpss;
        bool scalar = ins.Mnemonic is Mnemonic.Rcpss or Mnemonic.Rsqrtss or Mnemonic.Vrcpss or Mnemonic.Vrsqrtss;
        Vector256<float> r;
        if (scalar)
        {
            Vector128<float> x = a.GetLower().AsSingle(), y = b.GetLower().AsSingle();
            r = Vector256.Create(reciprocal ? Sse.ReciprocalScalar(x, y) : Sse.ReciprocalSqrtScalar(x, y), Vector128<float>.Zero);
        }
        else
        {
            Vector128<float> lo = b.GetLower().AsSingle(), hi = b.GetUpper().AsSingle();
            r = reciprocal
                ? Vector256.Create(Sse.Reciprocal(lo), CpuCore.IsYmm(ins.Op0Register) ? Sse.Reciprocal(hi) : Vector128<float>.Zero)
                : Vector256.Create(Sse.ReciprocalSqrt(lo), CpuCore.IsYmm(ins.Op0Register) ? Sse.ReciprocalSqrt(hi) : Vector128<float>.Zero);
        }

        cpu.WriteVectorRegister(ins, ins.Op0Register, r.AsByte());
    }
}
