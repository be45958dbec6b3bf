using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;

namespace Emulator.Devices.Acpi;

/// <summary>
/// The ACPI PM1a control register (PM1a_CNT_BLK, 16 bits; ACPI 6.5 4.8.3.2.1, Table 4.18).
/// Writing SLP_EN with SLP_TYP equal to <see cref="SlpTypS5"/> powers the machine off. Other sleep
/// types are not implemented: such a write is recorded and otherwise ignored, so the guest sees a
/// sleep request that never completes and stays awake.
/// </summary>
public sealed class AcpiPmControl : IBusDevice
{
    /// <summary>
    /// The SLP_TYP value that selects soft-off (S5). SLP_TYP encodings are chipset-specific and
    /// reach the OS only through the DSDT's <c>\_S5</c> package, which must publish this value.
    /// </summary>
    public const int SlpTypS5 = 5;

    /// <summary>SCI_EN (bit 0): power-management events raise an SCI rather than an SMI.</summary>
    public const ushort SciEn = 1 << 0;

    /// <summary>BM_RLD (bit 1): a bus-master request takes the processor out of C3.</summary>
    public const ushort BmRld = 1 << 1;

    /// <summary>GBL_RLS (bit 2, write-only): releases the global lock to the firmware.</summary>
    public const ushort GblRls = 1 << 2;

    /// <summary>SLP_EN (bit 13, write-only): enters the sleep state selected by SLP_TYP.</summary>
    public const ushort SlpEn = 1 << 13;

    private const int SlpTypShift = 10;
    private const ushort SlpTypMask = 0x7 << SlpTypShift;
    private const ushort ReadableBits = SciEn | BmRld | SlpTypMask;
    private const int StateVersion = 1;

    private readonly MachineControl _control;
    private readonly bool _acpiModeOnly;
    private readonly GuestErrorLog _errors;
    private ushort _value;

    /// <summary>
    /// Creates the register. With <paramref name="acpiModeOnly"/> (the default) SCI_EN reads as
    /// set at all times: a platform whose FADT has SMI_CMD = 0 has no legacy mode to leave
    /// (ACPI 6.5 5.2.9, SMI_CMD), and OSPM checks SCI_EN to see that it is in ACPI mode.
    /// </summary>
    public AcpiPmControl(MachineControl control, bool acpiModeOnly = true, GuestErrorLog? errors = null)
    {
        _errors = errors ?? new GuestErrorLog();
        _control = control;
        _acpiModeOnly = acpiModeOnly;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "acpi-pm1a-cnt";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word;

    /// <summary>The register as the guest reads it (write-only bits read as zero).</summary>
    public ushort Value => _value;

    /// <summary>The SLP_TYP field (bits 10-12) last written.</summary>
    public int SleepType => (_value & SlpTypMask) >> SlpTypShift;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            data[i] = at < 2 ? (byte)(_value >> (int)(8 * at)) : (byte)0;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        Span<byte> merged = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(merged, _value);
        for (int i = 0; i < data.Length && offset + (ulong)i < 2; i++)
        {
            merged[(int)offset + i] = data[i];
        }

        ushort written = BinaryPrimitives.ReadUInt16LittleEndian(merged);
        _value = (ushort)(written & ReadableBits);
        if (_acpiModeOnly)
        {
            _value |= SciEn;
        }

        if ((written & SlpEn) != 0 && SleepType == SlpTypS5)
        {
            _control.Raise(MachineRequest.PowerOff);
        }
        else if ((written & SlpEn) != 0)
        {
            // emu's DSDT offers only \_S5; other sleep types do nothing.
            _errors.Report(Name, $"SLP_EN with SLP_TYP {SleepType}, a sleep state the DSDT does not offer: ignored");
        }
    }

    /// <inheritdoc/>
    public void Reset() => _value = _acpiModeOnly ? SciEn : (ushort)0;

    /// <inheritdoc/>
    public DeviceState Save()
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, _value);
        return new DeviceState(Name, StateVersion, data);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 2)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        _value = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(state.Data) & ReadableBits);
    }
}
