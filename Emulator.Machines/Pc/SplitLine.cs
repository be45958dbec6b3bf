using Emulator.Core.Devices;

namespace Emulator.Machines.Pc;

/// <summary>
/// One interrupt output wired to several inputs: every input sees each level the output drives. The
/// RTC's IRQ pin reaches both the interrupt controllers (IRQ 8) and the ACPI PM logic, which sets
/// RTC_STS when it rises (ACPI 6.5 Table 4.16).
/// </summary>
internal sealed class SplitLine(params IInterruptLine[] inputs) : IInterruptLine
{
    public void Set(bool asserted)
    {
        foreach (IInterruptLine input in inputs)
        {
            input.Set(asserted);
        }
    }
}
