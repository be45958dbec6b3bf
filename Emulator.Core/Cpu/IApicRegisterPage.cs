using Emulator.Core.Devices;

namespace Emulator.Core.Cpu;

/// <summary>
/// A processor's local APIC as the processor itself decodes its xAPIC register page: the APIC
/// claims its processor's accesses to the 4 KiB page that IA32_APIC_BASE names, whatever the
/// address space holds there, RAM included (Intel SDM Vol. 3A 11.4.1, 11.4.4, 11.4.5); other
/// processors and DMA see the address space. A device beside the core (the local APIC, which also
/// is the core's <see cref="IMsrDevice"/>) implements it; calls come from the vCPU's own thread,
/// and <see cref="IBusDevice.Read"/> and <see cref="IBusDevice.Write"/> only under the device lock
/// (<see cref="Memory.AddressSpace.ReadDevice"/>).
/// </summary>
public interface IApicRegisterPage : IBusDevice
{
    /// <summary>
    /// The physical address of the page the processor decodes to the APIC, or null while it decodes
    /// none (the APIC globally disabled by IA32_APIC_BASE.EN, or in x2APIC mode, whose registers are
    /// MSRs only: Intel SDM Vol. 3A 11.4.3, 11.12.1.2).
    /// </summary>
    ulong? DecodedPage { get; }
}
