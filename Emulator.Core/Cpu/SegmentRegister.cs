namespace Emulator.Core.Cpu;

/// <summary>
/// A segment register with its hidden descriptor cache (Intel SDM Vol. 3A 3.4.3): what the CPU
/// actually uses after a load, which in real mode or after a mode switch can differ from what the
/// selector would give today.
/// </summary>
public struct SegmentRegister
{
    /// <summary>The visible 16-bit selector.</summary>
    public ushort Selector;
    /// <summary>Cached base address.</summary>
    public ulong Base;
    /// <summary>Cached limit in bytes (already scaled by the granularity bit).</summary>
    public uint Limit;
    /// <summary>
    /// Descriptor attributes in the layout of bits 40-55 of a descriptor shifted down by 8:
    /// bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G. Bit 16 set marks an unusable segment.
    /// </summary>
    public uint Attributes;

    /// <summary>The bit of <see cref="Attributes"/> that marks an unusable (null-loaded) segment.</summary>
    public const uint Unusable = 0x1_0000;

    /// <summary>A real-mode style segment: base = selector * 16, limit 64 KiB, present read/write data.</summary>
    public static SegmentRegister RealMode(ushort selector, uint type = 0x3) => new()
    {
        Selector = selector,
        Base = (ulong)selector << 4,
        Limit = 0xffff,
        Attributes = type | 0x10 | 0x80,
    };

    /// <summary>Descriptor type field.</summary>
    public readonly uint Type => Attributes & 0xf;
    /// <summary>Descriptor privilege level.</summary>
    public readonly int Dpl => (int)(Attributes >> 5) & 3;
    /// <summary>Present bit.</summary>
    public readonly bool Present => (Attributes & 0x80) != 0;
    /// <summary>64-bit code segment (L bit).</summary>
    public readonly bool Long => (Attributes & 0x2000) != 0;
    /// <summary>Default operation size 32 bits (D/B bit).</summary>
    public readonly bool DefaultBig => (Attributes & 0x4000) != 0;
}

/// <summary>A descriptor-table register (GDTR, IDTR).</summary>
public struct TableRegister
{
    /// <summary>Linear base address.</summary>
    public ulong Base;
    /// <summary>Limit in bytes.</summary>
    public ushort Limit;
}
