using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>The in-kernel interrupt controllers and PIT (<see cref="KvmIrqchipMode.Kernel"/>).</summary>
public sealed partial class KvmAccelerator
{
    // KVM's IOAPIC has 24 inputs, like the 82093AA (KVM_IOAPIC_NUM_PINS in the kernel).
    private const uint IoApicInputs = 24;

    /// <summary>
    /// Sets the level of one GSI of the in-kernel irqchip: GSI n is ISA IRQ n, which reaches 8259A
    /// input n and IOAPIC input n, except IRQ 0, which is IOAPIC input 2 (see <see cref="RoutePcInterrupts"/>).
    /// Any thread may call it.
    /// </summary>
    public void SetIrqLine(int gsi, bool asserted)
    {
        var level = new KvmIrqLevel { Irq = (uint)gsi, Level = asserted ? 1u : 0u };
        int result;
        unsafe
        {
            // SAFETY: a pointer to a local kvm_irq_level, which the kernel only reads.
            result = LibC.Ioctl(_vmFd, KvmIoctl.IrqLine, (nint)(&level));
        }

        if (result < 0)
        {
            throw KvmException.LastError($"KVM_IRQ_LINE({gsi}, {level.Level})");
        }
    }

    /// <summary>
    /// Tells the in-kernel PIT whether the HPET's legacy replacement route owns IRQ 0
    /// (KVM_PIT_FLAGS_HPET_LEGACY in <c>kvm_pit_state2</c>): while it does, the PIT raises no
    /// interrupt (IA-PC HPET 1.0a 2.3.9). The channels are written back as read.
    /// </summary>
    public void SetPitHpetLegacy(bool on)
    {
        var state = default(KvmPitState2);
        unsafe
        {
            // SAFETY: a pointer to a local kvm_pit_state2 of the size the ioctl number carries; the kernel fills it.
            if (LibC.Ioctl(_vmFd, KvmIoctl.GetPit2, (nint)(&state)) < 0)
            {
                throw KvmException.LastError("KVM_GET_PIT2");
            }

            state.Flags = on ? state.Flags | KvmPitState2.HpetLegacy : state.Flags & ~KvmPitState2.HpetLegacy;

            // SAFETY: the same local, which the kernel only reads.
            if (LibC.Ioctl(_vmFd, KvmIoctl.SetPit2, (nint)(&state)) < 0)
            {
                throw KvmException.LastError("KVM_SET_PIT2");
            }
        }
    }

    private void CreateInterruptControllers()
    {
        if (_system.Check(KvmCap.Irqchip) == 0 || _system.Check(KvmCap.Pit2) == 0)
        {
            throw new KvmException("--kvm-irqchip kernel needs KVM_CAP_IRQCHIP and KVM_CAP_PIT2, which this host's KVM lacks");
        }

        if (LibC.Ioctl(_vmFd, KvmIoctl.CreateIrqchip, 0) < 0)
        {
            throw KvmException.LastError("KVM_CREATE_IRQCHIP");
        }

        var pit = new KvmPitConfig { Flags = KvmPitConfig.SpeakerDummy };
        int result;
        unsafe
        {
            // SAFETY: a pointer to a local kvm_pit_config, which the kernel only reads.
            result = LibC.Ioctl(_vmFd, KvmIoctl.CreatePit2, (nint)(&pit));
        }

        if (result < 0)
        {
            throw KvmException.LastError("KVM_CREATE_PIT2");
        }

        RoutePcInterrupts();
    }

    // KVM's default routing sends GSI n (n < 16) to 8259A input n and IOAPIC input n, so the
    // in-kernel PIT (GSI 0) would reach IOAPIC input 0. The PC wires ISA IRQ 0 to IOAPIC input 2,
    // as the MADT's interrupt source override says (ACPI 6.5 5.2.12.5), and the table replaces the
    // whole default one (api.rst, KVM_SET_GSI_ROUTING): GSI 0-15 to the 8259A pair and the IOAPIC
    // (IRQ 2, the cascade, to the 8259A only), GSI 16-23 to the IOAPIC.
    private void RoutePcInterrupts()
    {
        if (_system.Check(KvmCap.IrqRouting) == 0)
        {
            throw new KvmException("--kvm-irqchip kernel needs KVM_CAP_IRQ_ROUTING, which this host's KVM lacks");
        }

        var entries = new List<KvmIrqRoutingEntry>();
        for (uint gsi = 0; gsi < IoApicInputs; gsi++)
        {
            if (gsi < 16)
            {
                entries.Add(Route(gsi, gsi < 8 ? KvmIrqRoutingEntry.PicMaster : KvmIrqRoutingEntry.PicSlave, gsi % 8));
            }

            if (gsi != 2)
            {
                entries.Add(Route(gsi, KvmIrqRoutingEntry.IoApic, gsi == 0 ? 2 : gsi));
            }
        }

        int headerSize = Unsafe.SizeOf<KvmIrqRouting>();
        int entrySize = Unsafe.SizeOf<KvmIrqRoutingEntry>();
        byte[] table = new byte[headerSize + (entries.Count * entrySize)];
        MemoryMarshal.Write(table, new KvmIrqRouting { Nr = (uint)entries.Count });
        for (int i = 0; i < entries.Count; i++)
        {
            MemoryMarshal.Write(table.AsSpan(headerSize + (i * entrySize)), entries[i]);
        }

        int result;
        unsafe
        {
            fixed (byte* p = table)
            {
                // SAFETY: a pinned buffer holding the header and nr entries right after it, as
                // struct kvm_irq_routing declares; the kernel copies it during the ioctl.
                result = LibC.Ioctl(_vmFd, KvmIoctl.SetGsiRouting, (nint)p);
            }
        }

        if (result < 0)
        {
            throw KvmException.LastError("KVM_SET_GSI_ROUTING");
        }
    }

    private static KvmIrqRoutingEntry Route(uint gsi, uint irqchip, uint pin) =>
        new() { Gsi = gsi, Type = KvmIrqRoutingEntry.TypeIrqchip, Irqchip = irqchip, Pin = pin };
}
