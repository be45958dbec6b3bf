using System.Numerics;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The x87 double extended-precision format (Intel SDM Vol. 1 4.2.2, Table 4-3): a 64-bit
/// significand with an explicit integer bit and a 15-bit exponent biased by 16383. Conversions to
/// and from the memory formats are exact bit manipulations with the rounding of the FCW/MXCSR
/// rounding-control field (Vol. 1 4.8.4); flags use the shared bit positions of FSW and MXCSR
/// (IE=1, DE=2, ZE=4, OE=8, UE=16, PE=32).
/// </summary>
internal readonly record struct Float80(ulong Significand, ushort SignExponent)
{
    public const int Bias = 16383;
    public const ulong IntegerBit = 1UL << 63;

    public static readonly Float80 Indefinite = new(0xc000_0000_0000_0000, 0xffff);
    public static readonly Float80 One = new(IntegerBit, Bias);

    public bool Negative => (SignExponent & 0x8000) != 0;

    public int Exponent => SignExponent & 0x7fff;

    public bool IsZero => Exponent == 0 && Significand == 0;

    public bool IsNaN => Exponent == 0x7fff && (Significand << 1) != 0;

    public bool IsSignalingNaN => IsNaN && (Significand & (1UL << 62)) == 0;

    public bool IsInfinity => Exponent == 0x7fff && (Significand << 1) == 0;

    /// <summary>Denormal or pseudo-denormal: exponent field zero, significand nonzero.</summary>
    public bool IsDenormal => Exponent == 0 && Significand != 0;

    /// <summary>Unnormals, pseudo-NaNs and pseudo-infinities: invalid operands since the 387 (Intel SDM Vol. 1 8.2.2).</summary>
    public bool IsUnsupported => Exponent != 0 && (Significand & IntegerBit) == 0;

    public bool IsFiniteNonZero => Exponent != 0x7fff && !IsZero;

    public Float80 Quiet() => this with { Significand = Significand | (1UL << 62) };

    public Float80 Negate() => this with { SignExponent = (ushort)(SignExponent ^ 0x8000) };

    public Float80 Abs() => this with { SignExponent = (ushort)(SignExponent & 0x7fff) };

    public static Float80 Zero(bool negative) => new(0, negative ? (ushort)0x8000 : (ushort)0);

    public static Float80 Infinity(bool negative) => new(IntegerBit, (ushort)(negative ? 0xffff : 0x7fff));

    /// <summary>Exact widening of a double (Intel SDM Vol. 1 4.2.2); SNaNs stay signalling here, callers quiet them.</summary>
    public static Float80 FromDouble(double d)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(d);
        ushort sign = (ushort)((bits >> 48) & 0x8000);
        int e = (int)(bits >> 52) & 0x7ff;
        ulong f = bits & ((1UL << 52) - 1);
        if (e == 0x7ff)
        {
            return new Float80(IntegerBit | (f << 11), (ushort)(sign | 0x7fff));
        }

        if (e == 0)
        {
            if (f == 0)
            {
                return new Float80(0, sign);
            }

            int shift = BitOperations.LeadingZeroCount(f);
            return new Float80(f << shift, (ushort)(sign | (Bias - 1023 + 1 + 11 - shift)));
        }

        return new Float80(IntegerBit | (f << 11), (ushort)(sign | (e - 1023 + Bias)));
    }

    public static Float80 FromSingle(float f) => FromDouble(f);

    /// <summary>Exact conversion of a signed integer (FILD).</summary>
    public static Float80 FromInteger(long v)
    {
        if (v == 0)
        {
            return Zero(false);
        }

        ulong m = v < 0 ? (ulong)-v : (ulong)v;
        int shift = BitOperations.LeadingZeroCount(m);
        return new Float80(m << shift, (ushort)((v < 0 ? 0x8000 : 0) | (Bias + 63 - shift)));
    }

    /// <summary>The value as significand * 2^exponent with the integer significand normalised to bit 63 (finite nonzero values).</summary>
    public (ulong Significand, int Exponent) Normalized()
    {
        int e = Exponent == 0 ? 1 : Exponent;
        ulong m = Significand;
        int shift = BitOperations.LeadingZeroCount(m);
        return (m << shift, e - Bias - 63 - shift);
    }

    /// <summary>
    /// Rounds a finite nonzero value to a binary format with <paramref name="precision"/> significand
    /// bits and the given exponent range, in rounding mode <paramref name="mode"/> (0 nearest,
    /// 1 down, 2 up, 3 toward zero). Returns the rounded significand (with its integer bit) and the
    /// unbiased exponent of its lowest bit, or overflow. Tininess is detected after rounding.
    /// </summary>
    public static (ulong Significand, int Exponent, bool Overflow) Round(bool negative, ulong m, int e, int precision, int minExponent, int maxExponent, int mode, ref uint flags)
    {
        // Value = m * 2^e with bit 63 of m set; the leading bit has weight 2^(e + 63).
        int top = e + 63;
        int keep = precision;
        if (top < minExponent)
        {
            keep = precision - (minExponent - top);
        }

        int drop = 64 - keep;
        ulong kept, rest;
        bool halfway, aboveHalf;
        if (drop >= 65)
        {
            kept = 0;
            rest = m;
            halfway = false;
            aboveHalf = false;
        }
        else if (drop == 64)
        {
            kept = 0;
            rest = m;
            halfway = m == IntegerBit;
            aboveHalf = m > IntegerBit;
        }
        else
        {
            kept = drop == 0 ? m : m >> drop;
            rest = drop == 0 ? 0 : m & ((1UL << drop) - 1);
            ulong half = drop == 0 ? 0 : 1UL << (drop - 1);
            halfway = drop != 0 && rest == half;
            aboveHalf = drop != 0 && rest > half;
        }

        bool inexact = rest != 0;
        bool increment = mode switch
        {
            0 => aboveHalf || (halfway && (kept & 1) != 0),
            1 => inexact && negative,
            2 => inexact && !negative,
            _ => false,
        };
        int lowExponent = top < minExponent ? minExponent - precision + 1 : e + drop;
        if (increment)
        {
            kept++;
            if (keep == precision && (keep == 64 ? kept == 0 : kept == 1UL << keep))
            {
                // Carry out of the top bit: one bit more, the exponent one higher.
                kept = keep == 64 ? IntegerBit : kept >> 1;
                lowExponent++;
            }
        }

        if (inexact)
        {
            flags |= MxcsrArithmetic.PE;
            int resultTop = kept == 0 ? int.MinValue : lowExponent + 63 - BitOperations.LeadingZeroCount(kept);
            if (resultTop < minExponent)
            {
                flags |= MxcsrArithmetic.UE;
            }
        }

        if (kept != 0 && lowExponent + 63 - BitOperations.LeadingZeroCount(kept) > maxExponent)
        {
            flags |= MxcsrArithmetic.OE | MxcsrArithmetic.PE;
            return (0, 0, true);
        }

        return (kept, lowExponent, false);
    }

    /// <summary>FST m64 / conversion for arithmetic: rounds to double in mode <paramref name="mode"/>.</summary>
    public double ToDouble(int mode, ref uint flags)
    {
        if (Exponent == 0x7fff)
        {
            ulong sign = Negative ? 1UL << 63 : 0;
            if (IsInfinity)
            {
                return BitConverter.UInt64BitsToDouble(sign | 0x7ff0_0000_0000_0000);
            }

            return BitConverter.UInt64BitsToDouble(sign | 0x7ff0_0000_0000_0000 | ((Significand << 1) >> 12) | (IsSignalingNaN ? 0 : 1UL << 51));
        }

        if (IsZero)
        {
            return Negative ? -0.0 : 0.0;
        }

        (ulong m, int e) = Normalized();
        (ulong kept, int low, bool overflow) = Round(Negative, m, e, 53, -1022, 1023, mode, ref flags);
        if (overflow)
        {
            return OverflowResult(Negative, mode, double.MaxValue);
        }

        double r = Math.ScaleB(kept, low);
        return Negative ? -r : r;
    }

    /// <summary>FST m32: rounds to single in mode <paramref name="mode"/>.</summary>
    public float ToSingle(int mode, ref uint flags)
    {
        if (Exponent == 0x7fff)
        {
            uint sign = Negative ? 1u << 31 : 0;
            return IsInfinity
                ? BitConverter.UInt32BitsToSingle(sign | 0x7f80_0000)
                : BitConverter.UInt32BitsToSingle(sign | 0x7f80_0000 | (uint)((Significand << 1) >> 41) | (IsSignalingNaN ? 0 : 1u << 22));
        }

        if (IsZero)
        {
            return Negative ? -0f : 0f;
        }

        (ulong m, int e) = Normalized();
        (ulong kept, int low, bool overflow) = Round(Negative, m, e, 24, -126, 127, mode, ref flags);
        if (overflow)
        {
            return (float)OverflowResult(Negative, mode, float.MaxValue);
        }

        float r = (float)Math.ScaleB(kept, low);
        return Negative ? -r : r;
    }

    /// <summary>Rounds to the extended format itself (64 bits, exponent range of Table 4-3).</summary>
    public static Float80 FromParts(bool negative, ulong m, int e, int mode, ref uint flags)
    {
        int shift = BitOperations.LeadingZeroCount(m);
        m <<= shift;
        e -= shift;
        (ulong kept, int low, bool overflow) = Round(negative, m, e, 64, 1 - Bias, Bias, mode, ref flags);
        ushort sign = negative ? (ushort)0x8000 : (ushort)0;
        if (overflow)
        {
            bool towardZero = mode == 3 || (mode == 1 && !negative) || (mode == 2 && negative);
            return towardZero ? new Float80(ulong.MaxValue, (ushort)(sign | 0x7ffe)) : Infinity(negative);
        }

        if (kept == 0)
        {
            return new Float80(0, sign);
        }

        int z = BitOperations.LeadingZeroCount(kept);
        int biased = low + 63 - z + Bias;
        if (biased <= 0)
        {
            // Extended denormal: the exponent field is 0 and the significand is aligned to 2^(1 - Bias - 63).
            return new Float80(kept << (low - (1 - Bias - 63)), sign);
        }

        return new Float80(kept << z, (ushort)(sign | biased));
    }

    /// <summary>Converts a finite double scaled by 2^<paramref name="scale"/> to extended (exact unless the extended range is exceeded).</summary>
    public static Float80 FromScaledDouble(double d, int scale, int mode, ref uint flags)
    {
        if (d == 0 || !double.IsFinite(d))
        {
            return FromDouble(d);
        }

        (ulong m, int e) = MxcsrArithmetic.Decompose(d);
        return FromParts(d < 0, m, e + scale, mode, ref flags);
    }

    /// <summary>FIST/FISTP/FISTTP: rounds to an integer of <paramref name="bits"/> bits; NaN, infinity and out of range give the integer indefinite value and IE.</summary>
    public long ToInteger(int bits, int mode, ref uint flags)
    {
        long indefinite = bits switch { 16 => short.MinValue, 32 => int.MinValue, _ => long.MinValue };
        if (Exponent == 0x7fff || IsUnsupported)
        {
            flags |= MxcsrArithmetic.IE;
            return indefinite;
        }

        if (IsZero)
        {
            return 0;
        }

        (ulong m, int e) = Normalized();
        UInt128 magnitude;
        if (e >= 0)
        {
            if (e > 0)
            {
                flags |= MxcsrArithmetic.IE;
                return indefinite;
            }

            magnitude = m;
        }
        else
        {
            int shift = -e;
            UInt128 wide = m;
            UInt128 kept = shift >= 128 ? 0 : wide >> shift;
            UInt128 rest = shift >= 128 ? wide : wide - (kept << shift);
            UInt128 half = shift > 127 ? UInt128.MaxValue : (UInt128)1 << (shift - 1);
            bool inexact = rest != 0;
            bool increment = mode switch
            {
                0 => shift <= 127 && (rest > half || (rest == half && (kept & 1) != 0)),
                1 => inexact && Negative,
                2 => inexact && !Negative,
                _ => false,
            };
            if (inexact)
            {
                flags |= MxcsrArithmetic.PE;
            }

            magnitude = kept + (increment ? 1u : 0u);
        }

        UInt128 limit = (UInt128)1 << (bits - 1);
        if (magnitude > limit || (magnitude == limit && !Negative))
        {
            flags = (flags & ~MxcsrArithmetic.PE) | MxcsrArithmetic.IE;
            return indefinite;
        }

        long r = (long)(ulong)magnitude;
        return Negative ? -r : r;
    }

    /// <summary>Orders two non-NaN values: -1, 0, 1.</summary>
    public static int Compare(Float80 a, Float80 b)
    {
        if (a.IsZero && b.IsZero)
        {
            return 0;
        }

        if (a.Negative != b.Negative)
        {
            return a.Negative ? -1 : 1;
        }

        int magnitude = CompareMagnitude(a, b);
        return a.Negative ? -magnitude : magnitude;
    }

    private static int CompareMagnitude(Float80 a, Float80 b)
    {
        if (a.IsInfinity || b.IsInfinity)
        {
            return a.IsInfinity == b.IsInfinity ? 0 : a.IsInfinity ? 1 : -1;
        }

        if (a.IsZero || b.IsZero)
        {
            return a.IsZero == b.IsZero ? 0 : a.IsZero ? -1 : 1;
        }

        (ulong ma, int ea) = a.Normalized();
        (ulong mb, int eb) = b.Normalized();
        return ea != eb ? ea.CompareTo(eb) : ma.CompareTo(mb);
    }

    private static double OverflowResult(bool negative, int mode, double max)
    {
        bool towardZero = mode == 3 || (mode == 1 && !negative) || (mode == 2 && negative);
        double r = towardZero ? max : double.PositiveInfinity;
        return negative ? -r : r;
    }
}
