using Emulator.Core.Devices;
using Emulator.Core.Time;

namespace Emulator.Devices.Timers;

/// <summary>
/// The Intel 8254 programmable interval timer of a PC: counters 0-2 at offsets 0-2 (ports
/// 0x40-0x42) and the control word register at offset 3 (port 0x43). All six modes, binary and BCD
/// counting, the counter latch and read-back commands and LSB/MSB access are modelled; the input
/// clock is 1.193182 MHz. Counter 0's OUT drives IRQ 0; counters 0 and 1 have their gates tied
/// high; counter 2's gate and OUT belong to port 0x61 (<see cref="Chipset.SystemControlPortB"/>).
/// Counts are computed from the virtual clock, never ticked: IRQ 0 costs one timer event per
/// rising edge of OUT, whatever the mode. On the wire to the interrupt controller the short low
/// part of OUT in modes 2-5 is folded into the rising edge (the wire drops and rises at the same
/// instant), which an edge-triggered IRQ 0 cannot tell apart; the OUT level reported by read-back
/// is exact.
/// </summary>
public sealed class Pit8254 : IBusDevice
{
    /// <summary>The counters' input clock in Hz (the PC's 14.31818 MHz crystal divided by 12).</summary>
    public const long FrequencyHz = 1_193_182;

    /// <summary>First port.</summary>
    public const ushort Port = 0x40;

    /// <summary>Ports used.</summary>
    public const int PortCount = 4;

    private const int StateVersion = 1;
    private const int ControlPort = 3;

    private readonly IClock _clock;
    private readonly IInterruptLine _irq0;
    private readonly VirtualTimer _irq0Timer;
    private readonly Pit8254Counter[] _counters = new Pit8254Counter[3];
    private bool _irq0Level;

    /// <summary>Creates the timer on <paramref name="timers"/>' clock, with counter 0's OUT wired to <paramref name="irq0"/>.</summary>
    public Pit8254(TimerService timers, IInterruptLine irq0)
    {
        _clock = timers.Clock;
        _irq0 = irq0;
        _irq0Timer = timers.CreateTimer("pit8254-irq0", OnCounter0Edge);
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "pit8254";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>The OUT pin of counter <paramref name="counter"/> now.</summary>
    public bool GetOutput(int counter) => Counter(counter).Output(_clock.NowNanoseconds);

    /// <summary>The GATE input of counter <paramref name="counter"/>.</summary>
    public bool GetGate(int counter) => Counter(counter).Gate;

    /// <summary>Drives the GATE input of counter <paramref name="counter"/> (only counter 2's is wired to anything on a PC).</summary>
    public void SetGate(int counter, bool level)
    {
        Counter(counter).SetGate(level, _clock.NowNanoseconds);
        if (counter == 0)
        {
            UpdateCounter0();
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        // The control word register cannot be read (8254 datasheet, Read/Write Operations Summary: no-operation, bus 3-state).
        data[0] = offset < ControlPort ? _counters[offset].ReadCount(_clock.NowNanoseconds) : (byte)0xFF;
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        long now = _clock.NowNanoseconds;
        byte value = data[0];
        if (offset < ControlPort)
        {
            _counters[offset].WriteCount(value, now);
            if (offset == 0)
            {
                UpdateCounter0();
            }
        }
        else if (offset == ControlPort)
        {
            WriteControlWord(value, now);
        }
    }

    /// <summary>
    /// Power-on: the datasheet leaves mode, count and OUT undefined. Here every counter waits for a
    /// count in mode 0 (OUT low) so that no IRQ 0 arrives before the guest programs counter 0;
    /// counter 2's gate is low, as port 0x61 resets it.
    /// </summary>
    public void Reset()
    {
        for (int i = 0; i < _counters.Length; i++)
        {
            _counters[i] = new Pit8254Counter(gate: i != 2);
        }

        _irq0Level = true;
        UpdateCounter0();
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        long now = _clock.NowNanoseconds;
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            foreach (Pit8254Counter c in _counters)
            {
                c.Save(w, now);
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
            foreach (Pit8254Counter c in _counters)
            {
                c.Restore(r, now);
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Name}: saved state is truncated", e);
        }

        // Drive the wire whatever its last level: the interrupt controller was restored too.
        _irq0Level = !Counter0WireLevel(now);
        UpdateCounter0();
    }

    private Pit8254Counter Counter(int counter)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)counter, 2u, nameof(counter));
        return _counters[counter];
    }

    private void WriteControlWord(byte value, long now)
    {
        int select = value >> 6;
        int readWrite = (value >> 4) & 3;
        if (select == 3)
        {
            // Read-back command (8254 datasheet, Read-Back Command): D5 = 0 latches the count,
            // D4 = 0 the status, of each counter selected by D1-D3.
            for (int i = 0; i < 3; i++)
            {
                if ((value & (2 << i)) == 0)
                {
                    continue;
                }

                if ((value & 0x10) == 0)
                {
                    _counters[i].LatchStatus(now);
                }

                if ((value & 0x20) == 0)
                {
                    _counters[i].LatchCount(now);
                }
            }

            return;
        }

        if (readWrite == 0)
        {
            _counters[select].LatchCount(now);
            return;
        }

        _counters[select].Program(value);
        if (select == 0)
        {
            UpdateCounter0();
        }
    }

    // Modes 2 and 3 rest high between reload pulses on the wire; the others follow OUT.
    private bool Counter0WireLevel(long now) => _counters[0].Mode is 2 or 3 || _counters[0].Output(now);

    private void UpdateCounter0()
    {
        long now = _clock.NowNanoseconds;
        DriveIrq0(Counter0WireLevel(now));
        ArmCounter0(now);
    }

    private void ArmCounter0(long now)
    {
        if (_counters[0].NextRisingEdge(now) is { } edge)
        {
            _irq0Timer.Arm(edge);
        }
        else
        {
            _irq0Timer.Cancel();
        }
    }

    private void OnCounter0Edge()
    {
        long now = _clock.NowNanoseconds;
        if (_irq0Level)
        {
            _irq0.Set(false);
        }

        _irq0Level = true;
        _irq0.Set(true);
        ArmCounter0(now);
    }

    private void DriveIrq0(bool level)
    {
        if (level != _irq0Level)
        {
            _irq0Level = level;
            _irq0.Set(level);
        }
    }
}
