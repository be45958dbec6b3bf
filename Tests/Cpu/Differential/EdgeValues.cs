namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Seeded random values with the edge cases of integer arithmetic weighted in: 0, 1, -1, the sign
/// bit, the largest positive and negative values, single bits and small numbers, each at 8, 16, 32
/// or 64 bits, with the bits above that width random, clear or set.
/// </summary>
internal static class EdgeValues
{
    private static readonly int[] Widths = [8, 16, 32, 64];

    public static ulong Next(Random rng)
    {
        if (rng.Next(3) == 0)
        {
            return Random64(rng);
        }

        int width = Widths[rng.Next(Widths.Length)];
        ulong low = Edge(rng, width);
        ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        ulong upper = rng.Next(4) switch
        {
            0 => 0,
            1 => ulong.MaxValue,
            _ => Random64(rng),
        };
        return (upper & ~mask) | (low & mask);
    }

    /// <summary>A value of <paramref name="size"/> bytes (zero-extended), edge cases weighted in.</summary>
    public static ulong Sized(Random rng, int size)
    {
        int width = size * 8;
        ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        return (rng.Next(3) == 0 ? Random64(rng) : Edge(rng, width)) & mask;
    }

    /// <summary>A shift or rotate count: mostly 0..65, often at the operand width, sometimes any byte.</summary>
    public static byte Count(Random rng, int operandBits) => rng.Next(10) switch
    {
        < 6 => (byte)rng.Next(0, 66),
        < 8 => (byte)new[] { 0, 1, 2, operandBits - 1, operandBits, operandBits + 1, 31, 32, 33, 63 }[rng.Next(10)],
        _ => (byte)rng.Next(256),
    };

    public static ulong Random64(Random rng) => (ulong)rng.NextInt64() ^ ((ulong)rng.Next(2) << 63);

    private static ulong Edge(Random rng, int width)
    {
        ulong sign = 1UL << (width - 1);
        return rng.Next(12) switch
        {
            0 => 0,
            1 => 1,
            2 => 2,
            3 => ulong.MaxValue,
            4 => ulong.MaxValue - 1,
            5 => sign,
            6 => sign - 1,
            7 => sign + 1,
            8 => 1UL << rng.Next(width),
            9 => (ulong)rng.Next(0, 70),
            10 => (ulong)-rng.Next(1, 70),
            _ => Random64(rng),
        };
    }
}
