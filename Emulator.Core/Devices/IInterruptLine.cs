namespace Emulator.Core.Devices;

/// <summary>An interrupt request wire from a device to an interrupt controller.</summary>
public interface IInterruptLine
{
    /// <summary>Drives the wire: true asserts it, false deasserts it. Edge-triggered receivers see the rising edge.</summary>
    void Set(bool asserted);
}

/// <summary>A wire connected to nothing (a device whose IRQ is not routed yet).</summary>
public sealed class UnconnectedLine : IInterruptLine
{
    /// <summary>The shared instance.</summary>
    public static readonly UnconnectedLine Instance = new();

    /// <summary>The last level driven, for diagnostics and tests.</summary>
    public bool Level { get; private set; }

    /// <inheritdoc/>
    public void Set(bool asserted) => Level = asserted;
}
