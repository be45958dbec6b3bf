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

    /// <summary>A single-precision value's bits.</summary>
    public static uint Single(Random rng)
    {
        uint sign = (uint)rng.Next(2) << 31;
        uint fraction = (uint)rng.Next(1 << 23);
        return rng.Next(14) switch
        {
            0 => sign,
            1 => sign | 0x7f80_0000,
            2 => sign | 0x7fc0_0000 | (fraction & 0x3f_ffff),
            3 => sign | 0x7f80_0000 | Math.Max(1u, fraction & 0x3f_ffff),
            4 => sign | Math.Max(1u, fraction),
            5 => sign | 0x0080_0000 | (rng.Next(2) == 0 ? 0u : fraction),
            6 => sign | 0x7f7f_ffff,
            7 => sign | 0x3f80_0000,
            8 => BitConverter.SingleToUInt32Bits(rng.Next(-100, 100)),
            9 => sign | ((uint)rng.Next(1, 255) << 23) | (rng.Next(2) == 0 ? 0u : 0x7f_ffffu),
            10 => sign | ((uint)rng.Next(100, 155) << 23) | fraction,
            11 => sign | ((uint)rng.Next(1, 30) << 23) | fraction,
            _ => sign | ((uint)rng.Next(1, 255) << 23) | fraction,
        };
    }

    /// <summary>A double-precision value's bits.</summary>
    public static ulong Double(Random rng)
    {
        ulong sign = (ulong)rng.Next(2) << 63;
        ulong fraction = (ulong)rng.NextInt64(1L << 52);
        return rng.Next(14) switch
        {
            0 => sign,
            1 => sign | 0x7ff0_0000_0000_0000,
            2 => sign | 0x7ff8_0000_0000_0000 | (fraction & 0x7_ffff_ffff_ffff),
            3 => sign | 0x7ff0_0000_0000_0000 | Math.Max(1UL, fraction & 0x7_ffff_ffff_ffff),
            4 => sign | Math.Max(1UL, fraction),
            5 => sign | 0x0010_0000_0000_0000 | (rng.Next(2) == 0 ? 0UL : fraction),
            6 => sign | 0x7fef_ffff_ffff_ffff,
            7 => sign | 0x3ff0_0000_0000_0000,
            8 => BitConverter.DoubleToUInt64Bits(rng.Next(-100, 100)),
            9 => sign | ((ulong)rng.Next(1, 2047) << 52) | (rng.Next(2) == 0 ? 0UL : 0xf_ffff_ffff_ffffUL),
            10 => sign | ((ulong)rng.Next(900, 1150) << 52) | fraction,
            11 => sign | ((ulong)rng.Next(1, 60) << 52) | fraction,
            _ => sign | ((ulong)rng.Next(1, 2047) << 52) | fraction,
        };
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
