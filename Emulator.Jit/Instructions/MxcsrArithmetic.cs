using System.Runtime.CompilerServices;

namespace Emulator.Jit.Instructions;

/// <summary>The IEEE 754 operations of the SSE floating-point instructions.</summary>
internal enum FloatOp
{
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,

    /// <summary>Rounding of the first operand to the target precision (CVTSD2SS, CVTPD2PS).</summary>
    Narrow,
}

/// <summary>
/// IEEE 754 arithmetic under MXCSR control (Intel SDM Vol. 1 4.8, 4.9, 10.2.3, 11.5): rounding
/// control, DAZ and FTZ, the six exception flags and the SSE rules for NaN operands. The host
/// computes the round-to-nearest result; an exact comparison of that result against the infinitely
/// precise one (integer arithmetic on the significands) gives inexactness and the direction in
/// which the directed rounding modes step one unit in the last place.
/// Single-precision operations run on doubles: a double result of +, -, *, / or square root of
/// floats rounded again to float is correctly rounded (53 >= 2 * 24 + 2 bits).
/// </summary>
internal static class MxcsrArithmetic
{
    public const uint IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32, Daz = 1 << 6, Ftz = 1 << 15;
    public const int RoundNearest = 0, RoundDown = 1, RoundUp = 2, RoundZero = 3;
    public const ulong DoubleIndefinite = 0xfff8_0000_0000_0000;
    public const uint SingleIndefinite = 0xffc0_0000;

    public static int RoundingMode(uint mxcsr) => (int)(mxcsr >> 13) & 3;

    public static bool IsSignalingNaN(double v) => double.IsNaN(v) && (BitConverter.DoubleToUInt64Bits(v) & (1UL << 51)) == 0;

    public static bool IsSignalingNaN(float v) => float.IsNaN(v) && (BitConverter.SingleToUInt32Bits(v) & (1u << 22)) == 0;

    public static double Quiet(double v) => BitConverter.UInt64BitsToDouble(BitConverter.DoubleToUInt64Bits(v) | (1UL << 51));

