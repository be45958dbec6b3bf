using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Time;

namespace Emulator.Devices.Timers;

/// <summary>
/// The High Precision Event Timer block of the IA-PC HPET Specification 1.0a: 1 KiB of registers
/// (normally at 0xFED00000), a 64-bit main counter at 100 MHz (period 10 ns = 10,000,000 fs, as
/// QEMU's, so a guest prints the same counter line) and three timers, each 64-bit and periodic
/// capable, as QEMU's PC. The counter is computed from the virtual clock when read, never ticked;
/// each timer arms one <see cref="VirtualTimer"/> for its next comparator match.
/// </summary>
/// <remarks>
/// Interrupts: with the legacy replacement route (LEG_RT_CNF) timer 0 drives IRQ 0 (IOAPIC input 2)
/// and timer 1 IRQ 8 in place of the 8254 and the RTC (2.3.9, <see cref="HpetLegacyRoute"/>);
/// otherwise a timer drives the IOAPIC input its Tn_INT_ROUTE_CNF names, among 16-23. Level mode
/// sets Tn_INT_STS and holds the wire until software clears the bit (2.3.6); an edge-triggered
/// timer lowers and raises its wire at each interrupt and holds it high in between, because the
/// 8259A loses an edge request that drops before the INTA cycle. FSB delivery is not offered
/// (Tn_FSB_INT_DEL_CAP = 0). Deviation: a periodic timer whose callback runs late (host time)
/// advances its comparator past the counter at once and interrupts once, instead of once per
/// missed period; so does one whose period is shorter than <see cref="MinimumPeriodTicks"/>.
/// </remarks>
public sealed class Hpet : IBusDevice
{
    /// <summary>The usual base address on a PC (the ACPI HPET table and QEMU's).</summary>
    public const ulong DefaultBase = 0xFED0_0000;

    /// <summary>The register block's size (2.3.1: 1024 bytes per timer block).</summary>
    public const ulong WindowSize = 0x400;

    /// <summary>Timers in the block.</summary>
    public const int TimerCount = 3;

    /// <summary>COUNTER_CLK_PERIOD: femtoseconds per counter tick (10 ns; the spec allows at most 100 ns).</summary>
    public const uint PeriodFemtoseconds = 10_000_000;

    /// <summary>
    /// General Capabilities and ID (2.3.4): period in bits 63:32, vendor 8086h in 31:16, LEG_RT_CAP
    /// (15), COUNT_SIZE_CAP 64-bit (13), NUM_TIM_CAP = timers - 1 (12:8), REV_ID 1 (7:0; must not be 0).
    /// </summary>
    public const ulong Capabilities = ((ulong)PeriodFemtoseconds << 32) | (0x8086ul << 16) | (1 << 15) | (1 << 13) | ((TimerCount - 1) << 8) | 1;

    /// <summary>Register offsets (2.3.1, Table 2).</summary>
    public const ulong CapabilitiesOffset = 0x000, ConfigurationOffset = 0x010, InterruptStatusOffset = 0x020, MainCounterOffset = 0x0F0;

    /// <summary>Timer N's registers start at 0x100 + 0x20 * N: configuration, comparator (+8), FSB route (+0x10).</summary>
    public const ulong TimerBase = 0x100, TimerStride = 0x20;

    /// <summary>
    /// The shortest period a periodic timer interrupts at: 1000 ticks (10 us, the local APIC timer's
    /// floor too), published as the ACPI table's minimum clock tick (3.2.4). A shorter period still
    /// advances the comparator by whole periods, but interrupts once per 10 us at most.
    /// </summary>
    public const ushort MinimumPeriodTicks = 1000;

    /// <summary>General Configuration bits (2.3.5).</summary>
    public const ulong EnableCnf = 1, LegacyRouteCnf = 2;

    private const int StateVersion = 1;
    private const long FemtosecondsPerNanosecond = 1_000_000;

    private readonly IClock _clock;
    private readonly GuestErrorLog _errors;
    private readonly HpetTimer[] _timers = new HpetTimer[TimerCount];
    private readonly HpetLegacyRoute _irq0, _irq8;
    private IReadOnlyList<IInterruptLine>? _ioApic;
    private ulong _config, _status;

