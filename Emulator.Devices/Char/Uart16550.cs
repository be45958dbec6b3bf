using Emulator.Core.Chardev;
using Emulator.Core.Devices;

namespace Emulator.Devices.Char;

/// <summary>
/// A National/TI PC16550D UART occupying eight consecutive I/O ports (COM1 is 0x3F8, IRQ 4).
/// Characters written to THR leave at once through an <see cref="ISerialBackend"/>: there is no
/// baud-rate timing, so THRE and TEMT are set again as soon as a character is written. Host input
/// enters through <see cref="Receive"/>, which may be called from any thread; the machine builder
/// wires it up with <c>backend.Start(uart.Receive)</c>. The UART does not own the backend.
/// </summary>
public sealed class Uart16550 : IBusDevice
{
    /// <summary>Default number of host bytes held while the guest is not reading.</summary>
    public const int DefaultInputQueueCapacity = 4096;

    private const int StateVersion = 1;
    private const int FifoDepth = 16;

    // Register offsets, selected by A2-A0 and LCR bit 7 (PC16550D, Registers).
    private const int RbrThrDll = 0, IerDlm = 1, IirFcr = 2, LcrOffset = 3, McrOffset = 4, LsrOffset = 5, MsrOffset = 6, ScrOffset = 7;

    // IER bits.
    private const byte Erbfi = 0x01, Etbei = 0x02, Elsi = 0x04, Edssi = 0x08;

    // IIR identification codes, in priority order (PC16550D, Interrupt Control Functions table), and the FIFO-mode bits 6-7.
    private const byte IirNoInterrupt = 0x01, IirLineStatus = 0x06, IirDataAvailable = 0x04,
        IirCharacterTimeout = 0x0C, IirThrEmpty = 0x02, IirModemStatus = 0x00, IirFifosEnabled = 0xC0;

    // FCR bits.
    private const byte FcrFifoEnable = 0x01, FcrRcvrReset = 0x02, FcrTriggerMask = 0xC0, FcrProgrammable = 0xC9;

    // LCR and MCR bits.
    private const byte Dlab = 0x80;
    private const byte Dtr = 0x01, Rts = 0x02, Out1 = 0x04, Out2 = 0x08, Loop = 0x10, McrMask = 0x1F;

    // LSR bits.
    private const byte Dr = 0x01, Oe = 0x02, Thre = 0x20, Temt = 0x40;

    // MSR bits.
    private const byte Dcts = 0x01, Ddsr = 0x02, Teri = 0x04, Ddcd = 0x08, MsrDeltas = 0x0F;
    private const byte Cts = 0x10, Dsr = 0x20, Ri = 0x40, Dcd = 0x80;

    // The host end of the line behaves as a ready modem with carrier and no ring.
    private const byte HostModemInputs = Cts | Dsr | Dcd;

    private static readonly int[] TriggerLevels = [1, 4, 8, 14];

    private readonly Lock _deviceLock;
    private readonly IInterruptLine _irq;
    private readonly ISerialBackend _backend;
    private readonly int _inputCapacity;
    private readonly Queue<byte> _hostInput = new();
    private readonly byte[] _rxFifo = new byte[FifoDepth];
    private readonly object _roomForInput = new();

    private byte _dll, _dlm, _ier, _fcr, _lcr, _mcr, _scr, _msr;
    private byte _lineErrors;
    private byte _rbr;
    private int _rxHead, _rxCount;
    private bool _thrInterruptPending;
    private bool _irqLevel;
    private volatile bool _receiverWaiting;

    /// <summary>Creates a UART in its reset state.</summary>
    /// <param name="name">The device name, e.g. "uart16550@0x3f8".</param>
    /// <param name="deviceLock">The machine's device lock, taken by <see cref="Receive"/>.</param>
    /// <param name="irq">The wire to the interrupt controller (IRQ 4 for COM1).</param>
    /// <param name="backend">Where transmitted characters go.</param>
    /// <param name="inputQueueCapacity">Host bytes held before <see cref="Receive"/> blocks.</param>
    public Uart16550(string name, Lock deviceLock, IInterruptLine irq, ISerialBackend backend, int inputQueueCapacity = DefaultInputQueueCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputQueueCapacity, 1);
        Name = name;
        _deviceLock = deviceLock;
        _irq = irq;
        _backend = backend;
        _inputCapacity = inputQueueCapacity;
        Reset();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    private bool FifosEnabled => (_fcr & FcrFifoEnable) != 0;