    public static float Quiet(float v) => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(v) | (1u << 22));

    public static bool IsDenormal(double v) => v != 0 && double.IsSubnormal(v);

    public static bool IsDenormal(float v) => v != 0 && float.IsSubnormal(v);

    /// <summary>Denormal-operand handling: DAZ turns a denormal into a signed zero, else it raises DE (Intel SDM Vol. 1 10.2.3.4, 4.9.1.2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Operand(double v, uint mxcsr, ref uint flags)
    {
        if (double.IsSubnormal(v) && v != 0)
        {
            if ((mxcsr & Daz) != 0)
            {
                return double.CopySign(0, v);
            }

            flags |= DE;
        }

        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Operand(float v, uint mxcsr, ref uint flags)
    {
        if (float.IsSubnormal(v) && v != 0)
        {
            if ((mxcsr & Daz) != 0)
            {
                return float.CopySign(0, v);
            }

            flags |= DE;
        }

        return v;
    }

    /// <summary>
    /// The denormal-operand flag is reported only when the operation raises neither invalid nor
    /// divide-by-zero (measured on the host: a denormal divided by zero sets ZE alone, the square
    /// root of a negative denormal IE alone), and never with a NaN operand.
    /// </summary>
    public static uint Merge(uint result, uint denormal) => result | ((result & (IE | ZE)) == 0 ? denormal : 0);

    /// <summary>DAZ without the denormal flag: the conversions to integer and ROUNDxx do not report denormal operands (Intel SDM Vol. 2A CVTSD2SI, ROUNDPD exception lists).</summary>
    public static double DenormalsAreZero(double v, uint mxcsr) => (mxcsr & Daz) != 0 && double.IsSubnormal(v) ? double.CopySign(0, v) : v;

    public static float DenormalsAreZero(float v, uint mxcsr) => (mxcsr & Daz) != 0 && float.IsSubnormal(v) ? float.CopySign(0, v) : v;

    /// <summary>A double-precision operation; for <see cref="FloatOp.Sqrt"/> and <see cref="FloatOp.Narrow"/> only <paramref name="b"/> / <paramref name="a"/> counts.</summary>
    public static double Double(FloatOp op, double a, double b, uint mxcsr, ref uint flags)
    {
        // NaN operands: an SNaN is invalid; the result is the first NaN operand made quiet (Intel SDM Vol. 1 Table 4-7).
        if (op == FloatOp.Sqrt)
        {
            a = b;
        }

        bool unary = op is FloatOp.Sqrt or FloatOp.Narrow;
        if (double.IsNaN(a) || (!unary && double.IsNaN(b)))
        {
            if (IsSignalingNaN(a) || (!unary && IsSignalingNaN(b)))
            {
                flags |= IE;
            }

            return Quiet(double.IsNaN(a) ? a : b);
        }

        uint denormal = 0, result = 0;
        a = Operand(a, mxcsr, ref denormal);
        if (!unary)
        {
            b = Operand(b, mxcsr, ref denormal);
        }

        double r = Finite(op, a, b, single: false, mxcsr, ref result);
        flags |= Merge(result, denormal);
        return r;
    }

    /// <summary>A single-precision operation (arguments and result are floats held in doubles).</summary>
    public static float Single(FloatOp op, float a, float b, uint mxcsr, ref uint flags)
    {
        if (op == FloatOp.Sqrt)
        {
            a = b;
        }

        bool unary = op == FloatOp.Sqrt;
        if (float.IsNaN(a) || (!unary && float.IsNaN(b)))
        {
            if (IsSignalingNaN(a) || (!unary && IsSignalingNaN(b)))
            {
                flags |= IE;
            }

            return Quiet(float.IsNaN(a) ? a : b);
        }

        uint denormal = 0, result = 0;
        a = Operand(a, mxcsr, ref denormal);
        if (!unary)
        {
            b = Operand(b, mxcsr, ref denormal);
        }

        float r = (float)Finite(op, a, b, single: true, mxcsr, ref result);
        flags |= Merge(result, denormal);
        return r;
    }

    /// <summary>CVTSD2SS: double to single with rounding, NaN made quiet (its significand truncated).</summary>
    public static float Narrow(double a, uint mxcsr, ref uint flags)
    {
        if (double.IsNaN(a))
        {
            if (IsSignalingNaN(a))
            {
                flags |= IE;
            }

            ulong bits = BitConverter.DoubleToUInt64Bits(a);
            return BitConverter.UInt32BitsToSingle((uint)((bits >> 63) << 31) | 0x7fc0_0000 | (uint)((bits >> 29) & 0x3f_ffff));
        }

        a = Operand(a, mxcsr, ref flags);
        return (float)Finite(FloatOp.Narrow, a, 0, single: true, mxcsr, ref flags);
    }

    /// <summary>CVTSS2SD: exact, NaN made quiet.</summary>
    public static double Widen(float a, uint mxcsr, ref uint flags)
    {
        if (float.IsNaN(a))
        {
            if (IsSignalingNaN(a))
            {
                flags |= IE;
            }

            uint bits = BitConverter.SingleToUInt32Bits(a);
            return BitConverter.UInt64BitsToDouble(((ulong)(bits >> 31) << 63) | 0x7ff8_0000_0000_0000UL | ((ulong)(bits & 0x3f_ffff) << 29));
        }

        return Operand(a, mxcsr, ref flags);
    }

    /// <summary>Non-NaN operands (denormals already handled). Computes the correctly rounded result and its flags.</summary>
    private static double Finite(FloatOp op, double a, double b, bool single, uint mxcsr, ref uint flags)
    {
        if (op == FloatOp.Sub)
        {
            b = -b;
            op = FloatOp.Add;
        }

        // Invalid operations and division by zero (Intel SDM Vol. 1 4.9.1.2, 4.9.1.3).
        switch (op)
        {
            case FloatOp.Add when double.IsInfinity(a) && double.IsInfinity(b) && a != b:
            case FloatOp.Mul when (double.IsInfinity(a) && b == 0) || (a == 0 && double.IsInfinity(b)):
            case FloatOp.Div when (a == 0 && b == 0) || (double.IsInfinity(a) && double.IsInfinity(b)):
            case FloatOp.Sqrt when a < 0:
                flags |= IE;
                return single ? BitConverter.UInt32BitsToSingle(SingleIndefinite) : BitConverter.UInt64BitsToDouble(DoubleIndefinite);
            case FloatOp.Div when b == 0 && !double.IsInfinity(a):
                flags |= ZE;
                return double.IsNegative(a) != double.IsNegative(b) ? double.NegativeInfinity : double.PositiveInfinity;
        }

        int mode = RoundingMode(mxcsr);
        double d = op switch
        {
            FloatOp.Add => a + b,
            FloatOp.Mul => a * b,
            FloatOp.Div => a / b,
            FloatOp.Sqrt => Math.Sqrt(a),
            _ => a,
        };

        bool operandsFinite = double.IsFinite(a) && (op is FloatOp.Sqrt or FloatOp.Narrow || double.IsFinite(b));
        if (!operandsFinite)
        {
            // Operations on infinities are exact.
            return d;
        }

        if (op == FloatOp.Add && d == 0)
        {
            // An exact zero sum of operands of opposite sign is -0 only when rounding down (Intel SDM Vol. 1 4.8.3.5... IEEE 754 6.3).
            bool bothNegativeZero = a == 0 && b == 0 && double.IsNegative(a) && double.IsNegative(b);
            return bothNegativeZero || (mode == RoundDown && !(a == 0 && b == 0 && !double.IsNegative(a) && !double.IsNegative(b))) ? -0.0 : 0.0;
        }

        double r = single ? (float)d : d;
        double max = single ? float.MaxValue : double.MaxValue;
        if (double.IsInfinity(r))
        {
            // Round to nearest overflowed. Overflow (Intel SDM Vol. 1 4.9.1.4, Table 4-10) is the result
            // rounded with an unbounded exponent exceeding the largest finite number: when rounding toward
            // zero, that is only when the exact result reaches 2^(emax+1).
            bool negative = r < 0;
            bool towardZero = mode == RoundZero || (mode == RoundDown && !negative) || (mode == RoundUp && negative);
            if (towardZero)
            {
                flags |= ReachesOverflowThreshold(op, a, b, d, single) ? OE | PE : PE;
                return negative ? -max : max;
            }

            flags |= OE | PE;
            return r;
        }

        int magnitudeDirection = MagnitudeDirection(op, a, b, d, r);
        if (magnitudeDirection != 0 && mode != RoundNearest)
        {
            // Directed rounding: step one unit in the last place when the nearest result lies on the wrong side.
            int direction = r < 0 || (r == 0 && double.IsNegative(d)) ? -magnitudeDirection : magnitudeDirection;
            bool stepUp = mode switch
            {
                RoundUp => direction > 0,
                RoundZero => magnitudeDirection < 0 && r < 0,
                _ => false,
            };
            bool stepDown = mode switch
            {
                RoundDown => direction < 0,
                RoundZero => magnitudeDirection < 0 && r > 0,
                _ => false,
            };
            if (stepUp)
            {
                r = single ? MathF.BitIncrement((float)r) : Math.BitIncrement(r);
            }
            else if (stepDown)
            {
                r = single ? MathF.BitDecrement((float)r) : Math.BitDecrement(r);
            }

            if (double.IsInfinity(r))
            {
                flags |= OE | PE;
                return r;
            }
        }

        if (magnitudeDirection != 0)
        {
            flags |= PE;
        }

        // Underflow: a tiny nonzero result (tininess taken on the rounded result, Intel SDM Vol. 1 4.9.1.5).
        double minNormal = single ? 1.17549435e-38 : 2.2250738585072014E-308;
        bool tiny = Math.Abs(r) < minNormal && (r != 0 || magnitudeDirection != 0);
        if (tiny)
        {
            bool underflowMasked = (mxcsr & (UE << 7)) != 0;
            if (!underflowMasked)
            {
                flags |= UE;
            }
            else if ((mxcsr & Ftz) != 0)
            {
                flags |= UE | PE;
                return double.CopySign(0, r == 0 ? d : r);
            }
            else if (magnitudeDirection != 0)
            {
                flags |= UE;
            }
        }

        return r;
    }

    /// <summary>True when |exact result| >= 2^128 (single) or 2^1024 (double); called only when the nearest result overflowed.</summary>
    private static bool ReachesOverflowThreshold(FloatOp op, double a, double b, double d, bool single)
    {
        int threshold = single ? 128 : 1024;
        switch (op)
        {
            case FloatOp.Mul:
            {
                (ulong ma, int ea) = Decompose(a);
                (ulong mb, int eb) = Decompose(b);
                return CompareScaled((UInt128)ma * mb, ea + eb, 1, threshold) >= 0;
            }

            case FloatOp.Div:
            {
                (ulong ma, int ea) = Decompose(a);
                (ulong mb, int eb) = Decompose(b);
                return CompareScaled(ma, ea, mb, eb + threshold) >= 0;
            }

            case FloatOp.Add:
            {
                // Halving is exact for operands this large; TwoSum of the halves gives the exact half sum.
                double ha = a * 0.5, hb = b * 0.5;
                double h = ha + hb;
                double bb = h - ha;
                double err = (ha - (h - bb)) + (hb - bb);
                double half = Math.ScaleB(1, threshold - 1);
                return Math.Abs(h) > half || (Math.Abs(h) == half && (err == 0 || (err > 0) == (h > 0)));
            }

            default:
                return Math.Abs(single ? d : a) >= Math.ScaleB(1, threshold);
        }
    }

    /// <summary>Sign of |exact| - |r|, where exact is the infinitely precise result of the operation.</summary>
    private static int MagnitudeDirection(FloatOp op, double a, double b, double d, double r)
    {
        switch (op)
        {
            case FloatOp.Add:
            {
                // Fast2Sum (Dekker) with the larger operand first: d + err == a + b exactly, and unlike
                // TwoSum no intermediate can overflow when d is finite.
                (double big, double small) = Math.Abs(a) >= Math.Abs(b) ? (a, b) : (b, a);
                double err = small - (d - big);
                if (r != d)
                {
                    return Math.Abs(d) > Math.Abs(r) ? 1 : -1;
                }

                return err == 0 ? 0 : (err > 0) == (d > 0) ? 1 : -1;
            }

            case FloatOp.Mul:
            {
                if (a == 0 || b == 0)
                {
                    return 0;
                }

                (ulong ma, int ea) = Decompose(a);
                (ulong mb, int eb) = Decompose(b);
                (ulong mr, int er) = Decompose(r);
                return CompareScaled((UInt128)ma * mb, ea + eb, mr, er);
            }

            case FloatOp.Div:
            {
                if (a == 0)
                {
                    return 0;
                }

                // |a| / |b| vs |r|  <=>  |a| vs |r| * |b|
                (ulong ma, int ea) = Decompose(a);
                (ulong mb, int eb) = Decompose(b);
                (ulong mr, int er) = Decompose(r);
                return CompareScaled(ma, ea, (UInt128)mr * mb, er + eb);
            }

            case FloatOp.Sqrt:
            {
                if (a == 0)
                {
                    return 0;
                }

                (ulong ma, int ea) = Decompose(a);
                (ulong mr, int er) = Decompose(r);
                int c = CompareScaled(ma, ea, (UInt128)mr * mr, 2 * er);
                return c;
            }

            default:
                return r == a ? 0 : Math.Abs(a) > Math.Abs(r) ? 1 : -1;
        }
    }

    /// <summary>|v| as significand * 2^exponent with an integer significand.</summary>
    public static (ulong Significand, int Exponent) Decompose(double v)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(v);
        int e = (int)(bits >> 52) & 0x7ff;
        ulong m = bits & ((1UL << 52) - 1);
        return e == 0 ? (m, -1074) : (m | (1UL << 52), e - 1075);
    }

    /// <summary>Sign of x * 2^ex - y * 2^ey for x, y below 2^127.</summary>
    public static int CompareScaled(UInt128 x, int ex, UInt128 y, int ey)
    {
        if (x == 0 || y == 0)
        {
            return x == y ? 0 : x == 0 ? -1 : 1;
        }

        int lx = 128 - (int)UInt128.LeadingZeroCount(x) + ex;
        int ly = 128 - (int)UInt128.LeadingZeroCount(y) + ey;
        if (lx != ly)
        {
            return lx > ly ? 1 : -1;
        }

        // Same top bit position: shift the one with the larger exponent left so both share the smaller exponent.
        if (ex > ey)
        {
            x <<= ex - ey;
        }
        else
        {
            y <<= ey - ex;
        }

        return x.CompareTo(y);
    }

    /// <summary>Rounds to an integer in the MXCSR rounding mode (or toward zero for the truncating forms).</summary>
    public static double RoundToIntegral(double v, int mode) => mode switch
    {
        RoundDown => Math.Floor(v),
        RoundUp => Math.Ceiling(v),
        RoundZero => Math.Truncate(v),
        _ => Math.Round(v, MidpointRounding.ToEven),
    };

    /// <summary>
    /// CVT(T)SD2SI / CVT(T)SS2SI and the packed forms: a NaN or a result out of range gives the integer
    /// indefinite value and IE (Intel SDM Vol. 1 4.8.3.7, Table 4-8).
    /// </summary>
    public static long ToInteger(double v, int bits, int mode, ref uint flags)
    {
        long indefinite = bits == 32 ? int.MinValue : long.MinValue;
        if (double.IsNaN(v))
        {
            flags |= IE;
            return indefinite;
        }

        double rounded = RoundToIntegral(v, mode);
        double limit = bits == 32 ? 2147483648.0 : 9223372036854775808.0;
        if (rounded >= limit || rounded < -limit)
        {
            flags |= IE;
            return indefinite;
        }

        if (rounded != v)
        {
            flags |= PE;
        }

        return (long)rounded;
    }

    /// <summary>CVTSI2SD / CVTSI2SS: an integer to floating point in the MXCSR rounding mode.</summary>
    public static double FromInteger(long v, bool single, int mode, ref uint flags)
    {
        // The host conversions (CVTSI2SD/CVTSI2SS under .NET's default MXCSR) round to nearest.
        double r = single ? (float)v : (double)v;
        Int128 exact = v;
        Int128 got = (Int128)r;
        if (got == exact)
        {
            return r;
        }

        flags |= PE;
        if (mode == RoundNearest)
        {
            return r;
        }

        bool below = got < exact;
        double lower = below ? r : Step(r, single, up: false);
        double upper = below ? Step(r, single, up: true) : r;
        return mode switch
        {
            RoundDown => lower,
            RoundUp => upper,
            _ => exact < 0 ? upper : lower,
        };
    }

    private static double Step(double v, bool single, bool up) =>
        single ? (up ? MathF.BitIncrement((float)v) : MathF.BitDecrement((float)v)) : (up ? Math.BitIncrement(v) : Math.BitDecrement(v));
}
