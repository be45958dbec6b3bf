using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using static Emulator.Jit.Instructions.X87;

namespace Emulator.Jit.Instructions;

/// <summary>
/// x87 arithmetic, comparison and miscellaneous operations (Intel SDM Vol. 1 8.3, Vol. 2 FADD...FYL2XP1).
/// Precision: operands are rounded to 53-bit significands and the operation is computed correctly
/// rounded to 53 bits in the FCW rounding mode, with the extended exponent range (operands are
/// scaled into the double range first, so nothing overflows or underflows that would not on
/// hardware). Loads, stores, comparisons, FCHS/FABS, FSCALE, FXTRACT, FRNDINT and FPREM/FPREM1
/// are exact on all 64 bits. FCW.PC is not applied. Transcendentals go through the host's double
/// functions (not correctly rounded).
/// </summary>
internal static unsafe class X87Arithmetic
{
    private const uint IE = MxcsrArithmetic.IE, DE = MxcsrArithmetic.DE, PE = MxcsrArithmetic.PE;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Fadd, &Binary);
        r.Add(Mnemonic.Faddp, &Binary);
        r.Add(Mnemonic.Fiadd, &Binary);
        r.Add(Mnemonic.Fsub, &Binary);
        r.Add(Mnemonic.Fsubp, &Binary);
        r.Add(Mnemonic.Fisub, &Binary);
        r.Add(Mnemonic.Fsubr, &Binary);
        r.Add(Mnemonic.Fsubrp, &Binary);
        r.Add(Mnemonic.Fisubr, &Binary);
        r.Add(Mnemonic.Fmul, &Binary);
        r.Add(Mnemonic.Fmulp, &Binary);
        r.Add(Mnemonic.Fimul, &Binary);
        r.Add(Mnemonic.Fdiv, &Binary);
        r.Add(Mnemonic.Fdivp, &Binary);
        r.Add(Mnemonic.Fidiv, &Binary);
        r.Add(Mnemonic.Fdivr, &Binary);
        r.Add(Mnemonic.Fdivrp, &Binary);
        r.Add(Mnemonic.Fidivr, &Binary);
        foreach (Mnemonic m in new[] { Mnemonic.Fcom, Mnemonic.Fcomp, Mnemonic.Fcompp, Mnemonic.Ficom, Mnemonic.Ficomp, Mnemonic.Fucom, Mnemonic.Fucomp, Mnemonic.Fucompp, Mnemonic.Fcomi, Mnemonic.Fcomip, Mnemonic.Fucomi, Mnemonic.Fucomip, Mnemonic.Ftst })
        {
            r.Add(m, &Compare);
        }

        r.Add(Mnemonic.Fchs, &Fchs);
        r.Add(Mnemonic.Fabs, &Fabs);
        r.Add(Mnemonic.Fsqrt, &Fsqrt);
        r.Add(Mnemonic.Fxam, &Fxam);
        r.Add(Mnemonic.Frndint, &Frndint);
        r.Add(Mnemonic.Fscale, &Fscale);
        r.Add(Mnemonic.Fxtract, &Fxtract);
        r.Add(Mnemonic.Fprem, &Fprem);
        r.Add(Mnemonic.Fprem1, &Fprem);
        foreach (Mnemonic m in new[] { Mnemonic.Fsin, Mnemonic.Fcos, Mnemonic.Fsincos, Mnemonic.Fptan, Mnemonic.Fpatan, Mnemonic.F2xm1, Mnemonic.Fyl2x, Mnemonic.Fyl2xp1 })
        {
            r.Add(m, &Transcendental);
        }
    }

    /// <summary>
    /// FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR and their P and I forms: a memory operand combines with ST(0)
    /// into ST(0); a register form combines its two registers into the first; P forms pop.
    /// </summary>
    private static void Binary(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0, memoryDenormal = 0;
        int dst;
        Float80 src;
        if (ins.GetOpKind(0) == OpKind.Memory)
        {
            dst = 0;
            src = ReadMemory(cpu, ins);
            if (src.IsSignalingNaN)
            {
                flags |= IE;
            }

            memoryDenormal = IsDenormalInMemoryFormat(src, ins.MemorySize) ? DE : 0;
        }
        else
        {
            dst = ins.Op0Register - Iced.Intel.Register.ST0;
            src = Operand(cpu, ins.Op1Register - Iced.Intel.Register.ST0, ref flags);
        }

        Float80 a = Operand(cpu, dst, ref flags);
        (FloatOp op, bool reverse) = ins.Mnemonic switch
        {
            Mnemonic.Fadd or Mnemonic.Faddp or Mnemonic.Fiadd => (FloatOp.Add, false),
            Mnemonic.Fsub or Mnemonic.Fsubp or Mnemonic.Fisub => (FloatOp.Sub, false),
            Mnemonic.Fsubr or Mnemonic.Fsubrp or Mnemonic.Fisubr => (FloatOp.Sub, true),
            Mnemonic.Fmul or Mnemonic.Fmulp or Mnemonic.Fimul => (FloatOp.Mul, false),
            Mnemonic.Fdiv or Mnemonic.Fdivp or Mnemonic.Fidiv => (FloatOp.Div, false),
            _ => (FloatOp.Div, true),
        };
        Float80 r = (flags & StackFault) != 0 ? Float80.Indefinite
            : reverse ? Arithmetic(op, src, a, RoundingMode(cpu), ref flags, memoryDenormal)
            : Arithmetic(op, a, src, RoundingMode(cpu), ref flags, memoryDenormal);
        cpu.Fsw &= unchecked((ushort)~C1);
        if (!Commit(cpu, flags))
        {
            return;
        }

        SetSt(cpu, dst, r);
        if (ins.Mnemonic is Mnemonic.Faddp or Mnemonic.Fsubp or Mnemonic.Fsubrp or Mnemonic.Fmulp or Mnemonic.Fdivp or Mnemonic.Fdivrp)
        {
            Pop(cpu);
        }
    }

    /// <summary>One IEEE operation on extended operands (see the class summary for the precision).</summary>
    public static Float80 Arithmetic(FloatOp op, Float80 a, Float80 b, int mode, ref uint flags, uint memoryDenormal = 0)
    {
        bool unary = op == FloatOp.Sqrt;
        if (a.IsUnsupported || (!unary && b.IsUnsupported))
        {
            flags |= IE;
            return Float80.Indefinite;
        }

        if (a.IsNaN || (!unary && b.IsNaN))
        {
            return PropagateNaN(a, unary ? a : b, ref flags);
        }

        uint denormal = a.IsDenormal || (!unary && b.IsDenormal) ? DE : memoryDenormal;
        uint mxcsr = 0x1f80u | ((uint)mode << 13);
        uint result = 0;
        Float80 r;
        if (!a.IsFiniteNonZero || (!unary && !b.IsFiniteNonZero))
        {
            if (op is FloatOp.Add or FloatOp.Sub && a.IsFiniteNonZero && b.IsZero)
            {
                r = a;
            }
            else if (op is FloatOp.Add or FloatOp.Sub && b.IsFiniteNonZero && a.IsZero)
            {
                r = op == FloatOp.Sub ? b.Negate() : b;
            }
            else
            {
                // Zeros and infinities: the magnitude of a finite partner does not matter.
                double x = MxcsrArithmetic.Double(op, Representative(a), Representative(b), mxcsr, ref result);
                r = Float80.FromDouble(x);
            }
        }
        else
        {
            (double ma, int ea) = Split(a);
            (double mb, int eb) = Split(b);
            double x;
            int scale;
            switch (op)
            {
                case FloatOp.Mul:
                    x = MxcsrArithmetic.Double(op, ma, mb, mxcsr, ref result);
                    scale = ea + eb;
                    break;
                case FloatOp.Div:
                    x = MxcsrArithmetic.Double(op, ma, mb, mxcsr, ref result);
                    scale = ea - eb;
                    break;
                case FloatOp.Sqrt:
                    if ((ea & 1) != 0)
                    {
                        ma *= 2;
                        ea--;
                    }

                    x = MxcsrArithmetic.Double(op, 0, ma, mxcsr, ref result);
                    scale = ea / 2;
                    break;
                default:
                    // Align to the larger exponent; a partner more than 100 binades smaller only acts as a sticky bit.
                    scale = Math.Max(ea, eb);
                    x = MxcsrArithmetic.Double(op, Math.ScaleB(ma, Math.Max(ea - scale, -100)), Math.ScaleB(mb, Math.Max(eb - scale, -100)), mxcsr, ref result);
                    break;
            }

            r = double.IsNaN(x) ? Float80.Indefinite : x == 0 ? Float80.FromDouble(x) : Float80.FromScaledDouble(x, scale, mode, ref result);
        }

        flags |= MxcsrArithmetic.Merge(result, denormal);
        return r;
    }

    /// <summary>A single or double memory operand that was a denormal in its own format (a normal number once widened) is a denormal operand.</summary>
    public static bool IsDenormalInMemoryFormat(Float80 v, MemorySize size) =>
        v.Exponent != 0 && v.Exponent != 0x7fff
        && ((size == MemorySize.Float32 && v.Exponent < Float80.Bias - 126) || (size == MemorySize.Float64 && v.Exponent < Float80.Bias - 1022));

    /// <summary>A finite nonzero value as a double significand in [1, 2] (rounded to 53 bits) and an exponent.</summary>
    private static (double Significand, int Exponent) Split(Float80 v)
    {
        (ulong m, int e) = v.Normalized();
        double d = Math.ScaleB((double)m, -63);
        return (v.Negative ? -d : d, e + 63);
    }

    private static double Representative(Float80 v) =>
        v.IsZero ? (v.Negative ? -0.0 : 0.0)
        : v.IsInfinity ? (v.Negative ? double.NegativeInfinity : double.PositiveInfinity)
        : v.Negative ? -1.5 : 1.5;

    /// <summary>x87 NaN rule (Intel SDM Vol. 1 Table 4-7): an SNaN is invalid; of an SNaN and a QNaN the QNaN; of two of a kind the one with the larger significand; made quiet.</summary>
    private static Float80 PropagateNaN(Float80 a, Float80 b, ref uint flags)
    {
        if (a.IsSignalingNaN || b.IsSignalingNaN)
        {
            flags |= IE;
        }

        if (a.IsNaN && b.IsNaN && a.IsSignalingNaN != b.IsSignalingNaN)
        {
            // An SNaN and a QNaN: the QNaN.
            return a.IsSignalingNaN ? b : a;
        }

        if (a.IsNaN && b.IsNaN)
        {
            ulong qa = a.Significand | (1UL << 62), qb = b.Significand | (1UL << 62);
            return (qa > qb || (qa == qb && !a.Negative) ? a : b).Quiet();
        }

        return (a.IsNaN ? a : b).Quiet();
    }

    /// <summary>
    /// FCOM/FCOMP/FCOMPP/FICOM/FICOMP/FUCOM*/FTST set C3, C2, C0 (000 greater, 001 less, 100 equal,
    /// 111 unordered); FCOMI/FUCOMI* set ZF, PF, CF the same way. The FCOM forms are invalid on any
    /// NaN, the FUCOM forms only on an SNaN (Intel SDM Vol. 2A FCOM, FUCOM, FCOMI).
    /// </summary>
    private static void Compare(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 a = Operand(cpu, 0, ref flags);
        Float80 b;
        if (ins.Mnemonic == Mnemonic.Ftst)
        {
            b = Float80.Zero(false);
        }
        else if (ins.OpCount > 0 && ins.GetOpKind(0) == OpKind.Memory)
        {
            b = ReadMemory(cpu, ins);
            flags |= IsDenormalInMemoryFormat(b, ins.MemorySize) && !a.IsNaN && !b.IsNaN ? DE : 0;
        }
        else
        {
            int i = ins.OpCount switch
            {
                0 => 1,
                1 => ins.Op0Register - Iced.Intel.Register.ST0,
                _ => ins.Op1Register - Iced.Intel.Register.ST0,
            };
            b = Operand(cpu, i, ref flags);
        }

        bool unordered = a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported;
        bool quietForm = ins.Mnemonic is Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp or Mnemonic.Fucomi or Mnemonic.Fucomip;
        if (unordered && (!quietForm || a.IsSignalingNaN || b.IsSignalingNaN || a.IsUnsupported || b.IsUnsupported))
        {
            flags |= IE;
        }
        else if (!unordered && (a.IsDenormal || b.IsDenormal))
        {
            flags |= DE;
        }

        int order = unordered ? 0 : Float80.Compare(a, b);
        bool intoFlags = ins.Mnemonic is Mnemonic.Fcomi or Mnemonic.Fcomip or Mnemonic.Fucomi or Mnemonic.Fucomip;
        cpu.Fsw &= unchecked((ushort)~C1);
        if (!Commit(cpu, flags))
        {
            return;
        }

        if (intoFlags)
        {
            SseFloat.SetCompareFlags(cpu, unordered, order < 0, order == 0);
        }
        else
        {
            SetConditionCodes(cpu, unordered ? (ushort)(C3 | C2 | C0) : order < 0 ? C0 : order == 0 ? C3 : (ushort)0);
        }

        int pops = ins.Mnemonic switch
        {
            Mnemonic.Fcomp or Mnemonic.Ficomp or Mnemonic.Fucomp or Mnemonic.Fcomip or Mnemonic.Fucomip => 1,
            Mnemonic.Fcompp or Mnemonic.Fucompp => 2,
            _ => 0,
        };
        for (int p = 0; p < pops; p++)
        {
            Pop(cpu);
        }
    }

    private static void Fchs(CpuCore cpu, ref Instruction ins) => Unary(cpu, ins, static v => v.Negate());

    private static void Fabs(CpuCore cpu, ref Instruction ins) => Unary(cpu, ins, static v => v.Abs());

    private static void Unary(CpuCore cpu, in Instruction ins, Func<Float80, Float80> f)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v = Operand(cpu, 0, ref flags);
        cpu.Fsw &= unchecked((ushort)~C1);
        if (Commit(cpu, flags))
        {
            SetSt(cpu, 0, f(v));
        }
    }

    private static void Fsqrt(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v = Operand(cpu, 0, ref flags);
        Float80 r = (flags & StackFault) != 0 ? Float80.Indefinite
            : v.IsZero ? v
            : Arithmetic(FloatOp.Sqrt, v, v, RoundingMode(cpu), ref flags);
        cpu.Fsw &= unchecked((ushort)~C1);
        if (Commit(cpu, flags))
        {
            SetSt(cpu, 0, r);
        }
    }

    /// <summary>FXAM: C3 C2 C0 classify ST(0) (Intel SDM Vol. 2A FXAM, Table 3-xx); C1 is its sign. Empty registers are 101.</summary>
    private static void Fxam(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        Float80 v = St(cpu, 0);
        ushort c = IsEmpty(cpu, 0) ? (ushort)(C3 | C0)
            : v.IsUnsupported ? (ushort)0
            : v.IsNaN ? C0
            : v.IsInfinity ? (ushort)(C2 | C0)
            : v.IsZero ? C3
            : v.IsDenormal ? (ushort)(C3 | C2)
            : C2;
        SetConditionCodes(cpu, (ushort)(c | (v.Negative ? C1 : 0)));
    }

    /// <summary>FRNDINT: ST(0) rounded to an integer in the FCW rounding mode, exactly on 64 bits.</summary>
    private static void Frndint(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v = Operand(cpu, 0, ref flags);
        Float80 r = v;
        if (v.IsNaN)
        {
            r = PropagateNaN(v, v, ref flags);
        }
        else if (v.IsFiniteNonZero)
        {
            r = RoundToInteger(v, RoundingMode(cpu), ref flags);
        }

        cpu.Fsw &= unchecked((ushort)~C1);
        if (Commit(cpu, flags))
        {
            SetSt(cpu, 0, r);
        }
    }

    public static Float80 RoundToInteger(Float80 v, int mode, ref uint flags)
    {
        (ulong m, int e) = v.Normalized();
        int integerBits = e + 64;
        if (integerBits >= 64)
        {
            return v;
        }

        if (integerBits <= 0)
        {
            // |v| < 1: 0 or 1 by mode; exactly one half rounds to even (0) when rounding to nearest.
            flags |= PE;
            bool one = mode switch
            {
                0 => integerBits == 0 && m > Float80.IntegerBit,
                1 => v.Negative,
                2 => !v.Negative,
                _ => false,
            };
            return one ? (v.Negative ? Float80.One.Negate() : Float80.One) : Float80.Zero(v.Negative);
        }

        (ulong kept, int low, _) = Float80.Round(v.Negative, m, e, integerBits, -100000, 100000, mode, ref flags);
        flags &= ~MxcsrArithmetic.UE;
        return kept == 0 ? Float80.Zero(v.Negative) : Float80.FromParts(v.Negative, kept, low, mode, ref flags);
    }

    /// <summary>FSCALE: ST(0) * 2^trunc(ST(1)), exact unless the result leaves the extended range.</summary>
    private static void Fscale(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 a = Operand(cpu, 0, ref flags), b = Operand(cpu, 1, ref flags);
        Float80 r;
        if (a.IsNaN || b.IsNaN)
        {
            r = PropagateNaN(a, b, ref flags);
        }
        else if (!a.IsFiniteNonZero || b.IsZero)
        {
            r = a;
            if (b.IsInfinity && ((a.IsZero && !b.Negative) || (a.IsInfinity && b.Negative)))
            {
                flags |= IE;
                r = Float80.Indefinite;
            }
        }
        else if (b.IsInfinity)
        {
            r = b.Negative ? Float80.Zero(a.Negative) : Float80.Infinity(a.Negative);
        }
        else
        {
            // Scale factors beyond +-2^16 leave the extended range anyway.
            uint ignored = 0;
            long n = b.Exponent >= Float80.Bias + 20 ? (b.Negative ? -70000 : 70000)
                : Math.Clamp(RoundToInteger(b, 3, ref ignored) is var t && t.IsZero ? 0 : t.ToInteger(64, 3, ref ignored), -70000, 70000);
            (ulong m, int e) = a.Normalized();
            r = Float80.FromParts(a.Negative, m, e + (int)n, RoundingMode(cpu), ref flags);
        }

        cpu.Fsw &= unchecked((ushort)~C1);
        if (Commit(cpu, flags))
        {
            SetSt(cpu, 0, r);
        }
    }

    /// <summary>FXTRACT: ST(0) becomes its unbiased exponent, then its significand (exponent 0) is pushed.</summary>
    private static void Fxtract(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 v = Operand(cpu, 0, ref flags);
        Float80 exponent, significand;
        if (v.IsNaN)
        {
            exponent = significand = PropagateNaN(v, v, ref flags);
        }
        else if (v.IsZero)
        {
            // Intel SDM Vol. 2A FXTRACT: a zero gives -infinity and divide-by-zero.
            flags |= MxcsrArithmetic.ZE;
            exponent = Float80.Infinity(true);
            significand = v;
        }
        else if (v.IsInfinity)
        {
            exponent = Float80.Infinity(false);
            significand = v;
        }
        else
        {
            (ulong m, int e) = v.Normalized();
            exponent = Float80.FromInteger(e + 63);
            significand = new Float80(m, (ushort)((v.Negative ? 0x8000 : 0) | Float80.Bias));
        }

        if (!Commit(cpu, flags))
        {
            return;
        }

        SetSt(cpu, 0, exponent);
        Push(cpu, significand);
    }

    /// <summary>
    /// FPREM (truncating quotient) and FPREM1 (IEEE remainder, nearest quotient) of ST(0) by ST(1),
    /// C0, C3, C1 are quotient bits 2, 1, 0 when the reduction completes (C2 = 0).
    /// </summary>
    private static void Fprem(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 a = Operand(cpu, 0, ref flags), b = Operand(cpu, 1, ref flags);
        Float80 r;
        ulong q = 0;
        bool partial = false;
        if (a.IsNaN || b.IsNaN)
        {
            r = PropagateNaN(a, b, ref flags);
        }
        else if (a.IsInfinity || b.IsZero || a.IsUnsupported || b.IsUnsupported)
        {
            flags |= IE;
            r = Float80.Indefinite;
        }
        else if (a.IsZero || b.IsInfinity)
        {
            r = a;
        }
        else
        {
            flags |= a.IsDenormal || b.IsDenormal ? DE : 0;
            (ulong ma, int ea) = a.Normalized();
            (ulong mb, int eb) = b.Normalized();
            int d = ea - eb;
            UInt128 rest;
            int restExponent;
            bool negative = a.Negative;
            int divisorShift = 0;
            if (d >= 64)
            {
                // Partial remainder (Intel SDM Vol. 2A FPREM): the divisor scaled by 2^(d - n) with n
                // between 32 and 63; C2 = 1 asks software to execute FPREM again.
                int n = 32 + (d & 31);
                divisorShift = d - n;
                d = n;
                partial = true;
            }

            if (d < 0)
            {
                rest = ma;
                restExponent = ea;
            }
            else
            {
                // Long division, one quotient bit per step; only the low quotient bits are kept.
                rest = ma;
                for (int i = d; ; i--)
                {
                    q <<= 1;
                    if (rest >= mb)
                    {
                        rest -= mb;
                        q |= 1;
                    }

                    if (i == 0)
                    {
                        break;
                    }

                    rest <<= 1;
                }

                restExponent = eb + divisorShift;
            }

            if (ins.Mnemonic == Mnemonic.Fprem1 && d >= -1 && !partial)
            {
                // Nearest quotient: compare twice the remainder with the divisor (both at the divisor's exponent).
                UInt128 twice = d == -1 ? rest : rest << 1;
                if (twice > mb || (twice == mb && (q & 1) != 0))
                {
                    UInt128 divisor = d == -1 ? (UInt128)mb << 1 : mb;
                    rest = divisor - rest;
                    negative = !negative;
                    q++;
                }
            }

            r = rest == 0 ? Float80.Zero(a.Negative) : FromWide(negative, rest, restExponent, RoundingMode(cpu), ref flags);
        }

        if (!Commit(cpu, flags))
        {
            return;
        }

        SetSt(cpu, 0, r);
        SetConditionCodes(cpu, partial ? C2 : (ushort)(((q & 4) != 0 ? C0 : 0) | ((q & 2) != 0 ? C3 : 0) | ((q & 1) != 0 ? C1 : 0)));
    }

    private static Float80 FromWide(bool negative, UInt128 m, int e, int mode, ref uint flags)
    {
        while (m >> 64 != 0)
        {
            // Only reachable for FPREM1's d == -1 case, where the low bit is zero.
            m >>= 1;
            e++;
        }

        return Float80.FromParts(negative, (ulong)m, e, mode, ref flags);
    }

    /// <summary>
    /// FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1 through the host's double-precision
    /// functions: results are close to but not always the correctly rounded or the hardware's
    /// values. An argument of magnitude 2^63 or more sets C2 and leaves the stack (Intel SDM Vol. 2A FSIN).
    /// </summary>
    private static void Transcendental(CpuCore cpu, ref Instruction ins)
    {
        Begin(cpu, ins);
        uint flags = 0;
        Float80 a = Operand(cpu, 0, ref flags);
        bool twoOperands = ins.Mnemonic is Mnemonic.Fpatan or Mnemonic.Fyl2x or Mnemonic.Fyl2xp1;
        Float80 b = twoOperands ? Operand(cpu, 1, ref flags) : a;
        double x = a.ToDouble(0, ref flags), y = b.ToDouble(0, ref flags);
        flags &= ~(PE | MxcsrArithmetic.UE | MxcsrArithmetic.OE);
        bool trig = ins.Mnemonic is Mnemonic.Fsin or Mnemonic.Fcos or Mnemonic.Fsincos or Mnemonic.Fptan;
        cpu.Fsw &= unchecked((ushort)~(C1 | C2));
        if (trig && Math.Abs(x) >= 9.2233720368547758E18)
        {
            cpu.Fsw |= C2;
            return;
        }

        if (a.IsSignalingNaN || b.IsSignalingNaN)
        {
            flags |= IE;
        }

        double r1, r2 = 0;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Fsin: r1 = Math.Sin(x); break;
            case Mnemonic.Fcos: r1 = Math.Cos(x); break;
            case Mnemonic.Fsincos: r1 = Math.Cos(x); r2 = Math.Sin(x); break;
            case Mnemonic.Fptan: r1 = 1.0; r2 = Math.Tan(x); break;
            case Mnemonic.Fpatan: r1 = Math.Atan2(y, x); break;
            case Mnemonic.F2xm1: r1 = Math.Pow(2, x) - 1; break;
            case Mnemonic.Fyl2x:
                if (x < 0 || (x == 0 && y == 0))
                {
                    flags |= x < 0 ? IE : MxcsrArithmetic.ZE;
                }

                r1 = y * Math.Log2(x);
                break;
            default: r1 = y * Math.Log2(1 + x); break;
        }

        if (double.IsNaN(r1) && !double.IsNaN(x) && !double.IsNaN(y))
        {
            flags |= IE;
        }

        flags |= PE;
        if (!Commit(cpu, flags))
        {
            return;
        }

        switch (ins.Mnemonic)
        {
            case Mnemonic.Fsincos:
            case Mnemonic.Fptan:
                SetSt(cpu, 0, Float80.FromDouble(r2));
                Push(cpu, Float80.FromDouble(r1));
                break;
            case Mnemonic.Fpatan:
            case Mnemonic.Fyl2x:
            case Mnemonic.Fyl2xp1:
                SetSt(cpu, 1, Float80.FromDouble(r1));
                Pop(cpu);
                break;
            default:
                SetSt(cpu, 0, Float80.FromDouble(r1));
                break;
        }
    }
}
