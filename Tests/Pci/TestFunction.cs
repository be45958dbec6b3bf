using Emulator.Core.Devices;
using Emulator.Devices.Pci;
using Emulator.Tests.Core;

namespace Emulator.Tests.Pci;

/// <summary>A PCI function with a 4 KiB memory BAR 0 and a 32-port I/O BAR 1 whose accesses are recorded.</summary>
internal sealed class TestFunction : PciFunction
{
    public TestFunction(int pin = 0)
        : base("test-function", 0x1234, 0x5678, 1, 0xff_00_00)
    {
        AddBar(new PciBar(0, PciBarKind.Memory32, 0x1000, MemoryBar));
        AddBar(new PciBar(1, PciBarKind.Io, 0x20, IoBar));
        SetInterruptPin(pin);
    }

    public RecordingDevice MemoryBar { get; } = new("test-mem", AccessSizes.All);

    public RecordingDevice IoBar { get; } = new("test-io", AccessSizes.All);

    public void Raise(bool level) => SetInterrupt(level);
}
