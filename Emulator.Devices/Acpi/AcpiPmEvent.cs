using System.Buffers.Binary;
using Emulator.Core.Devices;

namespace Emulator.Devices.Acpi;

/// <summary>
/// The ACPI PM1a event block (PM1a_EVT_BLK, 4 bytes): the PM1 status register at offset 0 and the
/// PM1 enable register at offset 2 (ACPI 6.5 4.8.3.1). Status bits are set by the platform through
/// <see cref="Signal"/> and cleared by the guest writing 1 to them; the SCI is asserted while any
/// status bit is set together with its enable bit. The RTC's interrupt output also reaches the block
/// (<see cref="RtcInterrupt"/>): each assertion sets RTC_STS, and with RTC_EN that is a wake event
/// (<see cref="WakeEvent"/>), which the machine acts on while it sleeps.
/// </summary>
public sealed class AcpiPmEvent : IBusDevice
{
    /// <summary>RTC_EN (enable bit 10): an RTC alarm raises an SCI, or wakes a sleeping system.</summary>
    public const ushort RtcEn = 1 << 10;

    /// <summary>TMR_STS (bit 0): the PM timer's most significant bit changed.</summary>
    public const ushort TmrSts = 1 << 0;

    /// <summary>BM_STS (bit 4): a bus master requested the bus.</summary>
    public const ushort BmSts = 1 << 4;

    /// <summary>GBL_STS (bit 5): the firmware released the global lock.</summary>
    public const ushort GblSts = 1 << 5;

    /// <summary>PWRBTN_STS (bit 8): the power button was pressed.</summary>
    public const ushort PwrbtnSts = 1 << 8;

    /// <summary>SLPBTN_STS (bit 9): the sleep button was pressed.</summary>
    public const ushort SlpbtnSts = 1 << 9;

    /// <summary>RTC_STS (bit 10): the RTC alarm fired.</summary>
    public const ushort RtcSts = 1 << 10;

    /// <summary>PCIEXP_WAKE_STS (bit 14): a PCI Express wake event occurred.</summary>
    public const ushort PciexpWakeSts = 1 << 14;

    /// <summary>WAK_STS (bit 15): the system woke from a sleep state.</summary>
    public const ushort WakSts = 1 << 15;

    /// <summary>PCIEXP_WAKE_DIS (enable bit 14): PCI Express wake events are disabled.</summary>
    public const ushort PciexpWakeDis = 1 << 14;

    // ACPI 6.5 Tables 4.16 and 4.17: the other bits are reserved and read as zero. Only TMR, GBL,
    // PWRBTN, SLPBTN and RTC have an enable bit at the same position that gates the SCI.
    private const ushort StatusBits = TmrSts | BmSts | GblSts | PwrbtnSts | SlpbtnSts | RtcSts | PciexpWakeSts | WakSts;
    private const ushort InterruptBits = TmrSts | GblSts | PwrbtnSts | SlpbtnSts | RtcSts;
    private const ushort EnableBits = InterruptBits | PciexpWakeDis;
    private const int StateVersion = 1;

    private readonly IInterruptLine _sci;
    private bool _wakePending;

    /// <summary>Creates the block driving the system control interrupt <paramref name="sci"/>.</summary>
    public AcpiPmEvent(IInterruptLine sci)
    {
        _sci = sci;
        RtcInterrupt = new RtcInput(this);
        Reset();
    }

    /// <summary>
    /// The RTC's IRQ output as this block sees it: each assertion sets RTC_STS ("set when the RTC
    /// generates an alarm (asserts the RTC IRQ signal)", ACPI 6.5 Table 4.16).
    /// </summary>
    public IInterruptLine RtcInterrupt { get; }

    /// <summary>
    /// Raised (under the caller's lock, from the thread that set the bit) when an enabled wake status
    /// becomes pending: RTC_STS with RTC_EN (Table 4.16: "if the RTC_EN bit is set then the setting of
    /// the RTC_STS bit will generate a power management event (an SCI, SMI, or resume event)").
    /// </summary>
    public event Action? WakeEvent;

    /// <summary>True while an enabled wake status is set (see <see cref="WakeEvent"/>): a sleep entered now ends at once.</summary>
    public bool WakeEventPending => (Status & Enable & RtcSts) != 0;

    /// <inheritdoc/>
    public string Name => "acpi-pm1a-evt";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <summary>PM1 status.</summary>
    public ushort Status { get; private set; }

    /// <summary>PM1 enable.</summary>
    public ushort Enable { get; private set; }

    /// <summary>True while the SCI is asserted.</summary>
    public bool SciAsserted => (Status & Enable & InterruptBits) != 0;

    /// <summary>Sets status bits (e.g. <see cref="PwrbtnSts"/> when the user asks for a shutdown) and updates the SCI.</summary>
    public void Signal(ushort statusBits)
    {
        Status |= (ushort)(statusBits & StatusBits);
        UpdateSci();
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        uint block = (uint)(Status | (Enable << 16));
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            data[i] = at < 4 ? (byte)(block >> (int)(8 * at)) : (byte)0;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        Span<byte> enable = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(enable, Enable);
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            if (at < 2)
            {
                Status &= (ushort)~(data[i] << (int)(8 * at));
            }
            else if (at < 4)
            {
                enable[(int)at - 2] = data[i];
            }
        }

        Enable = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(enable) & EnableBits);
        UpdateSci();
    }

    /// <inheritdoc/>
    public void Reset()
    {
        Status = 0;
        Enable = 0;
        UpdateSci();
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(data, Status);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2), Enable);
        return new DeviceState(Name, StateVersion, data);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 4)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        Status = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(state.Data) & StatusBits);
        Enable = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(state.Data.AsSpan(2)) & EnableBits);
        UpdateSci();
    }

    private void UpdateSci()
    {
        _sci.Set(SciAsserted);
        bool pending = WakeEventPending;
        if (pending && !_wakePending)
        {
            WakeEvent?.Invoke();
        }

        _wakePending = pending;
    }

    // The RTC's IRQ pin as an input of the PM logic: RTC_STS on its rising edge.
    private sealed class RtcInput(AcpiPmEvent owner) : IInterruptLine
    {
        private bool _level;

        public void Set(bool asserted)
        {
            if (asserted && !_level)
            {
                owner.Signal(RtcSts);
            }

            _level = asserted;
        }
    }
}
