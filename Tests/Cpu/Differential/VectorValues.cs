namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Seeded random contents for XMM/YMM registers and SIMD memory operands: each quadword is random
/// bits, two singles or one double, the floating-point values drawn with the IEEE 754 edge cases
/// weighted in (signed zeros, infinities, quiet and signalling NaNs with random payloads, denormals,
/// the smallest and largest normals, 1, small integers, values near powers of two), or integer edge
/// values (<see cref="EdgeValues"/>); and MXCSR values with every rounding mode, DAZ and FTZ.
/// </summary>
internal static class VectorValues
{
    public static ulong Next(Random rng) => rng.Next(4) switch
    {
        0 => EdgeValues.Next(rng),
        1 => Single(rng) | ((ulong)Single(rng) << 32),
        2 => Double(rng),
        _ => EdgeValues.Random64(rng),
    };

    private static readonly BinaryFormat SingleFormat = new(23, 8, (100, 155), (1, 30), rng => (ulong)rng.Next(1 << 23), v => BitConverter.SingleToUInt32Bits(v));
    private static readonly BinaryFormat DoubleFormat = new(52, 11, (900, 1150), (1, 60), rng => (ulong)rng.NextInt64(1L << 52), v => BitConverter.DoubleToUInt64Bits(v));

    /// <summary>A single-precision value's bits.</summary>
    public static uint Single(Random rng) => (uint)Value(rng, SingleFormat);

    /// <summary>A double-precision value's bits.</summary>
    public static ulong Double(Random rng) => Value(rng, DoubleFormat);

    /// <summary>One value's bits in <paramref name="f"/>, the edge cases weighted in.</summary>
    private static ulong Value(Random rng, BinaryFormat f)
    {
        ulong sign = (ulong)rng.Next(2) << (f.FractionBits + f.ExponentBits);
        ulong fraction = f.Fraction(rng);
        int maxExponent = (1 << f.ExponentBits) - 1;
        ulong infinity = Exponent(maxExponent), quiet = 1UL << (f.FractionBits - 1);
        return rng.Next(14) switch
        {
            0 => sign,
            1 => sign | infinity,
            2 => sign | infinity | quiet | (fraction & (quiet - 1)),
            3 => sign | infinity | Math.Max(1UL, fraction & (quiet - 1)),
            4 => sign | Math.Max(1UL, fraction),
            5 => sign | Exponent(1) | (rng.Next(2) == 0 ? 0UL : fraction),
            6 => sign | (infinity - 1),
            7 => sign | Exponent(maxExponent >> 1),
            8 => f.Integer(rng.Next(-100, 100)),
            9 => sign | Exponent(rng.Next(1, maxExponent)) | (rng.Next(2) == 0 ? 0UL : quiet | (quiet - 1)),
            10 => sign | Exponent(rng.Next(f.Moderate.Low, f.Moderate.High)) | fraction,
            11 => sign | Exponent(rng.Next(f.Tiny.Low, f.Tiny.High)) | fraction,
            _ => sign | Exponent(rng.Next(1, maxExponent)) | fraction,
        };

        ulong Exponent(int biased) => (ulong)biased << f.FractionBits;
    }

    /// <summary>
    /// An MXCSR with every exception masked (or, when <paramref name="unmask"/>, a random set unmasked),
    /// a random rounding mode, DAZ and FTZ, and random sticky flags.
    /// </summary>
    public static uint Mxcsr(Random rng, bool unmask)
    {
        uint masks = unmask ? (uint)rng.Next(0x40) << 7 : 0x1f80;
        return masks | ((uint)rng.Next(4) << 13) | (rng.Next(2) == 0 ? 0x40u : 0) | (rng.Next(2) == 0 ? 0x8000u : 0) | (rng.Next(3) == 0 ? (uint)rng.Next(0x40) : 0);
    }
}

/// <summary>
/// An IEEE 754 binary format as <see cref="VectorValues"/> draws from it: its field widths, the biased
/// exponents of moderate and of tiny values, how a random fraction is drawn (as it always was, so a seed
/// gives the same cases) and the encoding of a small integer.
/// </summary>
internal sealed record BinaryFormat(int FractionBits, int ExponentBits, (int Low, int High) Moderate, (int Low, int High) Tiny, Func<Random, ulong> Fraction, Func<int, ulong> Integer);
