using Emulator.Core.Devices;
using Emulator.Devices.Intc;

namespace Emulator.Machines.Pc;

/// <summary>
/// An ISA interrupt wire of the PC: it reaches the 8259A input of the same number and the IOAPIC
/// input of its global system interrupt, so either controller can be used. IRQ 0 (the PIT) is
/// wired to IOAPIC input 2, the interrupt source override the MADT publishes (ACPI 6.5 5.2.12.5).
/// </summary>
internal sealed class IsaIrqLine(CascadedPic8259 pic, int irq) : IInterruptLine
{
    private readonly IInterruptLine _pic = pic.Irq(irq);
    private IInterruptLine? _ioApic;
    private Action<int, bool>? _kernelIrqchip;
    private bool _level;

    public static int GlobalSystemInterrupt(int irq) => irq == 0 ? 2 : irq;

    public void ConnectIoApic(IoApic ioApic)
    {
        _ioApic = ioApic.Lines[GlobalSystemInterrupt(irq)];
        _ioApic.Set(_level);
    }

    /// <summary>Sends every level change to an in-kernel irqchip instead of the machine's PIC and IOAPIC.</summary>
    public void ForwardTo(Action<int, bool> setIrqLine)
    {
        _kernelIrqchip = setIrqLine;
        setIrqLine(irq, _level);
    }

    public void Set(bool asserted)
    {
        _level = asserted;
        if (_kernelIrqchip is { } kernel)
        {
            kernel(irq, asserted);
            return;
        }

        _pic.Set(asserted);
        _ioApic?.Set(asserted);
    }
}