    private int RxCapacity => FifosEnabled ? FifoDepth : 1;

    private int TriggerLevel => TriggerLevels[(_fcr & FcrTriggerMask) >> 6];

    /// <summary>
    /// Delivers host input. Bytes wait in a host-side queue and enter the receiver as the guest drains
    /// it, so nothing is lost; when that queue is full this call blocks until the guest reads.
    /// Thread-safe; must not be called while holding the device lock.
    /// </summary>
    public void Receive(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            lock (_deviceLock)
            {
                int taken = Math.Min(_inputCapacity - _hostInput.Count, data.Length);
                foreach (byte b in data[..taken])
                {
                    _hostInput.Enqueue(b);
                }

                data = data[taken..];
                FeedReceiver();
                UpdateInterrupt();
                _receiverWaiting = !data.IsEmpty;
            }

            if (!data.IsEmpty)
            {
                // A wake-up sent between leaving the device lock and waiting is missed; the timeout covers it.
                lock (_roomForInput)
                {
                    Monitor.Wait(_roomForInput, TimeSpan.FromMilliseconds(50));
                }
            }
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        data[0] = offset switch
        {
            RbrThrDll => (_lcr & Dlab) != 0 ? _dll : ReadRbr(),
            IerDlm => (_lcr & Dlab) != 0 ? _dlm : _ier,
            IirFcr => ReadIir(),
            LcrOffset => _lcr,
            McrOffset => _mcr,
            LsrOffset => ReadLsr(),
            MsrOffset => ReadMsr(),
            ScrOffset => _scr,
            _ => 0xFF,
        };
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        byte value = data[0];
        switch (offset)
        {
            case RbrThrDll when (_lcr & Dlab) != 0:
                _dll = value;
                break;
            case RbrThrDll:
                WriteThr(value);
                break;
            case IerDlm when (_lcr & Dlab) != 0:
                _dlm = value;
                break;
            case IerDlm:
                WriteIer(value);
                break;
            case IirFcr:
                WriteFcr(value);
                break;
            case LcrOffset:
                _lcr = value;
                break;
            case McrOffset:
                WriteMcr(value);
                break;
            case ScrOffset:
                _scr = value;
                break;
            default:
                // LSR and MSR are read-only (their writes are for factory test only); beyond 7 is not ours.
                break;
        }
    }

    /// <inheritdoc/>
    /// <remarks>Host input still queued survives a reset: it is on the host side of the wire.</remarks>
    public void Reset()
    {
        lock (_deviceLock)
        {
            // PC16550D, UART Reset Configuration table: MR clears IER, FCR, LCR, MCR, the FIFOs, LSR
            // (but for THRE and TEMT) and MSR bits 0-3. It leaves the divisor latch and SCR undefined;
            // they start at 9600 baud (divisor 12) and zero here.
            _ier = _fcr = _lcr = _mcr = _scr = 0;
            _dll = 12;
            _dlm = 0;
            _lineErrors = 0;
            _rbr = 0;
            _rxHead = _rxCount = 0;
            _thrInterruptPending = false;
            _msr = ModemInputs();
            FeedReceiver();
            UpdateInterrupt();
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
                w.Write([_dll, _dlm, _ier, _fcr, _lcr, _mcr, _scr, _msr, _lineErrors, _rbr]);
                w.Write(_thrInterruptPending);
                w.Write((byte)_rxCount);
                for (int i = 0; i < _rxCount; i++)
                {
                    w.Write(_rxFifo[(_rxHead + i) % FifoDepth]);
                }

                w.Write(_hostInput.Count);
                foreach (byte b in _hostInput)
                {
                    w.Write(b);
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
                RestoreFrom(state.Data);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{Name}: saved state is truncated", e);
            }

            // Drive the wire whatever its last level: the controller on the other end was restored too.
            _irqLevel = InterruptLevel();
            _irq.Set(_irqLevel);
        }
    }

