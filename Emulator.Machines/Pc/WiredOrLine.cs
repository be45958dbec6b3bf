using Emulator.Core.Devices;

namespace Emulator.Machines.Pc;

/// <summary>
/// Several interrupt sources sharing one level-triggered wire (a wired-OR): the wire is asserted
/// while any input is. The PC's IRQ 9 carries the ACPI SCI, which ACPI 6.5 5.2.9 (SCI_INT) declares
/// sharable, and whatever PCI interrupt the guest steers there through the PIIX3.
/// </summary>
internal sealed class WiredOrLine(IInterruptLine wire)
{
    private readonly Lock _lock = new();
    private int _asserted;

    /// <summary>A new input on the wire, deasserted.</summary>
    public IInterruptLine CreateInput() => new Input(this);

    private void Change(bool assert)
    {
        lock (_lock)
        {
            bool before = _asserted > 0;
            _asserted += assert ? 1 : -1;
            bool after = _asserted > 0;
            if (before != after)
            {
                wire.Set(after);
            }
        }
    }

    private sealed class Input(WiredOrLine owner) : IInterruptLine
    {
        private bool _level;

        public void Set(bool asserted)
        {
            lock (owner._lock)
            {
                if (asserted == _level)
                {
                    return;
                }

                _level = asserted;
                owner.Change(asserted);
            }
        }
    }
}
