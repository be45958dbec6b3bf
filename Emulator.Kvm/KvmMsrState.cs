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