    private void RestoreFrom(byte[] data)
    {
        using var r = new BinaryReader(new MemoryStream(data));
        (_dll, _dlm, _ier, _fcr, _lcr, _mcr, _scr, _msr, _lineErrors, _rbr) =
            (r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte());
        _thrInterruptPending = r.ReadBoolean();
        _rxHead = 0;
        _rxCount = r.ReadByte();
        if (_rxCount > RxCapacity)
        {
            throw new InvalidDataException($"{Name}: saved receiver holds {_rxCount} bytes, more than its {RxCapacity}");
        }

        for (int i = 0; i < _rxCount; i++)
        {
            _rxFifo[i] = r.ReadByte();
        }

        _hostInput.Clear();
        int pending = r.ReadInt32();
        for (int i = 0; i < pending; i++)
        {
            _hostInput.Enqueue(r.ReadByte());
        }
    }

    private byte ReadRbr()
    {
        if (_rxCount > 0)
        {
            _rbr = _rxFifo[_rxHead];
            _rxHead = (_rxHead + 1) % FifoDepth;
            _rxCount--;
            FeedReceiver();
            UpdateInterrupt();
        }

        return _rbr;
    }

    private byte ReadIir()
    {
        byte id = PendingInterrupt();
        if (id == IirThrEmpty)
        {
            // PC16550D, Interrupt Identification Register: reading IIR clears a THRE interrupt only
            // when THRE is the source it reports.
            _thrInterruptPending = false;
            UpdateInterrupt();
        }

        return (byte)(FifosEnabled ? id | IirFifosEnabled : id);
    }

    private byte ReadLsr()
    {
        // THR and the shift register are always empty: transmission is instant.
        byte lsr = (byte)(_lineErrors | Thre | Temt | (_rxCount > 0 ? Dr : 0));
        _lineErrors = 0;
        UpdateInterrupt();
        return lsr;
    }

    private byte ReadMsr()
    {
        byte msr = _msr;
        _msr &= unchecked((byte)~MsrDeltas);
        UpdateInterrupt();
        return msr;
    }

    private void WriteThr(byte value)
    {
        // Writing THR clears the THRE interrupt; the character then moves out and THR is empty
        // again, which raises it anew. The line drops between, so an edge-triggered PIC sees a new edge.
        _thrInterruptPending = false;
        UpdateInterrupt();
        if ((_mcr & Loop) != 0)
        {
            // MCR bit 4: the transmitter shift register feeds the receiver and SOUT stays marking.
            ReceiveCharacter(value);
        }
        else
        {
            _backend.Write(new ReadOnlySpan<byte>(in value));
        }

        _thrInterruptPending = true;
        UpdateInterrupt();
    }

    private void WriteIer(byte value)
    {
        byte old = _ier;
        _ier = (byte)(value & 0x0F);
        if ((_ier & Etbei) == 0)
        {
            _thrInterruptPending = false;
        }
        else if ((old & Etbei) == 0)
        {
            // THR is always empty, so enabling ETBEI raises the THRE interrupt at once, as a real
            // 16550 does (Linux's 8250 driver probes for this and flags UARTs without it UART_BUG_THRE).
            _thrInterruptPending = true;
        }

        UpdateInterrupt();
    }

    private void WriteFcr(byte value)
    {
        bool wasEnabled = FifosEnabled;
        if ((value & FcrFifoEnable) == 0)
        {
            // FCR bit 0 must be set for the other bits to be programmed.
            _fcr &= unchecked((byte)~FcrFifoEnable);
        }
        else
        {
            _fcr = (byte)(value & FcrProgrammable);
        }

        bool modeChanged = wasEnabled != FifosEnabled;
        if (modeChanged || (FifosEnabled && (value & FcrRcvrReset) != 0))
        {
            // Switching between 16450 and FIFO mode clears both FIFOs; bit 1 clears the receiver's.
            // The transmitter FIFO is always empty here, so bit 2 has nothing to clear.
            _rxHead = _rxCount = 0;
            FeedReceiver();
        }

        if (modeChanged && (_ier & Etbei) != 0)
        {
            // PC16550D, FIFO Interrupt Mode Operation: the first transmitter interrupt after
            // changing FCR0 is immediate if enabled.
            _thrInterruptPending = true;
        }

        UpdateInterrupt();
    }

