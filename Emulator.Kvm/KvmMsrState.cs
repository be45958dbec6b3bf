using Emulator.Core.Cpu;

namespace Emulator.Kvm;

/// <summary>
/// The model-specific registers a KVM vCPU's state carries in <c>CpuState.Msrs</c>, besides EFER
/// and the APIC base (which travel in kvm_sregs). Only those KVM_GET_MSR_INDEX_LIST names are used.
/// </summary>
internal static class KvmMsrState
{
    /// <summary>IA32_TIME_STAMP_COUNTER.</summary>
    public const uint Tsc = 0x10;

    /// <summary>IA32_APIC_BASE (in kvm_sregs.apic_base).</summary>
    public const uint ApicBase = 0x1b;

    /// <summary>IA32_PAT.</summary>
    public const uint Pat = 0x277;

    /// <summary>The MSRs moved through KVM_GET_MSRS / KVM_SET_MSRS, in this order.</summary>
    public static readonly uint[] Candidates =
    [
        Tsc,
        0x174, // IA32_SYSENTER_CS
        0x175, // IA32_SYSENTER_ESP
        0x176, // IA32_SYSENTER_EIP
        Pat,
        0xc000_0081, // IA32_STAR
        0xc000_0082, // IA32_LSTAR
        0xc000_0083, // IA32_CSTAR
        0xc000_0084, // IA32_FMASK
        0xc000_0102, // IA32_KERNEL_GS_BASE
        0xc000_0103, // IA32_TSC_AUX: RDTSCP's and RDPID's processor number, which a snapshot or a move must keep
    ];

    /// <summary>
    /// The MSRs a vCPU cannot do without: a guest's system calls and its time base. KVM lists them
    /// in KVM_GET_MSR_INDEX_LIST wherever they exist, so one it then refuses means the state itself
    /// is wrong, and the transfer fails loudly. Every other MSR moved is optional: a host KVM that
    /// refuses it (an older kernel, a nested or paravirtual KVM, fewer machine-check banks) costs
    /// that register only, with one line on stderr (<see cref="KvmMsrTransfer"/>).
    /// </summary>
    public static bool IsEssential(uint index) =>
        index is Tsc or 0x174 or 0x175 or 0x176 or 0xc000_0081 or 0xc000_0082 or 0xc000_0083 or 0xc000_0084 or 0xc000_0102;

    /// <summary>
    /// The MSRs a vCPU moves through KVM_GET_MSRS / KVM_SET_MSRS, as QEMU's kvm_put_msrs chooses
    /// them: the <see cref="Candidates"/> that KVM_GET_MSR_INDEX_LIST (<paramref name="indexList"/>)
    /// names, then the MTRRs and, with <paramref name="machineCheck"/>, the machine-check registers,
    /// which that list never names (see <see cref="CacheAndMca"/>).
    /// </summary>
    public static uint[] Transferred(IReadOnlySet<uint> indexList, bool machineCheck) =>
        [.. Candidates.Where(indexList.Contains), .. CacheAndMca(machineCheck)];

    /// <summary>
    /// Whether the host's KVM can give a vCPU the model's IA32_MCG_CAP
    /// (<see cref="MachineCheck.Capabilities"/>) through KVM_X86_SETUP_MCE: KVM_CAP_MCE is the most
    /// banks it takes (<paramref name="maxBanks"/>), KVM_X86_GET_MCE_CAP_SUPPORTED the capability
    /// bits beyond the bank count (<paramref name="supportedMcgCap"/>, null when that call failed);
    /// kvm_vcpu_ioctl_x86_setup_mce refuses anything else, and QEMU asks the same two questions
    /// (kvm_get_mce_cap_supported).
    /// </summary>
    public static bool MachineCheckFits(int maxBanks, ulong? supportedMcgCap) =>
        maxBanks >= MachineCheck.BankCount && supportedMcgCap is { } supported
            && (MachineCheck.Capabilities & ~(supported | McgCapCountMask)) == 0;

    // IA32_MCG_CAP[7:0], the bank count (Intel SDM Vol. 3B 15.3.1.1).
    private const ulong McgCapCountMask = 0xff;

