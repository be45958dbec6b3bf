using Emulator.Core.Devices;

namespace Emulator.Devices.Timers;

/// <summary>
/// One of the two wires the HPET's legacy replacement route takes over (IA-PC HPET 1.0a 2.3.9,
/// Table 4: timer 0 on IRQ 0 / IOAPIC input 2 instead of the 8254, timer 1 on IRQ 8 instead of the
/// RTC). The legacy device drives <see cref="DeviceInput"/>, the HPET drives its own input, and the
/// wire follows the HPET while LEG_RT_CNF is set, the legacy device otherwise: "the 8254 timer will
/// not cause any interrupts" while the HPET owns IRQ 0 (likewise the RTC on IRQ 8).
/// </summary>
public sealed class HpetLegacyRoute
{
    private readonly IInterruptLine _wire;
    private bool _deviceLevel, _hpetLevel, _hpetOwns, _wireLevel;

    /// <summary>Creates the switch in front of <paramref name="wire"/>, which the legacy device owns at first.</summary>
    public HpetLegacyRoute(IInterruptLine wire)
    {
        _wire = wire;
        DeviceInput = new Input(this, hpet: false);
        HpetInput = new Input(this, hpet: true);
    }

    /// <summary>What the legacy device (the 8254's OUT0, the RTC's IRQ) drives instead of the wire.</summary>
    public IInterruptLine DeviceInput { get; }

    /// <summary>What the HPET's timer drives.</summary>
    public IInterruptLine HpetInput { get; }

    /// <summary>True while the HPET owns the wire (LEG_RT_CNF set).</summary>
    public bool HpetOwns
    {
        get => _hpetOwns;
        set
        {
            _hpetOwns = value;
            Drive(force: false);
        }
    }

    /// <summary>Drives the wire with the level of whichever side owns it, even when it seems unchanged (after a restore).</summary>
    public void Refresh() => Drive(force: true);

    private void Drive(bool force)
    {
        bool level = _hpetOwns ? _hpetLevel : _deviceLevel;
        if (level != _wireLevel || force)
        {
            _wireLevel = level;
            _wire.Set(level);
        }
    }

    private sealed class Input(HpetLegacyRoute route, bool hpet) : IInterruptLine
    {
        public void Set(bool asserted)
        {
            if (hpet)
            {
                route._hpetLevel = asserted;
            }
            else
            {
                route._deviceLevel = asserted;
            }

            // An edge on the owning side reaches the wire even if the wire already had that level
            // (the 8254 drops and raises OUT0 within one call).
            if (hpet == route._hpetOwns)
            {
                route._wireLevel = asserted;
                route._wire.Set(asserted);
            }
        }
    }
}
