using Emulator.Core.Cpu;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>The MSRs a device of the machine owns (the local APIC's IA32_APIC_BASE), under KVM.</summary>
public sealed partial class KvmVcpu
{
    private IMsrDevice? _platformMsrs;

    /// <summary>
    /// The device that owns some of this processor's MSRs (its local APIC), or null. With
    /// <see cref="KvmAccelerator.PlatformMsrExits"/> the guest's RDMSR and WRMSR of IA32_APIC_BASE
    /// reach it; either way KVM's own copy of the MSR is loaded from it, since KVM mirrors its
    /// enable bit into CPUID.1:EDX.APIC. Set only while the vCPU is not inside <see cref="Run"/>.
    /// </summary>
    public IMsrDevice? PlatformMsrs
    {
        get => _platformMsrs;
        set
        {
            _platformMsrs = value;
            if (value is not null && value.TryReadMsr(KvmMsrState.ApicBase, 0, out ulong apicBase))
            {
                KvmSregs sr = GetSregs();
                sr.ApicBase = apicBase;
                Set(KvmIoctl.SetSregs, sr, "KVM_SET_SREGS");
            }
        }
    }

    // The IA32_APIC_BASE a state load gives KVM: the device's, else the state's, else the RESET value.
    private ulong ApicBaseFor(CpuState state)
    {
        if (_platformMsrs is { } device && device.TryReadMsr(KvmMsrState.ApicBase, 0, out ulong value))
        {
            return value;
        }

        return state.Msrs.TryGetValue(KvmMsrState.ApicBase, out value) ? value : KvmMsrState.ResetApicBase(Index);
    }

    // KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR for an MSR the filter denies: the device answers;
    // msr.error = 1 makes KVM raise #GP(0) in the guest (api.rst, KVM_EXIT_X86_RDMSR). The time-stamp
    // counter argument is 0: IA32_APIC_BASE does not depend on it, and no other MSR is filtered.
    private void HandleMsr(bool write)
    {
        unsafe
        {
            // SAFETY: KVM_RUN returned with this exit, so the msr member of kvm_run is the valid one;
            // error and data are read by the kernel when the vCPU re-enters.
            KvmRun* run = _run;
            IMsrDevice? device = _platformMsrs;
            if (write)
            {
                MsrWriteResult result = device?.WriteMsr(run->MsrIndex, run->MsrData, 0) ?? MsrWriteResult.NotClaimed;
                run->MsrError = (byte)(result == MsrWriteResult.Done ? 0 : 1);
            }
            else if (device is not null && device.TryReadMsr(run->MsrIndex, 0, out ulong value))
            {
                run->MsrData = value;
                run->MsrError = 0;
            }
            else
            {
                run->MsrError = 1;
            }
        }
    }
}
