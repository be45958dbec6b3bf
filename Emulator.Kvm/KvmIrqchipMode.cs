namespace Emulator.Kvm;

/// <summary>Where the interrupt controllers of a KVM guest live.</summary>
public enum KvmIrqchipMode
{
    /// <summary>The machine's own PIC, IOAPIC, local APIC and PIT models; HLT and interrupt delivery go through userspace.</summary>
    User,

    /// <summary>
    /// KVM's PIC pair, IOAPIC, local APICs (KVM_CREATE_IRQCHIP) and PIT (KVM_CREATE_PIT2): their
    /// ports and MMIO pages, HLT and interrupt delivery stay in the kernel; the machine's devices
    /// raise their ISA lines with KVM_IRQ_LINE.
    /// </summary>
    Kernel,
}