    private void WriteMcr(byte value)
    {
        bool wasLoop = (_mcr & Loop) != 0;
        _mcr = (byte)(value & McrMask);
        byte before = (byte)(_msr & ~MsrDeltas);
        byte after = ModemInputs();
        byte changed = (byte)(before ^ after);
        byte deltas = 0;
        deltas |= (changed & Cts) != 0 ? Dcts : (byte)0;
        deltas |= (changed & Dsr) != 0 ? Ddsr : (byte)0;
        deltas |= (changed & Dcd) != 0 ? Ddcd : (byte)0;
        // TERI flags only the trailing edge of ring: RI going from on to off.
        deltas |= (before & Ri) != 0 && (after & Ri) == 0 ? Teri : (byte)0;
        _msr = (byte)(after | (_msr & MsrDeltas) | deltas);
        if (wasLoop && (_mcr & Loop) == 0)
        {
            FeedReceiver();
        }

        UpdateInterrupt();
    }

    private byte ModemInputs()
    {
        if ((_mcr & Loop) == 0)
        {
            return HostModemInputs;
        }

        // MCR bit 4: in loopback DTR drives DSR, RTS drives CTS, OUT1 drives RI and OUT2 drives DCD.
        byte inputs = 0;
        inputs |= (_mcr & Rts) != 0 ? Cts : (byte)0;
        inputs |= (_mcr & Dtr) != 0 ? Dsr : (byte)0;
        inputs |= (_mcr & Out1) != 0 ? Ri : (byte)0;
        inputs |= (_mcr & Out2) != 0 ? Dcd : (byte)0;
        return inputs;
    }

    private void ReceiveCharacter(byte value)
    {
        if (_rxCount < RxCapacity)
        {
            _rxFifo[(_rxHead + _rxCount) % FifoDepth] = value;
            _rxCount++;
            return;
        }

        // Overrun (LSR bit 1): in 16450 mode the new character replaces the unread one in RBR; in FIFO
        // mode it stays in the shift register and is lost, the FIFO is untouched.
        _lineErrors |= Oe;
        if (!FifosEnabled)
        {
            _rxFifo[_rxHead] = value;
        }
    }

    /// <summary>Moves queued host bytes into the receiver while it has room; SIN is cut off in loopback.</summary>
    private void FeedReceiver()
    {
        if ((_mcr & Loop) != 0 || _hostInput.Count == 0)
        {
            return;
        }

        while (_rxCount < RxCapacity && _hostInput.TryDequeue(out byte b))
        {
            _rxFifo[(_rxHead + _rxCount) % FifoDepth] = b;
            _rxCount++;
        }

        if (_receiverWaiting)
        {
            lock (_roomForInput)
            {
                Monitor.PulseAll(_roomForInput);
            }
        }
    }

    /// <summary>The IIR identification code (bits 0-3) of the highest-priority pending interrupt.</summary>
    private byte PendingInterrupt()
    {
        if ((_ier & Elsi) != 0 && _lineErrors != 0)
        {
            return IirLineStatus;
        }

        if ((_ier & Erbfi) != 0 && _rxCount > 0)
        {
            if (!FifosEnabled || _rxCount >= TriggerLevel)
            {
                return IirDataAvailable;
            }

            // The datasheet raises the character timeout once data has sat below the trigger level
            // for four character times with no reads. There is no character clock here and host input
            // arrives in bursts already queued, so that wait is taken as elapsed at once.
            return IirCharacterTimeout;
        }

        if ((_ier & Etbei) != 0 && _thrInterruptPending)
        {
            return IirThrEmpty;
        }

        if ((_ier & Edssi) != 0 && (_msr & MsrDeltas) != 0)
        {
            return IirModemStatus;
        }

        return IirNoInterrupt;
    }

    // PC quirk: the board routes INTR to the PIC through a buffer enabled by the OUT2 pin, so the
    // IRQ is driven only while MCR bit 3 is set. In loopback the OUT pins are forced inactive
    // (PC16550D, MODEM Control Register bit 4), which closes that gate as well.
    private bool InterruptLevel() => PendingInterrupt() != IirNoInterrupt && (_mcr & (Out2 | Loop)) == Out2;

    private void UpdateInterrupt()
    {
        bool level = InterruptLevel();
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.Set(level);
        }
    }
}
