using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;

namespace Emulator.Devices.Intc;

/// <summary>
/// The 82093AA I/O APIC: 24 interrupt input pins, each routed by a 64-bit redirection table entry to
/// a vector and destination on the APIC bus. Software reaches its registers indirectly: it writes a
/// register index to IOREGSEL (offset 0x00) and reads or writes that register through IOWIN
/// (offset 0x10) (82093AA datasheet, 3.0 Register Description). Normally mapped at 0xFEC00000.
/// </summary>
/// <remarks>
/// <see cref="Lines"/> carry assertion, not voltage: a device asserts its wire and the interrupt
/// polarity bit, kept for software, does not invert it. Messages are delivered at once, so the
/// delivery status bit always reads idle.
/// </remarks>
public sealed class IoApic : IBusDevice
{
    /// <summary>The usual base address on a PC.</summary>
    public const ulong DefaultBase = 0xFEC0_0000;

    /// <summary>Size of the MMIO window claimed on the bus.</summary>
    public const ulong WindowSize = 0x1000;

    /// <summary>Number of input pins and redirection table entries.</summary>
    public const int PinCount = 24;

    private const int StateVersion = 1;

    // Direct registers (datasheet 3.1) and indirect register indices (3.2).
    private const ulong IoRegSel = 0x00, IoWin = 0x10;
    private const uint RegId = 0x00, RegVersion = 0x01, RegArbitration = 0x02, RegRedirection = 0x10;

    // IOAPICVER: version 0x11, maximum redirection entry (entries - 1) in bits 16-23.
    private const uint VersionValue = 0x11 | ((PinCount - 1) << 16);

    // Redirection entry bits (datasheet 3.2.4).
    private const ulong Masked = 1ul << 16, Level = 1ul << 15, RemoteIrr = 1ul << 14, LogicalMode = 1ul << 11;
    private const ulong Writable = 0xFFul | (7ul << 8) | LogicalMode | (1ul << 13) | Level | Masked | (0xFFul << 56);

    private readonly Lock _deviceLock;
    private readonly ApicBus _bus;
    private readonly GuestErrorLog _errors;
    private readonly ulong[] _redirection = new ulong[PinCount];
    private readonly bool[] _level = new bool[PinCount];
    private readonly Pin[] _pins;
    private uint _select, _id;

    /// <summary>Creates the IOAPIC in its reset state, delivering to the local APICs on <paramref name="bus"/>.</summary>
    /// <param name="name">The device name, e.g. "ioapic".</param>
    /// <param name="deviceLock">The machine's device lock, taken when a line changes.</param>
    /// <param name="bus">The APIC bus; the IOAPIC registers there for EOI broadcasts.</param>
    /// <param name="errors">Where accesses to registers that do not exist are reported, or null for a log of its own.</param>
    public IoApic(string name, Lock deviceLock, ApicBus bus, GuestErrorLog? errors = null)
    {
        _errors = errors ?? new GuestErrorLog();
        Name = name;
        _deviceLock = deviceLock;
        _bus = bus;
        _pins = new Pin[PinCount];
        for (int i = 0; i < PinCount; i++)
        {
            _pins[i] = new Pin(this, i);
        }

        bus.AddEoiListener(OnEoi);
        Reset();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Dword;

    /// <summary>The input pins INTIN0-INTIN23.</summary>
    public IReadOnlyList<IInterruptLine> Lines => _pins;

    /// <summary>Redirection table entry <paramref name="pin"/>, for tests and diagnostics.</summary>
    public ulong RedirectionEntry(int pin) => _redirection[pin];

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        uint value = offset switch
        {
            >= IoRegSel and < IoRegSel + 4 => _select,
            >= IoWin and < IoWin + 4 => ReadRegister(),
            _ => UnusedOffset(offset),
        };
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, value);
        int at = (int)(offset & 3);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = at + i < 4 ? buffer[at + i] : (byte)0;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        // IOREGSEL takes its index from the low byte; IOWIN is written as a whole dword (datasheet 3.1).
        if (offset == IoRegSel)
        {
            _select = data[0];
        }
        else if (offset == IoWin && data.Length == 4)
        {
            WriteRegister(BinaryPrimitives.ReadUInt32LittleEndian(data));
        }
        else
        {
            _errors.Report(Name, $"{data.Length}-byte write at offset 0x{offset:x} dropped (IOREGSEL takes a byte at 0x00, IOWIN a dword at 0x10)");
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        lock (_deviceLock)
        {
            // After reset every entry is masked and the ID is 0 (datasheet 3.2).
            _select = 0;
            _id = 0;
            Array.Fill(_redirection, Masked);
        }
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        lock (_deviceLock)
        {
            using var stream = new MemoryStream();
            using (var w = new BinaryWriter(stream))
            {
                w.Write(_select);
                w.Write(_id);
                for (int i = 0; i < PinCount; i++)
                {
                    w.Write(_redirection[i]);
                    w.Write(_level[i]);
                }
            }

            return new DeviceState(Name, StateVersion, stream.ToArray());
        }
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported (expected {StateVersion})");
        }

