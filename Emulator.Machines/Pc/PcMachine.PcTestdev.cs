using Emulator.Core.Devices;
using Emulator.Core.Memory;
using Emulator.Devices.Diagnostics;

namespace Emulator.Machines.Pc;

/// <summary>
/// QEMU's pc-testdev (<see cref="PcConfig.PcTestdev"/>, <c>--device pc-testdev</c>): kvm-unit-tests'
/// x86 kernels raise ISA interrupt lines through it (the IOAPIC and PIC tests), run instructions on
/// its MMIO bytes (the emulator test) and use its scratch port for string I/O.
/// </summary>
public sealed partial class PcMachine
{
    /// <summary>The pc-testdev, or null without <c>--device pc-testdev</c>.</summary>
    public PcTestdev? PcTestdev { get; private set; }

    private void AddPcTestdev()
    {
        if (!_config.PcTestdev)
        {
            return;
        }

        // IRQ 2 is the cascade input: nothing drives it.
        IInterruptLine[] isaIrqs = [.. Enumerable.Range(0, 16).Select(irq => irq == 2 ? UnconnectedLine.Instance : IsaIrq(irq))];
        PcTestdev = new PcTestdev(isaIrqs);
        Platform.Io.Register(PcTestdev.ScratchPort, PcTestdev.ScratchPortCount, PcTestdev, PcTestdev.ScratchPort);
        Platform.Io.Register(PcTestdev.IrqLinePort, PcTestdev.IrqLineCount, PcTestdev, PcTestdev.IrqLinePort);
        Platform.Memory.AddMmio("pc-testdev-iomem", new GuestPhysicalAddress(PcTestdev.MemoryBase), PcTestdev.MemorySize, PcTestdev.Memory);
        _devices.Add(PcTestdev);
    }
}
