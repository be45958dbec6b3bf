namespace Emulator.Core.Cpu;

/// <summary>
/// The memory type range registers (Intel SDM Vol. 3A 12.11): IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, the
/// eleven fixed-range MTRRs and <see cref="VariableCount"/> IA32_MTRR_PHYSBASEn/PHYSMASKn pairs.
/// Emulated memory has no caches, so every access behaves as write-back whatever they say; the
/// registers hold what the guest writes, with the #GP of reserved bits and undefined memory types.
/// </summary>
public static class Mtrr
{
    /// <summary>IA32_MTRRCAP (read-only) and IA32_MTRR_DEF_TYPE.</summary>
    public const uint Cap = 0xfe, DefType = 0x2ff;

    /// <summary>IA32_MTRR_PHYSBASE0; PHYSBASEn is 200H + 2n and PHYSMASKn 201H + 2n.</summary>
    public const uint PhysBase0 = 0x200;

    /// <summary>IA32_MTRR_FIX64K_00000, FIX16K_80000, FIX16K_A0000, and FIX4K_C0000 (FIX4K_F8000 is 26FH).</summary>
    public const uint Fix64K00000 = 0x250, Fix16K80000 = 0x258, Fix16KA0000 = 0x259, Fix4KC0000 = 0x268;

    /// <summary>The number of variable-range pairs: 8, as on the P6 family and later (12.11.2.3), QEMU and KVM.</summary>
    public const int VariableCount = 8;

    /// <summary>
    /// IA32_MTRRCAP (12.11.1): VCNT (7:0), fixed-range MTRRs supported (FIX, bit 8), write-combining
    /// supported (WC, bit 10); no SMRR (11). The same value as QEMU's and KVM's (0x508).
    /// </summary>
    public const ulong Capabilities = VariableCount | (1ul << 8) | (1ul << 10);

    /// <summary>IA32_MTRR_DEF_TYPE.E (bit 11): MTRRs enabled; FE (bit 10): fixed-range MTRRs enabled (12.11.2.1).</summary>
    public const ulong Enabled = 1ul << 11, FixedEnabled = 1ul << 10;

    /// <summary>The memory types of Table 12-8 (MTRRs) and Table 12-10 (PAT; UC- is a PAT type only).</summary>
    public const byte Uncacheable = 0, WriteCombining = 1, WriteThrough = 4, WriteProtected = 5, WriteBack = 6;

    /// <summary>True for the MTRRs, IA32_MTRRCAP included.</summary>
    public static bool Owns(uint index) => index is Cap or DefType or Fix64K00000 or Fix16K80000 or Fix16KA0000
        or (>= Fix4KC0000 and <= Fix4KC0000 + 7) or (>= PhysBase0 and < PhysBase0 + 2 * VariableCount);

    /// <summary>
    /// The value after power-up or RESET: IA32_MTRRCAP its capabilities, every other MTRR 0, so the
    /// MTRRs are disabled and memory is UC until firmware sets them up (Table 10-1, 12.11.5).
    /// </summary>
    public static ulong ResetValue(uint index) => index == Cap ? Capabilities : 0;

    /// <summary>True for the memory types 12.11.2 defines for an MTRR: UC, WC, WT, WP and WB.</summary>
    public static bool IsMemoryType(ulong type) => type is Uncacheable or WriteCombining or WriteThrough or WriteProtected or WriteBack;

    /// <summary>Whether WRMSR may write <paramref name="value"/> to MTRR <paramref name="index"/>; false means #GP(0).</summary>
    public static bool IsValidWrite(uint index, ulong value)
    {
        // Bits MAXPHYADDR-1:12 of PHYSBASE and PHYSMASK; those above are reserved (12.11.2.3).
        ulong address = ((1ul << CpuModel.PhysicalAddressBits) - 1) & ~0xffful;
        return index switch
        {
            Cap => false,
            // Type (7:0), FE (10), E (11); bits 9:8 and 63:12 reserved (12.11.2.1).
            DefType => (value & ~(0xfful | FixedEnabled | Enabled)) == 0 && IsMemoryType(value & 0xff),
            // Eight 8-bit type fields (12.11.2.2), each a defined type.
            Fix64K00000 or Fix16K80000 or Fix16KA0000 or (>= Fix4KC0000 and <= Fix4KC0000 + 7) => EveryByteIs(value, IsMemoryType),
            // PHYSBASEn: type (7:0) and PhysBase; PHYSMASKn: V (11) and PhysMask; all else reserved (12.11.2.3).
            _ when (index - PhysBase0) % 2 == 0 => (value & ~(address | 0xff)) == 0 && IsMemoryType(value & 0xff),
            _ => (value & ~(address | (1ul << 11))) == 0,
        };
    }

    internal static bool EveryByteIs(ulong value, Func<ulong, bool> valid)
    {
        for (int i = 0; i < 64; i += 8)
        {
            if (!valid((value >> i) & 0xff))
            {
                return false;
            }
        }

        return true;
    }
}
