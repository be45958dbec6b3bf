using Emulator.Core.Machine;

namespace Emulator.Core.Devices;

/// <summary>
/// The Reset Control Register at port 0xCF9 (Intel PIIX4/ICH datasheets, "RST_CNT"): writing RST_CPU
/// (bit 2) resets the machine; SYS_RST (bit 1) chooses a full (hard) reset over a CPU-only one, which emu
/// does not distinguish. The FADT names it as the ACPI reset register (ACPI 6.5 4.8.4.6) with the value
/// <see cref="FullReset"/>. On a real chipset the port sits inside the PCI CONFIG_ADDRESS dword at 0xCF8:
/// byte accesses to 0xCF9 reach this register.
/// </summary>
public sealed class ResetControl : IBusDevice
{
    /// <summary>The register's port.</summary>
    public const ushort Port = 0xcf9;

    /// <summary>SYS_RST: hard reset.</summary>
    public const byte SysRst = 1 << 1;

    /// <summary>RST_CPU: writing it set starts the reset.</summary>
    public const byte RstCpu = 1 << 2;

    /// <summary>The value OSes write (SYS_RST | RST_CPU).</summary>
    public const byte FullReset = SysRst | RstCpu;

    private const int StateVersion = 1;
    private readonly MachineControl _control;
    private byte _value;

    /// <summary>Creates the register.</summary>
    public ResetControl(MachineControl control) => _control = control;

    /// <inheritdoc/>
    public string Name => "reset-control@0xcf9";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data) => data[0] = (byte)(_value & ~RstCpu);

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        _value = data[0];
        if ((_value & RstCpu) != 0)
        {
            _control.Raise(MachineRequest.Reset);
        }
    }

    /// <inheritdoc/>
    public void Reset() => _value = 0;

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, StateVersion, [_value]);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 1)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version}");
        }

        _value = state.Data[0];
    }
}
