using Emulator.Core.Cpu;
using Emulator.Jit.Memory;

namespace Emulator.Jit.State;

/// <summary>
/// The local APIC's register page as this processor decodes it: the APIC claims the processor's
/// accesses to the 4 KiB page IA32_APIC_BASE names whatever the address space holds there, RAM
/// included (Intel SDM Vol. 3A 11.4.1, "the APIC registers are memory-mapped to a 4-KByte region of
/// the processor's physical address space"; 11.4.4 and 11.4.5, relocation). Other processors and
/// DMA still see the address space. The TLB never holds an entry for the page (its slow path
/// answers it before making one), and a write of IA32_APIC_BASE flushes the
/// TLB, so entries made for the RAM a relocated page now covers go.
/// </summary>
/// <remarks>
/// Instruction fetches and page-table walks reach the address space, not the APIC: executing or
/// keeping paging structures in the register page is not something the SDM defines.
/// </remarks>
internal sealed partial class CpuCore
{
    private IApicRegisterPage? _apicPage;

    /// <summary>IA32_APIC_BASE was written: the decoded page may have moved, appeared or gone.</summary>
    public void ApicBaseWritten() => FlushTlb();

    // This processor's local APIC when it decodes the page holding `physical`, else null.
    private IApicRegisterPage? ApicAt(ulong physical) =>
        _apicPage is { DecodedPage: { } page } apic && (physical & ~SoftTlb.PageMask) == page ? apic : null;
}
