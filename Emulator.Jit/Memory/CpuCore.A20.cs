namespace Emulator.Jit.State;

/// <summary>
/// The A20M# input: while the PC's A20 gate is off, bit 20 of every physical address the
/// processor puts out is forced to 0, so addresses from 1 MiB wrap to the first megabyte as on the
/// 8086 (the A20M# pin: the processor masks physical address bit 20 before any cache lookup or
/// memory cycle, Intel SDM Vol. 3B, IA-32 architecture compatibility; so with paging the masked
/// address is the physical one, page-table entries included). The mask is applied where physical addresses are
/// made: <see cref="Translate"/>, the page walk, and <see cref="TranslateFetch"/> with paging off.
/// </summary>
internal sealed partial class CpuCore
{
    private const ulong AddressLine20 = 1UL << 20;

    /// <summary>ANDed into every physical address: all ones while A20 is enabled, else bit 20 clear.</summary>
    public ulong A20Mask = ulong.MaxValue;

    /// <summary>True while address line 20 reaches memory.</summary>
    public bool A20Enabled => A20Mask == ulong.MaxValue;

    /// <summary>
    /// Follows the gate; called between blocks. TLB entries hold host pointers and physical pages
    /// computed under the old mask, so they are dropped; decoded blocks are keyed by physical
    /// address and stay valid.
    /// </summary>
    public void SetA20(bool enabled)
    {
        ulong mask = enabled ? ulong.MaxValue : ~AddressLine20;
        if (mask == A20Mask)
        {
            return;
        }

        A20Mask = mask;
        FlushTlb();
    }
}
