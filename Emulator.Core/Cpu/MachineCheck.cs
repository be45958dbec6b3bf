namespace Emulator.Core.Cpu;

/// <summary>
/// The machine-check architecture's registers as the CPU model presents them (Intel SDM Vol. 3B
/// 15.3): IA32_MCG_CAP, IA32_MCG_STATUS, IA32_MCG_CTL and <see cref="BankCount"/> error-reporting
/// banks of IA32_MCi_CTL/STATUS/ADDR/MISC. An emulated processor never detects a hardware error, so
/// no machine check is ever raised and no bank ever logs one; the registers only hold what software
/// writes, under the manual's write rules, so that an operating system's MCA set-up succeeds.
/// </summary>
public static class MachineCheck
{
    /// <summary>IA32_MCG_CAP (read-only), IA32_MCG_STATUS, IA32_MCG_CTL (Intel SDM Vol. 4 Table 2-2).</summary>
    public const uint McgCap = 0x179, McgStatus = 0x17a, McgCtl = 0x17b;

    /// <summary>IA32_MC0_CTL; bank i's CTL, STATUS, ADDR and MISC are at 400H + 4i + 0..3 (15.3.2).</summary>
    public const uint Mc0Ctl = 0x400;

    /// <summary>
    /// The number of error-reporting banks: 10, as QEMU's default CPU reports (target/i386/cpu.h
    /// MCE_BANKS_DEF), so that a guest sees the same count under both emulators.
    /// </summary>
    public const int BankCount = 10;

    /// <summary>IA32_MCG_CAP.MCG_CTL_P (bit 8): IA32_MCG_CTL is present (15.3.1.1).</summary>
    public const ulong McgCtlPresent = 1ul << 8;

    /// <summary>
    /// IA32_MCG_CAP: the bank count (bits 7:0) and MCG_CTL_P. QEMU's TCG CPU also sets MCG_SER_P
    /// (bit 24, software error recovery); with no error ever logged there is nothing to recover
    /// from, so the model leaves it, CMCI (10), threshold status (11), extended registers (9) and
    /// LMCE (27) out, and IA32_MCi_STATUS keeps its basic layout (15.3.2.2).
    /// </summary>
    public const ulong Capabilities = BankCount | McgCtlPresent;

    // IA32_MCG_STATUS (15.3.1.2): RIPV (0), EIPV (1) and MCIP (2), which software may set or clear;
    // bits 63:3 are reserved (bit 3 is LMCE_S only with MCG_LMCE_P).
    private const ulong McgStatusWritable = 0x7;

    /// <summary>The first MSR past the last bank's IA32_MCi_MISC.</summary>
    public const uint BanksEnd = Mc0Ctl + 4 * BankCount;

    /// <summary>True for the MSRs this model implements for the MCA, IA32_MCG_CAP included.</summary>
    public static bool Owns(uint index) => index is McgCap or McgStatus or McgCtl or (>= Mc0Ctl and < BanksEnd);

    /// <summary>
    /// The value after power-up or RESET. The SDM leaves IA32_MCG_CTL and IA32_MCi_CTL undefined at
    /// power-up for firmware to initialise (15.8); the model starts them at all 1s (every error
    /// reported), as QEMU and KVM do. The status, address and misc registers hold no error (0).
    /// </summary>
    public static ulong ResetValue(uint index) => index switch
    {
        McgCap => Capabilities,
        McgCtl => ulong.MaxValue,
        >= Mc0Ctl and < BanksEnd when (index - Mc0Ctl) % 4 == 0 => ulong.MaxValue,
        _ => 0,
    };

    /// <summary>
    /// Whether WRMSR may write <paramref name="value"/> to MCA register <paramref name="index"/>;
    /// false means #GP(0).
    /// </summary>
    public static bool IsValidWrite(uint index, ulong value) => index switch
    {
        // "The effect of writing to the IA32_MCG_CAP MSR is undefined" (15.3.1.1): it is read-only here.
        McgCap => false,
        McgStatus => (value & ~McgStatusWritable) == 0,
        // All 1s enables, all 0s disables, other values are implementation specific (15.3.1.3): any is kept.
        McgCtl => true,
        _ => ((index - Mc0Ctl) % 4) switch
        {
            // IA32_MCi_CTL: one enable flag per error; any value (15.3.2.1).
            0 => true,
            // IA32_MCi_STATUS: "writing 1s to them causes a general-protection exception" (15.3.2.2).
            // IA32_MCi_ADDR and IA32_MCi_MISC likewise can only be cleared (15.3.2.3, 15.3.2.4).
            _ => value == 0,
        },
    };
}