        lock (_deviceLock)
        {
            try
            {
                using var r = new BinaryReader(new MemoryStream(state.Data));
                _select = r.ReadUInt32() & 0xFF;
                _id = r.ReadUInt32() & 0x0F00_0000;
                for (int i = 0; i < PinCount; i++)
                {
                    _redirection[i] = r.ReadUInt64() & (Writable | RemoteIrr);
                    _level[i] = r.ReadBoolean();
                }
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{Name}: saved state is truncated", e);
            }
        }
    }

    private uint UnusedOffset(ulong offset)
    {
        _errors.Report(Name, $"read at offset 0x{offset:x}, where there is no register (reads 0)");
        return 0;
    }

    private uint ReadRegister()
    {
        switch (_select)
        {
            case RegId:
                return _id;
            case RegVersion:
                return VersionValue;
            case RegArbitration:
                // The arbitration ID is loaded from the ID register (datasheet 3.2.3).
                return _id;
            case >= RegRedirection and < RegRedirection + (2 * PinCount):
                ulong entry = _redirection[(_select - RegRedirection) >> 1];
                return (_select & 1) == 0 ? (uint)entry : (uint)(entry >> 32);
            default:
                _errors.Report(Name, $"read of register 0x{_select:x2}, which does not exist (reads 0)");
                return 0;
        }
    }

    private void WriteRegister(uint value)
    {
        switch (_select)
        {
            case RegId:
                _id = value & 0x0F00_0000;
                break;
            case >= RegRedirection and < RegRedirection + (2 * PinCount):
                int pin = (int)(_select - RegRedirection) >> 1;
                ulong old = _redirection[pin];
                ulong written = (_select & 1) == 0
                    ? (old & ~0xFFFF_FFFFul) | value
                    : (old & 0xFFFF_FFFFul) | ((ulong)value << 32);
                _redirection[pin] = (written & Writable) | (old & RemoteIrr);
                if (((_redirection[pin] >> 8) & 7) is 3 or 6 && (_select & 1) == 0)
                {
                    _errors.Report(Name, $"pin {pin} programmed with reserved delivery mode {(_redirection[pin] >> 8) & 7}: its interrupts are dropped");
                }

                if ((_redirection[pin] & Level) == 0)
                {
                    // Remote IRR is undefined for edge-triggered entries; keep it clear.
                    _redirection[pin] &= ~RemoteIrr;
                }

                // Unmasking a level-triggered entry whose line is still asserted delivers it now.
                Service(pin);
                break;
            case RegVersion or RegArbitration:
                // Version and arbitration ID are read-only.
                break;
            default:
                _errors.Report(Name, $"write of 0x{value:x} to register 0x{_select:x2}, which does not exist (dropped)");
                break;
        }
    }

    private void SetLine(int pin, bool asserted)
    {
        bool rising = asserted && !_level[pin];
        _level[pin] = asserted;
        if ((_redirection[pin] & Level) != 0)
        {
            Service(pin);
        }
        else if (rising)
        {
            Send(pin);
        }
    }

    /// <summary>Level-triggered entries: deliver while the line is asserted and the last delivery was EOId.</summary>
    private void Service(int pin)
    {
        ulong entry = _redirection[pin];
        if ((entry & Level) != 0 && _level[pin] && (entry & (RemoteIrr | Masked)) == 0)
        {
            Send(pin);
        }
    }

    private void Send(int pin)
    {
        ulong entry = _redirection[pin];
        if ((entry & Masked) != 0)
        {
            // A masked edge is lost; a masked level waits for the unmask (datasheet 3.2.4, bit 16).
            return;
        }

        var mode = (ApicDeliveryMode)((entry >> 8) & 7);
        if (mode is not (ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority or ApicDeliveryMode.Smi
            or ApicDeliveryMode.Nmi or ApicDeliveryMode.Init or ApicDeliveryMode.ExtInt))
        {
            // Reported when the entry was written.
            return;
        }

        bool level = (entry & Level) != 0;
        if (level && mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority)
        {
            // Remote IRR: set when a local APIC accepts the level interrupt, cleared by its EOI.
            _redirection[pin] |= RemoteIrr;
        }

        _bus.Deliver(new ApicMessage(
            (byte)entry,
            mode,
            Logical: (entry & LogicalMode) != 0,
            Destination: (byte)(entry >> 56),
            LevelTriggered: level && mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority));
    }

    private void OnEoi(byte vector)
    {
        for (int pin = 0; pin < PinCount; pin++)
        {
            if ((_redirection[pin] & RemoteIrr) != 0 && (byte)_redirection[pin] == vector)
            {
                _redirection[pin] &= ~RemoteIrr;
                Service(pin);
            }
        }
    }

    /// <summary>One input pin, INTINn.</summary>
    private sealed class Pin(IoApic ioApic, int index) : IInterruptLine
    {
        public void Set(bool asserted)
        {
            lock (ioApic._deviceLock)
            {
                ioApic.SetLine(index, asserted);
            }
        }
    }
}
