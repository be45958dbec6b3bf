using Emulator.Core.Devices;
using Emulator.Core.Time;
using Emulator.Devices.Timers;

namespace Emulator.Devices.Chipset;

/// <summary>
/// Port 0x61, the NMI status and control register of the PIIX3 (the AT's "port B"). Bit 0 drives
/// the 8254's counter 2 gate, bit 1 enables the speaker, bits 2-3 enable the SERR# and IOCHK# NMI
/// sources; read-only bit 4 toggles with every DRAM refresh request and bit 5 is counter 2's OUT;
/// bits 6-7 report NMI sources, of which this machine has none. There is no sound: the speaker
/// level is only exposed for diagnostics.
/// </summary>
public sealed class SystemControlPortB : IBusDevice
{
    /// <summary>The port.</summary>
    public const ushort Port = 0x61;

    /// <summary>Counter 2 gate (read/write).</summary>
    public const byte Timer2Gate = 0x01;

    /// <summary>Speaker data enable (read/write).</summary>
    public const byte SpeakerDataEnable = 0x02;

    /// <summary>Refresh cycle toggle (read-only).</summary>
    public const byte RefreshToggle = 0x10;

    /// <summary>Counter 2 OUT (read-only).</summary>
    public const byte Timer2Output = 0x20;

    /// <summary>
    /// The refresh period: 18 cycles of the 8254's 1.193182 MHz clock, the interval the AT's BIOS
    /// programs into counter 1 for refresh (15.085 us); the toggle changes once per period.
    /// </summary>
    public const long RefreshPeriodNanoseconds = 15_085;

    private const byte WritableBits = 0x0F;
    private const int StateVersion = 1;

    private readonly Pit8254 _pit;
    private readonly IClock _clock;
    private byte _control;

    /// <summary>Creates the port over <paramref name="pit"/>'s counter 2.</summary>
    public SystemControlPortB(Pit8254 pit, IClock clock)
    {
        _pit = pit;
        _clock = clock;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "port61";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>True while the speaker would sound: data enabled and counter 2's OUT high.</summary>
    public bool SpeakerLevel => (_control & SpeakerDataEnable) != 0 && _pit.GetOutput(2);

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        byte value = _control;
        if ((_clock.NowNanoseconds / RefreshPeriodNanoseconds & 1) != 0)
        {
            value |= RefreshToggle;
        }

        if (_pit.GetOutput(2))
        {
            value |= Timer2Output;
        }

        data[0] = value;
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        _control = (byte)(data[0] & WritableBits);
        _pit.SetGate(2, (_control & Timer2Gate) != 0);
    }

    /// <summary>PIIX3 default: every bit clear (gate low, speaker off, NMI sources enabled).</summary>
    public void Reset()
    {
        _control = 0;
        _pit.SetGate(2, false);
    }

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, StateVersion, [_control]);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 1)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        _control = (byte)(state.Data[0] & WritableBits);
        _pit.SetGate(2, (_control & Timer2Gate) != 0);
    }
}