    // The main counter: its value at the origin, and while enabled it runs from the origin's time.
    private ulong _counterAtOrigin;
    private long _originNanoseconds;

    /// <summary>
    /// Creates the block on <paramref name="timers"/>' clock. <paramref name="irq0"/> and
    /// <paramref name="irq8"/> are the ISA wires the legacy replacement route takes over: the 8254
    /// must drive <see cref="Irq0FromPit"/> and the RTC <see cref="Irq8FromRtc"/> instead.
    /// </summary>
    public Hpet(TimerService timers, IInterruptLine irq0, IInterruptLine irq8, GuestErrorLog? errors = null)
    {
        _clock = timers.Clock;
        _errors = errors ?? new GuestErrorLog();
        _irq0 = new HpetLegacyRoute(irq0);
        _irq8 = new HpetLegacyRoute(irq8);
        for (int i = 0; i < TimerCount; i++)
        {
            _timers[i] = new HpetTimer(i, timers, OnTimer);
        }

        Reset();
    }

    /// <inheritdoc/>
    public string Name => "hpet";

    /// <summary>2.3.2: software uses 32-bit or 64-bit accesses, aligned; other widths are reported and ignored.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Dword | AccessSizes.Qword;

    /// <summary>The input the 8254's counter 0 drives; it reaches IRQ 0 unless the legacy replacement route is on.</summary>
    public IInterruptLine Irq0FromPit => _irq0.DeviceInput;

    /// <summary>The input the RTC drives; it reaches IRQ 8 unless the legacy replacement route is on.</summary>
    public IInterruptLine Irq8FromRtc => _irq8.DeviceInput;

    /// <summary>Whether LEG_RT_CNF is set (the 8254's and the RTC's interrupts are not delivered).</summary>
    public bool LegacyReplacement => (_config & LegacyRouteCnf) != 0;

    /// <summary>Raised (under the device lock) when LEG_RT_CNF changes, for an 8254 outside the machine's models (KVM's in-kernel PIT).</summary>
    public event Action<bool>? LegacyReplacementChanged;

    /// <summary>The main counter now.</summary>
    public ulong MainCounter => CounterAt(_clock.NowNanoseconds);

    /// <summary>Connects the IOAPIC's inputs (GSI 0-23), where a timer without the legacy route interrupts.</summary>
    public void ConnectIoApic(IReadOnlyList<IInterruptLine> inputs)
    {
        _ioApic = inputs;
        foreach (HpetTimer t in _timers)
        {
            UpdateLine(t);
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        data.Clear();
        if (!Aligned(offset, data.Length, "read"))
        {
            return;
        }

        ulong value = ReadRegister(offset & ~7ul) >> (int)(8 * (offset & 7));
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(value >> (8 * i));
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!Aligned(offset, data.Length, "write"))
        {
            return;
        }

        int shift = (int)(8 * (offset & 7));
        ulong value = data.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(data) : (ulong)BinaryPrimitives.ReadUInt32LittleEndian(data) << shift;
        ulong mask = data.Length == 8 ? ulong.MaxValue : (ulong)uint.MaxValue << shift;
        WriteRegister(offset & ~7ul, value, mask);
    }

    /// <summary>Power-on: counter halted at 0, legacy route off, every timer's configuration 0 and comparator all ones.</summary>
    public void Reset()
    {
        _config = 0;
        _status = 0;
        _counterAtOrigin = 0;
        _originNanoseconds = _clock.NowNanoseconds;
        foreach (HpetTimer t in _timers)
        {
            t.Reset();
            UpdateLine(t);
        }

        SetLegacyRoute(false);
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        long now = _clock.NowNanoseconds;
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(_config);
            w.Write(_status);
            w.Write(_counterAtOrigin);
            w.Write(now - _originNanoseconds);
            foreach (HpetTimer t in _timers)
            {
                t.Save(w);
            }
        }

