using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;

namespace Emulator.Devices.Acpi;

/// <summary>
/// The ACPI PM1a control register (PM1a_CNT_BLK, 16 bits; ACPI 6.5 4.8.3.2.1, Table 4.18).
/// Writing SLP_EN with SLP_TYP equal to <see cref="SlpTypS5"/> powers the machine off; with
/// <see cref="SlpTypS3"/> it puts the machine to sleep (S3, suspend to RAM) through the machine's
/// handler, which stops every processor before the next instruction and wakes on a wake event. Other
/// sleep types are not offered by the DSDT: such a write is recorded and otherwise ignored, so the
/// guest sees a sleep request that never completes and stays awake.
/// </summary>
public sealed class AcpiPmControl : IBusDevice
{
    /// <summary>
    /// The SLP_TYP value that selects soft-off (S5). SLP_TYP encodings are chipset-specific and
    /// reach the OS only through the DSDT's <c>\_S5</c> package, which must publish this value.
    /// </summary>
    public const int SlpTypS5 = 5;

    /// <summary>
    /// The SLP_TYP value that selects suspend to RAM (S3), published by the DSDT's <c>\_S3</c>: 001b,
    /// the PIIX4's SUS_TYP encoding for Suspend To RAM (PIIX4 datasheet, PMCNTRL), which QEMU's PC
    /// mirrors and guests written for it (kvm-unit-tests' s3) use without reading <c>\_S3</c>.
    /// </summary>
    public const int SlpTypS3 = 1;

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
    private readonly Action? _enterS3;
    private ushort _value;

    /// <summary>
    /// Creates the register. With <paramref name="acpiModeOnly"/> (the default) SCI_EN reads as
    /// set at all times: a platform whose FADT has SMI_CMD = 0 has no legacy mode to leave
    /// (ACPI 6.5 5.2.9, SMI_CMD), and OSPM checks SCI_EN to see that it is in ACPI mode.
    /// <paramref name="enterS3"/> is what SLP_EN with <see cref="SlpTypS3"/> does: called on the
    /// writing vCPU's thread, under the device lock, it must let that vCPU run no further instruction
    /// (ACPI 6.5 16.1.3: in S3 the processors lose their context and only memory keeps it).
    /// Without it S3 is ignored like the other sleep types.
    /// </summary>
    public AcpiPmControl(MachineControl control, bool acpiModeOnly = true, GuestErrorLog? errors = null, Action? enterS3 = null)
    {
        _errors = errors ?? new GuestErrorLog();
        _enterS3 = enterS3;
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
        else if ((written & SlpEn) != 0 && SleepType == SlpTypS3 && _enterS3 is not null)
        {
            _enterS3();
        }
        else if ((written & SlpEn) != 0)
        {
            // emu's DSDT offers only \_S3 and \_S5; other sleep types do nothing.
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
