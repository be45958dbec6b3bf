using Emulator.Machines.Pc;

namespace Emulator.Control.Guest;

/// <summary>
/// The kernel symbols of one machine, found in its memory on first use and kept until the machine
/// resets (a new boot may place the kernel elsewhere). A failed search is not kept: the kernel may
/// simply not have booted yet.
/// </summary>
public sealed class KernelSymbolCache
{
    private readonly PcMachine _machine;
    private readonly Lock _lock = new();
    private KernelSymbols? _symbols;

    /// <summary>Watches <paramref name="machine"/>'s resets.</summary>
    public KernelSymbolCache(PcMachine machine)
    {
        _machine = machine;
        machine.EventRaised += e =>
        {
            if (e.Kind == MachineEventKind.Reset)
            {
                lock (_lock)
                {
                    _symbols = null;
                }
            }
        };
    }

    /// <summary>The symbols, or null with the reason.</summary>
    public KernelSymbols? Get(out string why)
    {
        lock (_lock)
        {
            why = string.Empty;
            return _symbols ??= KallsymsFinder.Find(_machine.Platform.Memory, out why);
        }
    }
}