        return new DeviceState(Name, StateVersion, stream.ToArray());
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version}");
        }

        long now = _clock.NowNanoseconds;
        try
        {
            using var r = new BinaryReader(new MemoryStream(state.Data));
            _config = r.ReadUInt64() & (EnableCnf | LegacyRouteCnf);
            _status = r.ReadUInt64() & ((1ul << TimerCount) - 1);
            _counterAtOrigin = r.ReadUInt64();
            long elapsed = r.ReadInt64();
            if (elapsed < 0)
            {
                throw new InvalidDataException($"{Name}: saved state has a negative counter phase");
            }

            _originNanoseconds = now - elapsed;
            foreach (HpetTimer t in _timers)
            {
                t.Restore(r);
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Name}: saved state is truncated", e);
        }

        // Drive every wire whatever its last level: the interrupt controllers were restored too.
        _irq0.HpetOwns = _irq8.HpetOwns = LegacyReplacement;
        foreach (HpetTimer t in _timers)
        {
            t.DrivenLine = LineOf(t);
            t.DrivenLevel = !DesiredLevel(t);
            UpdateLine(t);
            Arm(t, now);
        }

        _irq0.Refresh();
        _irq8.Refresh();
        LegacyReplacementChanged?.Invoke(LegacyReplacement);
    }

    private bool Enabled => (_config & EnableCnf) != 0;

    private bool Aligned(ulong offset, int length, string access)
    {
        if ((length == 4 && offset % 4 == 0) || (length == 8 && offset % 8 == 0))
        {
            return true;
        }

        _errors.Report(Name, $"{length}-byte {access} at offset 0x{offset:x} ignored (the HPET takes aligned 32- and 64-bit accesses, spec 2.3.2)");
        return false;
    }

    private ulong ReadRegister(ulong register)
    {
        switch (register)
        {
            case CapabilitiesOffset:
                return Capabilities;
            case ConfigurationOffset:
                return _config;
            case InterruptStatusOffset:
                return _status;
            case MainCounterOffset:
                return MainCounter;
        }

        if (TimerAt(register) is (HpetTimer t, ulong field))
        {
            return field switch
            {
                0x00 => t.ConfigRegister,
                0x08 => t.Comparator,
                _ => t.FsbRoute,
            };
        }

        _errors.Report(Name, $"read at offset 0x{register:x}, where there is no register (reads 0)");
        return 0;
    }

    private void WriteRegister(ulong register, ulong value, ulong mask)
    {
        switch (register)
        {
            case CapabilitiesOffset:
                _errors.Report(Name, $"write of 0x{value:x} to the read-only capabilities register dropped");
                return;
            case ConfigurationOffset:
                WriteConfiguration(Merge(_config, value, mask));
                return;
            case InterruptStatusOffset:
                ClearStatus(value & mask);
                return;
            case MainCounterOffset:
                WriteMainCounter(Merge(MainCounter, value, mask));
                return;
        }

        if (TimerAt(register) is (HpetTimer t, ulong field))
        {
            switch (field)
            {
                case 0x00:
                    WriteTimerConfig(t, Merge(t.ConfigRegister, value, mask));
                    break;
                case 0x08:
                    WriteComparator(t, value, mask);
                    break;
                default:
                    t.FsbRoute = Merge(t.FsbRoute, value, mask);
                    break;
            }

            return;
        }

        _errors.Report(Name, $"write of 0x{value:x} at offset 0x{register:x}, where there is no register (dropped)");
    }

    private static ulong Merge(ulong old, ulong value, ulong mask) => (old & ~mask) | (value & mask);

    // Timer N's configuration, comparator and FSB route; the fourth quadword of each is reserved.
    private (HpetTimer, ulong)? TimerAt(ulong register)
    {
        if (register < TimerBase || register >= TimerBase + (TimerStride * TimerCount))
        {
            return null;
        }

        ulong field = (register - TimerBase) % TimerStride;
        return field <= 0x10 ? (_timers[(register - TimerBase) / TimerStride], field) : null;
    }

    // General Configuration (2.3.5): ENABLE_CNF halts or runs the counter and gates every timer's
    // interrupt; LEG_RT_CNF moves timers 0 and 1 onto IRQ 0 and IRQ 8 (2.3.9).
    private void WriteConfiguration(ulong value)
    {
        long now = _clock.NowNanoseconds;
        ulong old = _config;
        if ((value & ~(EnableCnf | LegacyRouteCnf)) != 0)
        {
            _errors.Report(Name, $"write of 0x{value:x} to the configuration register sets reserved bits (ignored)");
        }

        value &= EnableCnf | LegacyRouteCnf;
        if (((old ^ value) & EnableCnf) != 0)
        {
            // Fold the time counted so far into the origin whether the counter starts or stops.
            _counterAtOrigin = CounterAt(now);
            _originNanoseconds = now;
        }

        _config = value;
        foreach (HpetTimer t in _timers)
        {
            if (!Enabled)
            {
                t.EdgeHigh = false;
            }

            UpdateLine(t);
            Arm(t, now);
        }

        if (((old ^ value) & LegacyRouteCnf) != 0)
        {
            SetLegacyRoute(LegacyReplacement);
        }
    }

    private void SetLegacyRoute(bool on)
    {
        _irq0.HpetOwns = on;
        _irq8.HpetOwns = on;
        LegacyReplacementChanged?.Invoke(on);
    }

    // General Interrupt Status (2.3.6): writing 1 clears a level-triggered timer's bit (and its wire).
    private void ClearStatus(ulong bits)
    {
        _status &= ~bits;
        foreach (HpetTimer t in _timers)
        {
            UpdateLine(t);
        }
    }

    // Main Counter Value (2.3.7): software should write it only while halted; a write while running
    // is taken as well and the counter continues from the written value.
    private void WriteMainCounter(ulong value)
    {
        long now = _clock.NowNanoseconds;
        if (Enabled)
        {
            _errors.Report(Name, "main counter written while the counter runs (the spec asks for it halted)");
        }

        _counterAtOrigin = value;
        _originNanoseconds = now;
        foreach (HpetTimer t in _timers)
        {
            Arm(t, now);
        }
    }

    // Timer N Configuration and Capabilities (2.3.8).
    private void WriteTimerConfig(HpetTimer t, ulong value)
    {
        ulong config = value & HpetTimer.Writable;
        int route = (int)((config & HpetTimer.RouteMask) >> HpetTimer.RouteShift);
        if (route != t.Route && !HpetTimer.CanRouteTo(route))
        {
            // "If the value is not supported by this particular timer, then the value read back will not match what is written."
            _errors.Report(Name, $"timer {t.Index} routed to IOAPIC input {route}, which Tn_INT_ROUTE_CAP does not offer (route unchanged)");
            config = (config & ~HpetTimer.RouteMask) | ((ulong)t.Route << HpetTimer.RouteShift);
        }

        t.Config = config;
        if ((config & HpetTimer.Mode32) != 0)
        {
            t.Comparator &= uint.MaxValue;
            t.Period &= uint.MaxValue;
        }

        if (!t.IsLevel)
        {
            // Edge-triggered timers leave Tn_INT_STS alone (software ignores it, 2.3.6).
            _status &= ~(1ul << t.Index);
        }

        if (!t.InterruptEnabled || t.IsLevel)
        {
            t.EdgeHigh = false;
        }

        UpdateLine(t);
        Arm(t, _clock.NowNanoseconds);
    }

    // Timer N Comparator Value (2.3.9): a one-shot timer's write sets the comparator. A periodic
    // timer's write sets its period, and with Tn_VAL_SET_CNF also the accumulator itself; the bit
    // clears itself after that write (Linux writes the accumulator, then the period alone). In
    // 32-bit mode only the low 32 bits count.
    private void WriteComparator(HpetTimer t, ulong value, ulong mask)
    {
        mask &= t.WidthMask;
        if (!t.IsPeriodic || (t.Config & HpetTimer.ValueSet) != 0)
        {
            t.Comparator = Merge(t.Comparator, value, mask);
        }

        if (t.IsPeriodic)
        {
            t.Period = Merge(t.Period, value, mask);
        }

        t.Config &= ~HpetTimer.ValueSet;
        Arm(t, _clock.NowNanoseconds);
    }

    private ulong CounterAt(long now) => Enabled ? _counterAtOrigin + (ulong)TicksSinceOrigin(now) : _counterAtOrigin;

    private UInt128 TicksSinceOrigin(long now) =>
        (UInt128)(ulong)Math.Max(0, now - _originNanoseconds) * FemtosecondsPerNanosecond / PeriodFemtoseconds;

    // Arms the timer for its next event: the comparator's next match with the counter's low Width
    // bits and, for a one-shot timer in 32-bit mode, the wrap of those bits, which also interrupts
    // (2.3.9.2.1). A comparator equal to the counter now matched already and matches again after a wrap.
    private void Arm(HpetTimer t, long now)
    {
        if (!Enabled)
        {
            t.Timer.Cancel();
            return;
        }

        ulong mask = t.WidthMask;
        UInt128 wrap = (UInt128)mask + 1;
        ulong counter = CounterAt(now) & mask;
        UInt128 toMatch = (t.Comparator - counter) & mask;
        if (toMatch == 0)
        {
            toMatch = wrap;
        }

        UInt128 ahead = toMatch;
        t.PendingIsMatch = true;
        if (t.Width == 32 && !t.IsPeriodic)
        {
            UInt128 toWrap = wrap - counter;
            if (toWrap < toMatch)
            {
                ahead = toWrap;
                t.PendingIsMatch = false;
            }
        }

        // The event's tick, counted from the origin, and its time (rounded up to a whole nanosecond).
        UInt128 tick = TicksSinceOrigin(now) + ahead;
        UInt128 nanoseconds = ((tick * PeriodFemtoseconds) + FemtosecondsPerNanosecond - 1) / FemtosecondsPerNanosecond;
        if (nanoseconds > long.MaxValue / 2 || _originNanoseconds > (long.MaxValue / 2) - (long)nanoseconds)
        {
            // Centuries away (a 64-bit comparator behind the counter): nothing to arm.
            t.Timer.Cancel();
            return;
        }

        t.Timer.Arm(_originNanoseconds + (long)nanoseconds);
    }

    private void OnTimer(HpetTimer t)
    {
        long now = _clock.NowNanoseconds;
        if (!Enabled)
        {
            return;
        }

        if (t.PendingIsMatch && t.IsPeriodic && t.Period != 0)
        {
            // Periodic mode (2.3.9.2.2): each match adds the period to the comparator. A callback
            // that ran late moves it past the counter at once (see the class remarks).
            ulong mask = t.WidthMask;
            ulong counter = CounterAt(now) & mask;
            ulong behind = (counter - t.Comparator) & mask;
            ulong periods = behind < (mask >> 1) ? (behind / t.Period) + 1 : 1;
            ulong ahead = (t.Period * periods) - (behind < (mask >> 1) ? behind : 0);
            if (ahead < MinimumPeriodTicks)
            {
                periods += (MinimumPeriodTicks - ahead + t.Period - 1) / t.Period;
            }

            t.Comparator = (t.Comparator + (periods * t.Period)) & mask;
        }

        Interrupt(t);
        Arm(t, now);
    }

    private void Interrupt(HpetTimer t)
    {
        if (t.IsLevel)
        {
            // The status bit is set whether or not the interrupt is enabled (2.3.6).
            _status |= 1ul << t.Index;
        }
        else if (t.InterruptEnabled)
        {
            t.EdgeHigh = false;
            UpdateLine(t);
            t.EdgeHigh = true;
        }

        UpdateLine(t);
    }

    private bool DesiredLevel(HpetTimer t) =>
        Enabled && t.InterruptEnabled && (t.IsLevel ? (_status & (1ul << t.Index)) != 0 : t.EdgeHigh);

    private IInterruptLine? LineOf(HpetTimer t)
    {
        if (LegacyReplacement && t.Index < 2)
        {
            return t.Index == 0 ? _irq0.HpetInput : _irq8.HpetInput;
        }

        int route = t.Route;
        return _ioApic is { } pins && HpetTimer.CanRouteTo(route) && route < pins.Count ? pins[route] : null;
    }

    // Moves the timer's output to the wire it is routed to now (lowering the old one) and drives it.
    private void UpdateLine(HpetTimer t)
    {
        IInterruptLine? line = LineOf(t);
        if (!ReferenceEquals(line, t.DrivenLine))
        {
            if (t.DrivenLevel)
            {
                t.DrivenLine?.Set(false);
            }

            t.DrivenLine = line;
            t.DrivenLevel = false;
        }

        bool level = DesiredLevel(t);
        if (line is not null && level != t.DrivenLevel)
        {
            t.DrivenLevel = level;
            line.Set(level);
        }
    }
}
