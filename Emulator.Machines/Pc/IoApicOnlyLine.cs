using Emulator.Core.Devices;
using Emulator.Devices.Intc;

namespace Emulator.Machines.Pc;

/// <summary>
/// A wire to one IOAPIC input that no 8259A input shares (GSI 16-23, where the HPET's timers may be
/// routed): it reaches the machine's IOAPIC, or the in-kernel irqchip's under <c>--kvm-irqchip kernel</c>.
/// </summary>
internal sealed class IoApicOnlyLine(int gsi) : IInterruptLine
{
    private IInterruptLine? _ioApic;
    private Action<int, bool>? _kernelIrqchip;
    private bool _level;

    public void ConnectIoApic(IoApic ioApic)
    {
        _ioApic = ioApic.Lines[gsi];
        _ioApic.Set(_level);
    }

    /// <summary>Sends every level change to an in-kernel irqchip instead of the machine's IOAPIC.</summary>
    public void ForwardTo(Action<int, bool> setIrqLine)
    {
        _kernelIrqchip = setIrqLine;
        setIrqLine(gsi, _level);
    }

    public void Set(bool asserted)
    {
        _level = asserted;
        if (_kernelIrqchip is { } kernel)
        {
            kernel(gsi, asserted);
            return;
        }

        _ioApic?.Set(asserted);
    }
}
