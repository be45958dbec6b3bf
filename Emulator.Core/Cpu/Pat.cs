namespace Emulator.Core.Cpu;

/// <summary>
/// IA32_PAT, the page attribute table (Intel SDM Vol. 3A 12.12): eight 8-bit entries PA0-PA7 that
/// the PAT, PCD and PWT bits of a paging entry select. As with the MTRRs the memory types have no
/// effect on emulated memory; the MSR holds what the guest writes.
/// </summary>
public static class Pat
{
    /// <summary>IA32_PAT (MSR 277H).</summary>
    public const uint Index = 0x277;

    /// <summary>
    /// The value after power-up or RESET (12.12.4, Table 12-12): PA0-PA7 = WB, WT, UC-, UC, WB, WT,
    /// UC-, UC, the memory types of the PCD/PWT combinations before the PAT existed.
    /// </summary>
    public const ulong ResetValue = 0x0007_0406_0007_0406;

    /// <summary>
    /// Whether IA32_PAT may be written with <paramref name="value"/>: every entry must be one of the
    /// types of Table 12-10, UC (0), WC (1), WT (4), WP (5), WB (6) or UC- (7); the reserved
    /// encodings 2, 3 and 8-FFH raise #GP(0) (12.12.2).
    /// </summary>
    public static bool IsValidWrite(ulong value) => Mtrr.EveryByteIs(value, t => t is 7 || Mtrr.IsMemoryType(t));
}
