using Emulator.Core.Io;
using Emulator.Core.Memory;
using Emulator.Core.Time;

namespace Emulator.Core.Machine;

/// <summary>What a backend needs of a machine: its memory, its buses, its time and its power/reset control.</summary>
public sealed class MachinePlatform : IDisposable
{
    /// <summary>Creates the empty buses of a machine; <paramref name="deterministicTime"/> selects the test clock.</summary>
    public MachinePlatform(bool deterministicTime = false)
    {
        Memory = new AddressSpace(DeviceLock);
        Io = new IoPortBus(DeviceLock);
        Timers = deterministicTime ? TimerService.Deterministic(DeviceLock) : TimerService.ForHostTime(DeviceLock);
    }

    /// <summary>
    /// The number of vCPUs (<c>--smp</c>): one package of that many single-thread cores, which
    /// CPUID's topology leaves report (<see cref="Cpu.CpuModel"/>).
    /// </summary>
    public int ProcessorCount { get; init; } = 1;

    /// <summary>Serializes every device access (bus dispatch and timer callbacks).</summary>
    public Lock DeviceLock { get; } = new();

    /// <summary>The guest physical address space.</summary>
    public AddressSpace Memory { get; }

    /// <summary>The port I/O space.</summary>
    public IoPortBus Io { get; }

    /// <summary>Virtual time and device timers.</summary>
    public TimerService Timers { get; }

    /// <summary>
    /// The A20 gate driven by the i8042 and port 0x92. The software CPU masks address line 20 while it
    /// is off; KVM does not yet (guests see it enabled there).
    /// </summary>
    public A20Gate A20 { get; } = new();

    /// <summary>Power-off, reset and exit requests from devices.</summary>
    public MachineControl Control { get; } = new();

    /// <summary>What the guest did wrong to the devices, counted and optionally logged.</summary>
    public GuestErrorLog GuestErrors { get; } = new();

    /// <inheritdoc/>
    public void Dispose()
    {
        Timers.Dispose();
        Control.Dispose();
    }
}
