using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.MxcsrArithmetic;

namespace Emulator.Jit.Instructions;

/// <summary>
/// SSE/SSE2/SSE3 floating-point arithmetic, comparison and rounding, scalar and packed (Intel SDM
/// Vol. 1 10.4.2, 11.4.1; Vol. 2 ADDPS...UCOMISS). Every element goes through
/// <see cref="MxcsrArithmetic"/>, which applies MXCSR; exceptions are committed once per
/// instruction, before the destination is written.
/// </summary>
internal static unsafe class SseFloat
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Addps, &PackedSingle<AddOp>);
        r.Add(Mnemonic.Addpd, &PackedDouble<AddOp>);
        r.Add(Mnemonic.Addss, &ScalarSingle<AddOp>);
        r.Add(Mnemonic.Addsd, &ScalarDouble<AddOp>);
        r.Add(Mnemonic.Subps, &PackedSingle<SubOp>);
        r.Add(Mnemonic.Subpd, &PackedDouble<SubOp>);
        r.Add(Mnemonic.Subss, &ScalarSingle<SubOp>);
        r.Add(Mnemonic.Subsd, &ScalarDouble<SubOp>);
        r.Add(Mnemonic.Mulps, &PackedSingle<MulOp>);
        r.Add(Mnemonic.Mulpd, &PackedDouble<MulOp>);
        r.Add(Mnemonic.Mulss, &ScalarSingle<MulOp>);
        r.Add(Mnemonic.Mulsd, &ScalarDouble<MulOp>);
        r.Add(Mnemonic.Divps, &PackedSingle<DivOp>);
        r.Add(Mnemonic.Divpd, &PackedDouble<DivOp>);
        r.Add(Mnemonic.Divss, &ScalarSingle<DivOp>);
        r.Add(Mnemonic.Divsd, &ScalarDouble<DivOp>);
        r.Add(Mnemonic.Sqrtps, &PackedSingle<SqrtOp>);
        r.Add(Mnemonic.Sqrtpd, &PackedDouble<SqrtOp>);
        r.Add(Mnemonic.Sqrtss, &ScalarSingle<SqrtOp>);
        r.Add(Mnemonic.Sqrtsd, &ScalarDouble<SqrtOp>);
        r.Add(Mnemonic.Minps, &PackedSingle<MinOp>);
        r.Add(Mnemonic.Minpd, &PackedDouble<MinOp>);
        r.Add(Mnemonic.Minss, &ScalarSingle<MinOp>);
        r.Add(Mnemonic.Minsd, &ScalarDouble<MinOp>);
        r.Add(Mnemonic.Maxps, &PackedSingle<MaxOp>);
        r.Add(Mnemonic.Maxpd, &PackedDouble<MaxOp>);
        r.Add(Mnemonic.Maxss, &ScalarSingle<MaxOp>);
        r.Add(Mnemonic.Maxsd, &ScalarDouble<MaxOp>);
        r.Add(Mnemonic.Cmpps, &PackedSingle<CmpOp>);
        r.Add(Mnemonic.Cmppd, &PackedDouble<CmpOp>);
        r.Add(Mnemonic.Cmpss, &ScalarSingle<CmpOp>);
        r.Add(Code.Cmpsd_xmm_xmmm64_imm8, &ScalarDouble<CmpOp>);
        r.Add(Mnemonic.Addsubps, &AddSubSingle);
        r.Add(Mnemonic.Addsubpd, &AddSubDouble);
        r.Add(Mnemonic.Haddps, &HorizontalSingle);
        r.Add(Mnemonic.Hsubps, &HorizontalSingle);
        r.Add(Mnemonic.Haddpd, &HorizontalDouble);
        r.Add(Mnemonic.Hsubpd, &HorizontalDouble);
        r.Add(Mnemonic.Comiss, &CompareFlagsSingle);
        r.Add(Mnemonic.Ucomiss, &CompareFlagsSingle);
        r.Add(Mnemonic.Comisd, &CompareFlagsDouble);
        r.Add(Mnemonic.Ucomisd, &CompareFlagsDouble);
        r.Add(Mnemonic.Rcpps, &Approximate);
        r.Add(Mnemonic.Rcpss, &Approximate);
        r.Add(Mnemonic.Rsqrtps, &Approximate);
        r.Add(Mnemonic.Rsqrtss, &Approximate);
        r.Add(Mnemonic.Dpps, &Dpps);
        r.Add(Mnemonic.Dppd, &Dppd);
        r.Add(Mnemonic.Roundps, &PackedSingle<RoundOp>);
        r.Add(Mnemonic.Roundpd, &PackedDouble<RoundOp>);
        r.Add(Mnemonic.Roundss, &ScalarSingle<RoundOp>);
        r.Add(Mnemonic.Roundsd, &ScalarDouble<RoundOp>);
    }

    /// <summary>One element operation on (first source/destination, second source); imm is the instruction's imm8 (comparison predicate, rounding control).</summary>
    private interface IFloatOp
    {
        static abstract float Single(float a, float b, byte imm, uint mxcsr, ref uint flags);

        static abstract double Double(double a, double b, byte imm, uint mxcsr, ref uint flags);
    }

    /// <summary>OPPS xmm, xmm/m128: four single-precision elements.</summary>
    private static void PackedSingle<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckSse();
        Vector128<float> b = cpu.ReadXmmOp(ins, 1).AsSingle();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<float> a = d.AsSingle();
        uint flags = 0, mxcsr = cpu.Mxcsr;
        byte imm = ImmediateOf(ins);
        Vector128<float> r = Vector128.Create(
            T.Single(a[0], b[0], imm, mxcsr, ref flags),
            T.Single(a[1], b[1], imm, mxcsr, ref flags),
            T.Single(a[2], b[2], imm, mxcsr, ref flags),
            T.Single(a[3], b[3], imm, mxcsr, ref flags));
        SimdForms.Commit(cpu, flags);
        d = r.AsByte();
    }

    private static void PackedDouble<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckSse();
        Vector128<double> b = cpu.ReadXmmOp(ins, 1).AsDouble();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<double> a = d.AsDouble();
        uint flags = 0, mxcsr = cpu.Mxcsr;
        byte imm = ImmediateOf(ins);
        Vector128<double> r = Vector128.Create(T.Double(a[0], b[0], imm, mxcsr, ref flags), T.Double(a[1], b[1], imm, mxcsr, ref flags));
        SimdForms.Commit(cpu, flags);
        d = r.AsByte();
    }

    /// <summary>OPSS xmm, xmm/m32: the low element; the upper elements of the destination are kept.</summary>
    private static void ScalarSingle<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckSse();
        float b = BitConverter.UInt32BitsToSingle((uint)cpu.ReadXmmLow(ins, 1, 4));
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        uint flags = 0;
        float r = T.Single(d.AsSingle().ToScalar(), b, ImmediateOf(ins), cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        d = d.AsSingle().WithElement(0, r).AsByte();
    }

    private static void ScalarDouble<T>(CpuCore cpu, ref Instruction ins)
        where T : IFloatOp
    {
        cpu.CheckSse();
        double b = BitConverter.UInt64BitsToDouble(cpu.ReadXmmLow(ins, 1, 8));
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        uint flags = 0;
        double r = T.Double(d.AsDouble().ToScalar(), b, ImmediateOf(ins), cpu.Mxcsr, ref flags);
        SimdForms.Commit(cpu, flags);
        d = d.AsDouble().WithElement(0, r).AsByte();
    }

    private static byte ImmediateOf(in Instruction ins) => ins.OpCount > 2 && ins.GetOpKind(2) == OpKind.Immediate8 ? ins.Immediate8 : (byte)0;

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
    /// CMPPS/CMPPD/CMPSS/CMPSD predicates 0-7 (EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD): all ones when
    /// true. LT, LE, NLT, NLE are invalid on any NaN, the others only on an SNaN (Intel SDM Vol. 2A CMPPS, Table 3-1).
    /// </summary>
    private readonly struct CmpOp : IFloatOp
    {
        public static float Single(float a, float b, byte imm, uint mxcsr, ref uint flags)
        {
            bool unordered = float.IsNaN(a) || float.IsNaN(b);
            if (unordered && ((imm & 3) is 1 or 2 || IsSignalingNaN(a) || IsSignalingNaN(b)))
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
            if (unordered && ((imm & 3) is 1 or 2 || IsSignalingNaN(a) || IsSignalingNaN(b)))
            {
                flags |= IE;
            }

            uint denormal = 0;
            a = Operand(a, mxcsr, ref denormal);
            b = Operand(b, mxcsr, ref denormal);
            flags |= unordered ? 0 : denormal;
            return BitConverter.UInt64BitsToDouble(Predicate(imm, unordered, a < b, a == b) ? ulong.MaxValue : 0);
        }

        private static bool Predicate(byte imm, bool unordered, bool less, bool equal)
        {
            bool r = (imm & 3) switch
            {
                0 => equal,
                1 => less,
                2 => less || equal,
                _ => unordered,
            };
            return (imm & 4) == 0 ? r : !r;
        }
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

    /// <summary>ADDSUBPS/PD (SSE3): even elements subtract, odd elements add.</summary>
    private static void AddSubSingle(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<float> b = cpu.ReadXmmOp(ins, 1).AsSingle();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<float> a = d.AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        Vector128<float> r = Vector128.Create(
            MxcsrArithmetic.Single(FloatOp.Sub, a[0], b[0], m, ref flags),
            MxcsrArithmetic.Single(FloatOp.Add, a[1], b[1], m, ref flags),
            MxcsrArithmetic.Single(FloatOp.Sub, a[2], b[2], m, ref flags),
            MxcsrArithmetic.Single(FloatOp.Add, a[3], b[3], m, ref flags));
        SimdForms.Commit(cpu, flags);
        d = r.AsByte();
    }

    private static void AddSubDouble(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<double> b = cpu.ReadXmmOp(ins, 1).AsDouble();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<double> a = d.AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        Vector128<double> r = Vector128.Create(MxcsrArithmetic.Double(FloatOp.Sub, a[0], b[0], m, ref flags), MxcsrArithmetic.Double(FloatOp.Add, a[1], b[1], m, ref flags));
        SimdForms.Commit(cpu, flags);
        d = r.AsByte();
    }

    /// <summary>HADDPS/HSUBPS (SSE3): pairs of the destination, then pairs of the source.</summary>
    private static void HorizontalSingle(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        FloatOp op = ins.Mnemonic == Mnemonic.Haddps ? FloatOp.Add : FloatOp.Sub;
        Vector128<float> b = cpu.ReadXmmOp(ins, 1).AsSingle();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<float> a = d.AsSingle();
        uint flags = 0, m = cpu.Mxcsr;
        Vector128<float> r = Vector128.Create(
            MxcsrArithmetic.Single(op, a[0], a[1], m, ref flags),
            MxcsrArithmetic.Single(op, a[2], a[3], m, ref flags),
            MxcsrArithmetic.Single(op, b[0], b[1], m, ref flags),
            MxcsrArithmetic.Single(op, b[2], b[3], m, ref flags));
        SimdForms.Commit(cpu, flags);
        d = r.AsByte();
    }

    private static void HorizontalDouble(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        FloatOp op = ins.Mnemonic == Mnemonic.Haddpd ? FloatOp.Add : FloatOp.Sub;
        Vector128<double> b = cpu.ReadXmmOp(ins, 1).AsDouble();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<double> a = d.AsDouble();
        uint flags = 0, m = cpu.Mxcsr;
        Vector128<double> r = Vector128.Create(MxcsrArithmetic.Double(op, a[0], a[1], m, ref flags), MxcsrArithmetic.Double(op, b[0], b[1], m, ref flags));
        SimdForms.Commit(cpu, flags);
        d = r.AsByte();
    }

    /// <summary>
    /// DPPS (SSE4.1): products of the elements selected by imm8[7:4] (others +0), summed as
    /// (p0 + p1) + (p2 + p3) with a rounding at each step, written to the elements selected by imm8[3:0].
    /// </summary>
    private static void Dpps(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<float> b = cpu.ReadXmmOp(ins, 1).AsSingle();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<float> a = d.AsSingle();
        byte imm = ins.Immediate8;
        uint flags = 0, m = cpu.Mxcsr;
        Span<float> p = stackalloc float[4];
        for (int i = 0; i < 4; i++)
        {
            p[i] = (imm & (0x10 << i)) != 0 ? MxcsrArithmetic.Single(FloatOp.Mul, a[i], b[i], m, ref flags) : 0f;
        }

        float low = MxcsrArithmetic.Single(FloatOp.Add, p[0], p[1], m, ref flags);
        float high = MxcsrArithmetic.Single(FloatOp.Add, p[2], p[3], m, ref flags);
        float sum = MxcsrArithmetic.Single(FloatOp.Add, low, high, m, ref flags);
        SimdForms.Commit(cpu, flags);
        Vector128<float> r = Vector128<float>.Zero;
        for (int i = 0; i < 4; i++)
        {
            if ((imm & (1 << i)) != 0)
            {
                r = r.WithElement(i, sum);
            }
        }

        d = r.AsByte();
    }

    private static void Dppd(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        Vector128<double> b = cpu.ReadXmmOp(ins, 1).AsDouble();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        Vector128<double> a = d.AsDouble();
        byte imm = ins.Immediate8;
        uint flags = 0, m = cpu.Mxcsr;
        double p0 = (imm & 0x10) != 0 ? MxcsrArithmetic.Double(FloatOp.Mul, a[0], b[0], m, ref flags) : 0;
        double p1 = (imm & 0x20) != 0 ? MxcsrArithmetic.Double(FloatOp.Mul, a[1], b[1], m, ref flags) : 0;
        double sum = MxcsrArithmetic.Double(FloatOp.Add, p0, p1, m, ref flags);
        SimdForms.Commit(cpu, flags);
        d = Vector128.Create((imm & 1) != 0 ? sum : 0, (imm & 2) != 0 ? sum : 0).AsByte();
    }

    /// <summary>
    /// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF = 111 unordered, 000 greater, 001 less, 100 equal;
    /// OF, SF, AF cleared. COMIS* are invalid on any NaN, UCOMIS* on an SNaN (Intel SDM Vol. 2A COMISD).
    /// </summary>
    private static void CompareFlagsSingle(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        float a = cpu.XmmReg(ins.Op0Register).AsSingle().ToScalar();
        float b = BitConverter.UInt32BitsToSingle((uint)cpu.ReadXmmLow(ins, 1, 4));
        uint flags = 0;
        bool unordered = float.IsNaN(a) || float.IsNaN(b);
        if (unordered && (ins.Mnemonic == Mnemonic.Comiss || IsSignalingNaN(a) || IsSignalingNaN(b)))
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
        cpu.CheckSse();
        double a = cpu.XmmReg(ins.Op0Register).AsDouble().ToScalar();
        double b = BitConverter.UInt64BitsToDouble(cpu.ReadXmmLow(ins, 1, 8));
        uint flags = 0;
        bool unordered = double.IsNaN(a) || double.IsNaN(b);
        if (unordered && (ins.Mnemonic == Mnemonic.Comisd || IsSignalingNaN(a) || IsSignalingNaN(b)))
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
    /// RCPPS/RCPSS/RSQRTPS/RSQRTSS: approximations whose exact bits are implementation specific
    /// (relative error at most 1.5 * 2^-12, Intel SDM Vol. 2B RCPPS); this CPU returns what the
    /// host's instruction returns. They raise no exceptions and ignore MXCSR.
    /// </summary>
    private static void Approximate(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckSse();
        ref Vector128<byte> d = ref cpu.XmmReg(ins.Op0Register);
        switch (ins.Mnemonic)
        {
            case Mnemonic.Rcpps:
                d = Sse.Reciprocal(cpu.ReadXmmOp(ins, 1).AsSingle()).AsByte();
                break;
            case Mnemonic.Rsqrtps:
                d = Sse.ReciprocalSqrt(cpu.ReadXmmOp(ins, 1).AsSingle()).AsByte();
                break;
            case Mnemonic.Rcpss:
                d = Sse.ReciprocalScalar(d.AsSingle(), Vector128.CreateScalar((uint)cpu.ReadXmmLow(ins, 1, 4)).AsSingle()).AsByte();
                break;
            default:
                d = Sse.ReciprocalSqrtScalar(d.AsSingle(), Vector128.CreateScalar((uint)cpu.ReadXmmLow(ins, 1, 4)).AsSingle()).AsByte();
                break;
        }
    }
}
