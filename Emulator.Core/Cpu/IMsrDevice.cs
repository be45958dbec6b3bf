namespace Emulator.Core.Cpu;

/// <summary>What a device answered to a WRMSR of one of its MSRs.</summary>
public enum MsrWriteResult
{
    /// <summary>The MSR is not this device's; the CPU handles it (or raises #GP).</summary>
    NotClaimed,
    /// <summary>Written.</summary>
    Done,
    /// <summary>The value is invalid for the MSR: the CPU raises #GP(0).</summary>
    Fault,
}

/// <summary>
/// A device that owns some MSRs of its processor (the local APIC's IA32_APIC_BASE and
/// IA32_TSC_DEADLINE). A software CPU consults it in RDMSR and WRMSR before its own MSRs; both
/// calls come from the vCPU's own thread. <c>tsc</c> is the processor's time-stamp counter at the access.
/// </summary>
public interface IMsrDevice
{
    /// <summary>Reads MSR <paramref name="index"/>; false when it is not this device's.</summary>
    bool TryReadMsr(uint index, ulong tsc, out ulong value);

    /// <summary>Writes MSR <paramref name="index"/>.</summary>
    MsrWriteResult WriteMsr(uint index, ulong value, ulong tsc);
}
