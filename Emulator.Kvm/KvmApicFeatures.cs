using Emulator.Core.Cpu;

namespace Emulator.Kvm;

/// <summary>
/// What the local APIC a KVM guest talks to offers, which KVM_GET_SUPPORTED_CPUID does not say:
/// with the in-kernel irqchip it is KVM's APIC, which emulates x2APIC mode (KVM reports
/// CPUID.01H:ECX[21] itself) and has the TSC-deadline timer when KVM_CAP_TSC_DEADLINE_TIMER is
/// present (api.rst: userspace sets CPUID.01H:ECX[24] from that capability, KVM does not report it).
/// With the user irqchip it is the machine's <c>LocalApic</c>, which has both modes but cannot be
/// reached through the x2APIC MSRs (KVM never hands 800H-8FFH to a userspace MSR filter, api.rst
/// KVM_X86_SET_MSR_FILTER) nor, as emu's filter stands, through IA32_TSC_DEADLINE: neither is offered there.
/// </summary>
/// <param name="X2Apic">x2APIC mode works for the guest.</param>
/// <param name="TscDeadline">The APIC timer's TSC-deadline mode works for the guest.</param>
internal readonly record struct KvmApicFeatures(bool X2Apic, bool TscDeadline)
{
    /// <summary>What KVM_CREATE_IRQCHIP's APIC offers on a host with or without KVM_CAP_TSC_DEADLINE_TIMER.</summary>
    public static KvmApicFeatures InKernel(bool tscDeadlineCapability) => new(X2Apic: true, TscDeadline: tscDeadlineCapability);

    /// <summary>The machine's own APIC model behind the user irqchip.</summary>
    public static KvmApicFeatures UserIrqchip => new(X2Apic: false, TscDeadline: false);

    /// <summary>The host's CPUID.01H:ECX with the APIC's two bits as this APIC has them (x2APIC only where KVM reports it too).</summary>
    public uint Apply(uint hostLeaf1Ecx)
    {
        uint ecx = X2Apic ? hostLeaf1Ecx : hostLeaf1Ecx & ~CpuModel.X2Apic;
        return TscDeadline ? ecx | CpuModel.TscDeadline : ecx & ~CpuModel.TscDeadline;
    }
}
