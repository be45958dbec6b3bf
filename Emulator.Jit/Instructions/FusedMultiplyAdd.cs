using System.Numerics;
using static Emulator.Jit.Instructions.MxcsrArithmetic;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The fused multiply-add of the FMA instructions under MXCSR (Intel SDM Vol. 1 14.5.2, Tables
/// 14-16 and 14-17): (±x·y) ± z with a single rounding. A NaN operand gives the quieted first NaN
/// of x, y, z (not negated); an SNaN anywhere is invalid; ∞·0, and ∞ minus ∞ after the
/// multiplication, are invalid and give the default NaN; an exact zero sum is +0 (−0 when rounding
/// down) unless both terms are zeros of the same sign. Denormal operands are zeroed under DAZ or
/// raise DE. Finite results come from the exact sum (integer arithmetic) through
/// <see cref="ExactRounding"/>; in the common case (round to nearest, PE already set and masked, a
/// result far from the underflow and overflow thresholds) the host's fused multiply-add gives the
/// same bits and no flag the instruction could add.
/// </summary>
internal static class FusedMultiplyAdd
{
    public static double Double(double x, double y, double z, bool negateProduct, bool negateAddend, uint mxcsr, ref uint flags) =>
        Compute<double, DoubleFormat>(x, y, z, negateProduct, negateAddend, mxcsr, ref flags);

    public static float Single(float x, float y, float z, bool negateProduct, bool negateAddend, uint mxcsr, ref uint flags) =>
        Compute<float, SingleFormat>(x, y, z, negateProduct, negateAddend, mxcsr, ref flags);

    // One algorithm for both widths; TFormat supplies what IEEE 754 generic math does not (the
    // encoding's quiet bit, MXCSR's denormal handling, the format for exact rounding). The JIT
    // specializes the method for each value type, so this is the code two copies would be.
    private static T Compute<T, TFormat>(T x, T y, T z, bool negateProduct, bool negateAddend, uint mxcsr, ref uint flags)
        where T : IBinaryFloatingPointIeee754<T>
        where TFormat : IMxcsrFormat<T>
    {
        if (T.IsNaN(x) || T.IsNaN(y) || T.IsNaN(z))
        {
            if (TFormat.IsSignalingNaN(x) || TFormat.IsSignalingNaN(y) || TFormat.IsSignalingNaN(z))
            {
                flags |= IE;
            }

            return TFormat.Quiet(T.IsNaN(x) ? x : T.IsNaN(y) ? y : z);
        }

        uint denormal = 0;
        x = TFormat.Operand(x, mxcsr, ref denormal);
        y = TFormat.Operand(y, mxcsr, ref denormal);
        z = TFormat.Operand(z, mxcsr, ref denormal);
        T px = negateProduct ? -x : x, pz = negateAddend ? -z : z;
        if (FastPath(mxcsr))
        {
            T r = T.FusedMultiplyAdd(px, y, pz);
            if (T.IsFinite(r) && T.Abs(r) >= TFormat.SmallestFast && T.Abs(r) <= TFormat.LargestFast)
            {
                flags |= denormal;
                return r;
            }
        }

        uint result = 0;
        ulong bits = Finite(double.CreateTruncating(px), double.CreateTruncating(y), double.CreateTruncating(pz), TFormat.Format, mxcsr, ref result);
        flags |= Merge(result, denormal);
        return TFormat.FromBits(bits);
    }

    // Round to nearest with the precision flag already set and masked: an inexact result adds nothing.
    private static bool FastPath(uint mxcsr) => RoundingMode(mxcsr) == RoundNearest && (mxcsr & (PE | (PE << 7))) == (PE | (PE << 7));

    /// <summary>x·y + z for operands that are not NaNs (denormals already handled), as an encoding of <paramref name="format"/>.</summary>
    private static ulong Finite(double x, double y, double z, FloatFormat format, uint mxcsr, ref uint flags)
    {
        bool productNegative = double.IsNegative(x) != double.IsNegative(y);
        bool productInfinite = double.IsInfinity(x) || double.IsInfinity(y);
        bool productZero = x == 0 || y == 0;
        ulong indefinite = format == FloatFormat.Single ? SingleIndefinite : DoubleIndefinite;
        if (productInfinite && productZero)
        {
            flags |= IE;
            return indefinite;
        }

        if (productInfinite)
        {
            if (double.IsInfinity(z) && double.IsNegative(z) != productNegative)
            {
                flags |= IE;
                return indefinite;
            }

            return format.Infinity(productNegative);
        }

        if (double.IsInfinity(z))
        {
            return format.Infinity(double.IsNegative(z));
        }

        int mode = RoundingMode(mxcsr);
        if (productZero && z == 0)
        {
            // Table 14-16: zeros of the same sign keep it; of opposite signs give -0 only when rounding down.
            bool negative = productNegative == double.IsNegative(z) ? productNegative : mode == RoundDown;
            return format.Sign(negative);
        }

        (ulong mx, int ex) = Decompose(x);
        (ulong my, int ey) = Decompose(y);
        (ulong mz, int ez) = Decompose(z);
        BigInteger product = productZero ? BigInteger.Zero : (BigInteger)((UInt128)mx * my);
        int ep = ex + ey;

        // A term far below the other's last bit only decides the rounding direction and inexactness:
        // replace it by a small value of the same sign, keeping the integers short.
        if (!productZero && z != 0)
        {
            if (ez < ep - 110)
            {
                (mz, ez) = (1, ep - 3);
            }
            else if (ep < ez - 170)
            {
                (product, ep) = (BigInteger.One, ez - 3);
            }
        }

        int e = productZero ? ez : z == 0 ? ep : Math.Min(ep, ez);
        BigInteger sum = BigInteger.Zero;
        if (!productZero)
        {
            sum += (productNegative ? -product : product) << (ep - e);
        }

        if (z != 0)
        {
            BigInteger addend = new BigInteger(mz) << (ez - e);
            sum += double.IsNegative(z) ? -addend : addend;
        }

        if (sum.IsZero)
        {
            // An exact zero sum of nonzero terms: +0, or -0 when rounding down (IEEE 754 6.3).
            return format.Sign(mode == RoundDown);
        }

        return ExactRounding.Round(sum.Sign < 0, BigInteger.Abs(sum), e, format, mode, mxcsr, flushToZero: true, ref flags);
    }

    /// <summary>A width's encoding and MXCSR handling, for <see cref="Compute{T, TFormat}"/>.</summary>
    private interface IMxcsrFormat<T>
    {
        static abstract FloatFormat Format { get; }

        // Results between these bounds are normal and finite in every rounding of the exact sum.
        static abstract T SmallestFast { get; }

        static abstract T LargestFast { get; }

        static abstract bool IsSignalingNaN(T v);

        static abstract T Quiet(T v);

        static abstract T Operand(T v, uint mxcsr, ref uint flags);

        static abstract T FromBits(ulong bits);
    }

    private readonly struct DoubleFormat : IMxcsrFormat<double>
    {
        public static FloatFormat Format => FloatFormat.Double;

        public static double SmallestFast { get; } = Math.ScaleB(1.0, -1020);

        public static double LargestFast { get; } = Math.ScaleB(1.0, 1022);

        public static bool IsSignalingNaN(double v) => MxcsrArithmetic.IsSignalingNaN(v);

        public static double Quiet(double v) => MxcsrArithmetic.Quiet(v);

        public static double Operand(double v, uint mxcsr, ref uint flags) => MxcsrArithmetic.Operand(v, mxcsr, ref flags);

        public static double FromBits(ulong bits) => BitConverter.UInt64BitsToDouble(bits);
    }

    private readonly struct SingleFormat : IMxcsrFormat<float>
    {
        public static FloatFormat Format => FloatFormat.Single;

        public static float SmallestFast { get; } = MathF.ScaleB(1f, -124);

        public static float LargestFast { get; } = MathF.ScaleB(1f, 126);

        public static bool IsSignalingNaN(float v) => MxcsrArithmetic.IsSignalingNaN(v);

        public static float Quiet(float v) => MxcsrArithmetic.Quiet(v);

        public static float Operand(float v, uint mxcsr, ref uint flags) => MxcsrArithmetic.Operand(v, mxcsr, ref flags);

        public static float FromBits(ulong bits) => BitConverter.UInt32BitsToSingle((uint)bits);
    }
}
