using System.Numerics;
using static Emulator.Jit.Instructions.MxcsrArithmetic;

namespace Emulator.Jit.Instructions;

/// <summary>A binary floating-point format: significand bits (with the hidden one) and the normal exponent range.</summary>
internal readonly record struct FloatFormat(int Precision, int MinExponent, int MaxExponent)
{
    public static readonly FloatFormat Half = new(11, -14, 15);
    public static readonly FloatFormat Single = new(24, -126, 127);
    public static readonly FloatFormat Double = new(53, -1022, 1023);

    /// <summary>Bits of the biased exponent field (5, 8, 11).</summary>
    public int ExponentBits => 64 - BitOperations.LeadingZeroCount((ulong)MaxExponent) + 1;

    /// <summary>Total width of the encoding (16, 32, 64).</summary>
    public int Width => ExponentBits + Precision;

    /// <summary>The encoding of an infinity.</summary>
    public ulong Infinity(bool negative) => Sign(negative) | ((ulong)((2 * MaxExponent) + 1) << (Precision - 1));

    /// <summary>The encoding of the largest finite number.</summary>
    public ulong Largest(bool negative) => Infinity(negative) - 1;

    public ulong Sign(bool negative) => negative ? 1UL << (Width - 1) : 0;
}

/// <summary>
/// Rounding of an exactly known real number (sign, integer significand, binary exponent) to a
/// binary format under MXCSR (Intel SDM Vol. 1 4.8.4, 4.9.1.4-4.9.1.6, 11.5.2): the four rounding
/// modes, overflow to infinity or the largest finite number, tininess detected on the result
/// rounded with an unbounded exponent (Vol. 1 11.5.2.5), underflow reported when masked only for a
/// tiny inexact result, flush-to-zero, and the precision flag. Used where the host cannot give the
/// exact result of one operation in one rounding: the fused multiply-adds and the conversion to half
/// precision.
/// </summary>
internal static class ExactRounding
{
    /// <summary>
    /// The encoding in <paramref name="format"/> of (-1)^<paramref name="negative"/> * <paramref name="significand"/> * 2^<paramref name="exponent"/>
    /// (<paramref name="significand"/> &gt; 0), with the exception flags the rounding raises added to <paramref name="flags"/>.
    /// </summary>
    public static ulong Round(bool negative, BigInteger significand, int exponent, FloatFormat format, int mode, uint mxcsr, bool flushToZero, ref uint flags)
    {
        int p = format.Precision;
        long top = exponent + (long)significand.GetBitLength() - 1;

        // Tininess: the result rounded to p bits with an unbounded exponent is below the smallest normal.
        (BigInteger unbounded, _) = RoundTo(significand, exponent, (int)(top - (p - 1)), negative, mode);
        bool tiny = top - (p - 1) + (long)unbounded.GetBitLength() - 1 < format.MinExponent;

        int lsb = (int)Math.Max(top - (p - 1), format.MinExponent - (p - 1));
        (BigInteger m, bool inexact) = RoundTo(significand, exponent, lsb, negative, mode);
        if (m.GetBitLength() > p)
        {
            m >>= 1;
            lsb++;
        }

        if (lsb + (long)m.GetBitLength() - 1 > format.MaxExponent)
        {
            // Overflow (Intel SDM Vol. 1 Table 4-10): infinity when rounding away from zero in the result's direction, else the largest finite number.
            flags |= OE | PE;
            bool toInfinity = mode == RoundNearest || (mode == RoundUp && !negative) || (mode == RoundDown && negative);
            return toInfinity ? format.Infinity(negative) : format.Largest(negative);
        }

        if (tiny)
        {
            if ((mxcsr & (UE << 7)) == 0)
            {
                flags |= UE;
            }
            else if (flushToZero && (mxcsr & Ftz) != 0)
            {
                flags |= UE | PE;
                return format.Sign(negative);
            }
            else if (inexact)
            {
                flags |= UE;
            }
        }

        if (inexact)
        {
            flags |= PE;
        }

        ulong bits = (ulong)m;
        if (m.GetBitLength() == p)
        {
            // Normal: the biased exponent of the leading bit, the hidden bit dropped.
            ulong biased = (ulong)(lsb + (p - 1) + format.MaxExponent);
            bits = (biased << (p - 1)) | (bits & ((1UL << (p - 1)) - 1));
        }

        return format.Sign(negative) | bits;
    }

    /// <summary>The significand of the value rounded to a multiple of 2^<paramref name="lsb"/>, and whether that lost bits.</summary>
    private static (BigInteger Significand, bool Inexact) RoundTo(BigInteger n, int exponent, int lsb, bool negative, int mode)
    {
        if (exponent >= lsb)
        {
            return (n << (exponent - lsb), false);
        }

        int shift = lsb - exponent;
        BigInteger m = n >> shift;
        BigInteger remainder = n - (m << shift);
        if (remainder.IsZero)
        {
            return (m, false);
        }

        int half = remainder.CompareTo(BigInteger.One << (shift - 1));
        bool up = mode switch
        {
            RoundNearest => half > 0 || (half == 0 && !m.IsEven),
            RoundUp => !negative,
            RoundDown => negative,
            _ => false,
        };
        return (up ? m + 1 : m, true);
    }
}