    /// <summary>The SDM's name of an MSR this backend moves, for messages (hexadecimal for others).</summary>
    public static string Name(uint index)
    {
        if (index is >= MachineCheck.Mc0Ctl and < MachineCheck.BanksEnd)
        {
            uint bank = (index - MachineCheck.Mc0Ctl) / 4;
            return $"IA32_MC{bank}_{((index - MachineCheck.Mc0Ctl) % 4) switch { 0 => "CTL", 1 => "STATUS", 2 => "ADDR", _ => "MISC" }}";
        }

        if (index >= Mtrr.PhysBase0 && index < Mtrr.PhysBase0 + 2 * Mtrr.VariableCount)
        {
            return $"IA32_MTRR_PHYS{((index - Mtrr.PhysBase0) % 2 == 0 ? "BASE" : "MASK")}{(index - Mtrr.PhysBase0) / 2}";
        }

        if (index >= Mtrr.Fix4KC0000 && index <= Mtrr.Fix4KC0000 + 7)
        {
            return $"IA32_MTRR_FIX4K_{0xC0000 + ((index - Mtrr.Fix4KC0000) * 0x8000):X5}";
        }

        return index switch
        {
            Tsc => "IA32_TIME_STAMP_COUNTER",
            0x174 => "IA32_SYSENTER_CS",
            0x175 => "IA32_SYSENTER_ESP",
            0x176 => "IA32_SYSENTER_EIP",
            Pat => "IA32_PAT",
            0xc000_0081 => "IA32_STAR",
            0xc000_0082 => "IA32_LSTAR",
            0xc000_0083 => "IA32_CSTAR",
            0xc000_0084 => "IA32_FMASK",
            0xc000_0102 => "IA32_KERNEL_GS_BASE",
            0xc000_0103 => "IA32_TSC_AUX",
            MachineCheck.McgStatus => "IA32_MCG_STATUS",
            MachineCheck.McgCtl => "IA32_MCG_CTL",
            Mtrr.Fix64K00000 => "IA32_MTRR_FIX64K_00000",
            Mtrr.Fix16K80000 => "IA32_MTRR_FIX16K_80000",
            Mtrr.Fix16KA0000 => "IA32_MTRR_FIX16K_A0000",
            Mtrr.DefType => "IA32_MTRR_DEF_TYPE",
            _ => $"MSR 0x{index:x}",
        };
    }

    /// <summary>
    /// The value an MSR has after RESET (Intel SDM Vol. 3A Table 10-1 and Vol. 4): used when a state
    /// does not name it, e.g. <c>CpuState.AtReset()</c> or a state from a backend that lacks it.
    /// </summary>
    public static ulong ResetValue(uint index) => CacheAndMcaMsrs.Owns(index) ? CacheAndMcaMsrs.ResetValue(index) : 0;

    /// <summary>
    /// The MTRRs and, when KVM took the model's IA32_MCG_CAP, the machine-check registers: not in
    /// KVM_GET_MSR_INDEX_LIST, yet KVM_GET_MSRS/KVM_SET_MSRS handle them (arch/x86/kvm/mtrr.c and
    /// set_msr_mce in x86.c, as QEMU moves them). IA32_PAT is among <see cref="Candidates"/>; the
    /// read-only IA32_MTRRCAP and IA32_MCG_CAP are the model's constants and equal KVM's.
    /// </summary>
    public static IEnumerable<uint> CacheAndMca(bool machineCheck) =>
        CacheAndMcaMsrs.StateIndexes().Where(i => i != Pat && (machineCheck || !MachineCheck.Owns(i)));

    /// <summary>
    /// The value KVM_SET_MSRS is given for <paramref name="index"/>: KVM takes only 0 or all 1s in an
    /// IA32_MCi_CTL (bits 10 and 0 aside, set_msr_mce), as P6-family processors do (Intel SDM Vol. 3B
    /// 15.3.2.1), where the model keeps any value; another value becomes all 1s, every error reported.
    /// </summary>
    public static ulong ForKvm(uint index, ulong value) =>
        index is >= MachineCheck.Mc0Ctl and < MachineCheck.BanksEnd && (index - MachineCheck.Mc0Ctl) % 4 == 0
            && value != 0 && (value | (1ul << 10) | 1) != ulong.MaxValue
            ? ulong.MaxValue : value;

    /// <summary>
    /// IA32_APIC_BASE after RESET: base 0xFEE00000, APIC enabled (bit 11), bit 8 on the bootstrap
    /// processor (Intel SDM Vol. 3A 11.4.4). The CPU model advertises an APIC (CPUID.1:EDX[9]), and
    /// KVM mirrors the enable bit into that CPUID bit (arch/x86/kvm/cpuid.c, kvm_update_cpuid_runtime).
    /// </summary>
    public static ulong ResetApicBase(int vcpuIndex) => 0xfee0_0800UL | (vcpuIndex == 0 ? 0x100UL : 0);
}
