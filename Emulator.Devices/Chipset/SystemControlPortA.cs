using Emulator.Core.Devices;
using Emulator.Core.Machine;

namespace Emulator.Devices.Chipset;

/// <summary>
/// Port 0x92, system control port A ("fast A20 and reset"), as the SMSC FDC37B72x datasheet
/// describes its Port 92 Register: bit 1 drives ALT_A20, ORed with the i8042's A20 output; writing 1
/// to bit 0 pulses the CPU reset line, and bit 0 must be written 0 again before another pulse.
/// Reserved bits read 0 but bits 2 and 5, which read 1. The reset is a whole-machine reset here.
/// </summary>
public sealed class SystemControlPortA : IBusDevice
{
    /// <summary>The port.</summary>
    public const ushort Port = 0x92;

    /// <summary>Bit 0: alternate reset.</summary>
    public const byte AlternateReset = 0x01;

    /// <summary>Bit 1: alternate A20 gate.</summary>
    public const byte AlternateA20 = 0x02;

    private const byte ReadAsOne = 0x24;
    private const int StateVersion = 1;

    private readonly MachineControl _control;
    private readonly A20Gate.Input _a20;
    private byte _value;

    /// <summary>Creates the port raising resets on <paramref name="control"/> and driving <paramref name="a20"/>.</summary>
    public SystemControlPortA(MachineControl control, A20Gate.Input a20)
    {
        _control = control;
        _a20 = a20;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "port92";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data) => data[0] = (byte)(_value | ReadAsOne);

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        byte old = _value;
        _value = (byte)(data[0] & (AlternateReset | AlternateA20));
        _a20.Set((_value & AlternateA20) != 0);
        if ((old & AlternateReset) == 0 && (_value & AlternateReset) != 0)
        {
            _control.Raise(MachineRequest.Reset);
        }
    }

    /// <summary>A system reset clears both bits (ALT_A20 low, reset line inactive).</summary>
    public void Reset()
    {
        _value = 0;
        _a20.Set(false);
    }

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, StateVersion, [_value]);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 1)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        _value = (byte)(state.Data[0] & (AlternateReset | AlternateA20));
        _a20.Set((_value & AlternateA20) != 0);
    }
}
