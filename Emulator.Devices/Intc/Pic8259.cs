using Emulator.Core.Devices;

namespace Emulator.Devices.Intc;

/// <summary>
/// One Intel 8259A programmable interrupt controller, on two ports: offset 0 is A0 = 0 (ICW1, OCW2,
/// OCW3, IRR/ISR/poll reads), offset 1 is A0 = 1 (ICW2-4, OCW1, IMR reads). Only the 8086/8088
/// mode is modelled: ICW2 supplies vector bits T7-T3 and the interrupt level fills bits 2-0.
/// Edge or level sensing is chosen per input by the ELCR of the PIIX3 that hosts the pair on a PC
/// (see <see cref="Elcr"/>); the chip's own ICW1 LTIM bit is recorded but has no effect there
/// (Intel 82371SB PIIX3 datasheet, ICW1: "LTIM ... disabled; its function is replaced by ELCR").
/// <see cref="CascadedPic8259"/> wires two of them into the PC's pair.
/// </summary>
public sealed class Pic8259 : IBusDevice
{
    private const int StateVersion = 1;
    private const int StateLength = 12;

    // ICW1 (A0 = 0, D4 = 1).
    private const byte Icw1Ic4 = 0x01, Icw1Single = 0x02, Icw1Select = 0x10;

    // ICW4.
    private const byte Icw4Aeoi = 0x02, Icw4Sfnm = 0x10;

    // OCW3 (A0 = 0, D4 = 0, D3 = 1).
    private const byte Ocw3Select = 0x08, Ocw3Ris = 0x01, Ocw3Rr = 0x02, Ocw3Poll = 0x04, Ocw3Smm = 0x20, Ocw3Esmm = 0x40;

    // Flags packed into the saved state.
    private const byte FlagReadIsr = 0x01, FlagPoll = 0x02, FlagSpecialMask = 0x04, FlagRotateOnAeoi = 0x08;

    private readonly bool _master;
    private readonly byte _elcrWritable;

    private byte _irr, _isr, _imr, _inputs, _elcr;
    private byte _vectorBase, _icw1, _icw3, _icw4;
    private InitStep _step;
    private bool _readIsr, _pollPending, _specialMask, _rotateOnAeoi;
    private int _lowestPriority;
    private bool _output;

    /// <summary>Creates a chip in its reset state.</summary>
    /// <param name="name">The device name, e.g. "pic8259-master".</param>
    /// <param name="master">The SP/EN strap: true for the chip whose ICW3 names the inputs carrying slaves.</param>
    /// <param name="elcrWritable">ELCR bits this chip's inputs may set; the rest are edge-only on the board.</param>
    public Pic8259(string name, bool master, byte elcrWritable)
    {
        Name = name;
        _master = master;
        _elcrWritable = elcrWritable;
        Reset();
    }

    private enum InitStep : byte
    {
        Ready,
        Icw2,
        Icw3,
        Icw4,
    }

    /// <summary>Raised with the new level whenever the INT output changes.</summary>
    public event Action<bool>? OutputChanged;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>The INT output: an unmasked request outranks everything in service.</summary>
    public bool Output => _output;

    /// <summary>Interrupt request register.</summary>
    public byte Irr => _irr;

    /// <summary>In-service register.</summary>
    public byte Isr => _isr;

    /// <summary>Interrupt mask register (OCW1).</summary>
    public byte Imr => _imr;

    /// <summary>The vector the chip puts on the bus when the request vanished before INTA: IR7's, with no ISR bit set.</summary>
    public int SpuriousVector => VectorFor(7);

    /// <summary>
    /// The edge/level control bits for this chip's inputs (1 = level). Bits outside the writable
    /// mask stay zero.
    /// </summary>
    public byte Elcr
    {
        get => _elcr;
        set
        {
            _elcr = (byte)(value & _elcrWritable);
            _irr = (byte)((_irr & ~_elcr) | (_inputs & _elcr));
            Update();
        }
    }

    private bool AutoEoi => (_icw4 & Icw4Aeoi) != 0;

    private bool SpecialFullyNested => (_icw4 & Icw4Sfnm) != 0;

    /// <summary>The vector for interrupt level <paramref name="level"/> (8086 mode: ICW2 bits 7-3, level in bits 2-0).</summary>
    public int VectorFor(int level) => (_vectorBase & 0xF8) | (level & 7);

    /// <summary>True when input <paramref name="input"/> carries a slave according to ICW3 (master in cascade mode only).</summary>
    public bool IsCascadeInput(int input) => _master && (_icw1 & Icw1Single) == 0 && (_icw3 & (1 << input)) != 0;

    /// <summary>Drives interrupt request input IR<paramref name="input"/>.</summary>
    public void SetInput(int input, bool level)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)input, 7u, nameof(input));
        byte bit = (byte)(1 << input);
        bool wasHigh = (_inputs & bit) != 0;
        if (level)
        {
            _inputs |= bit;
            if ((_elcr & bit) != 0 || !wasHigh)
            {
                _irr |= bit;
            }
        }
        else
        {
            // 8259A datasheet, Interrupt Sequence: in both modes an IR input must stay high until
            // the first INTA; a request that drops earlier is not acknowledged (the CPU gets IR7).
            _inputs &= (byte)~bit;
            _irr &= (byte)~bit;
        }

        Update();
    }

    /// <summary>
    /// The INTA sequence seen by this chip: resolves the highest request, moves it from IRR to ISR
    /// (or, in automatic EOI mode, straight out again) and returns its level, or -1 when no request
    /// remains, in which case the chip answers with <see cref="SpuriousVector"/> and sets no ISR bit.
    /// </summary>
    public int Acknowledge()
    {
        int level = PendingRequest();
        if (level < 0)
        {
            return -1;
        }

        byte bit = (byte)(1 << level);
        if ((_elcr & bit) == 0)
        {
            _irr &= (byte)~bit;
        }

        if (AutoEoi)
        {
            if (_rotateOnAeoi)
            {
                _lowestPriority = level;
            }
        }
        else
        {
            _isr |= bit;
        }

        Update();
        return level;
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (_pollPending)
        {
            // 8259A datasheet, The Poll Command: the next read returns I000 0W2W1W0 and acts as INTA.
            _pollPending = false;
            int level = Acknowledge();
            data[0] = level < 0 ? (byte)0 : (byte)(0x80 | level);
            return;
        }

        data[0] = offset switch
        {
            0 => _readIsr ? _isr : _irr,
            1 => _imr,
            _ => 0xFF,
        };
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        byte value = data[0];
        if (offset == 0)
        {
            if ((value & Icw1Select) != 0)
            {
                WriteIcw1(value);
            }
            else if ((value & Ocw3Select) != 0)
            {
                WriteOcw3(value);
            }
            else
            {
                WriteOcw2(value);
            }
        }
        else if (offset == 1)
        {
            WriteDataPort(value);
        }
    }

    /// <summary>
    /// Power-on state. The datasheet leaves it undefined until ICW1; every input starts masked so that
    /// nothing reaches the CPU before the guest programs the chip. Input levels are the wires' and survive.
    /// </summary>
    public void Reset()
    {
        _irr = _isr = _elcr = 0;
        _imr = 0xFF;
        _vectorBase = _icw1 = _icw3 = _icw4 = 0;
        _step = InitStep.Ready;
        _readIsr = _pollPending = _specialMask = _rotateOnAeoi = false;
        _lowestPriority = 7;
        Update();
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        byte flags = 0;
        flags |= _readIsr ? FlagReadIsr : (byte)0;
        flags |= _pollPending ? FlagPoll : (byte)0;
        flags |= _specialMask ? FlagSpecialMask : (byte)0;
        flags |= _rotateOnAeoi ? FlagRotateOnAeoi : (byte)0;
        byte[] data = [_irr, _isr, _imr, _inputs, _elcr, _vectorBase, _icw1, _icw3, _icw4, (byte)_step, flags, (byte)_lowestPriority];
        return new DeviceState(Name, StateVersion, data);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != StateLength)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        byte[] d = state.Data;
        if (d[9] > (byte)InitStep.Icw4 || d[11] > 7)
        {
            throw new InvalidDataException($"{Name}: saved state is corrupt (step {d[9]}, lowest priority {d[11]})");
        }

        (_irr, _isr, _imr, _inputs, _vectorBase, _icw1, _icw3, _icw4) = (d[0], d[1], d[2], d[3], d[5], d[6], d[7], d[8]);
        _elcr = (byte)(d[4] & _elcrWritable);
        _step = (InitStep)d[9];
        _readIsr = (d[10] & FlagReadIsr) != 0;
        _pollPending = (d[10] & FlagPoll) != 0;
        _specialMask = (d[10] & FlagSpecialMask) != 0;
        _rotateOnAeoi = (d[10] & FlagRotateOnAeoi) != 0;
        _lowestPriority = d[11];

        // Drive the output whatever it was: whatever listens was restored too.
        _output = PendingRequest() >= 0;
        OutputChanged?.Invoke(_output);
    }

    private void WriteIcw1(byte value)
    {
        // 8259A datasheet, Initialization Command Words: ICW1 resets the edge sense circuit (an input
        // must go low and high again), clears the IMR, makes IR7 the lowest priority, sets the slave
        // address to 7, clears special mask mode, selects IRR for status reads, and zeroes the ICW4
        // functions when IC4 = 0. In-service levels belong to the old vector base and are dropped too.
        _icw1 = value;
        _step = InitStep.Icw2;
        _irr &= (byte)(_inputs & _elcr);
        _isr = 0;
        _imr = 0;
        _lowestPriority = 7;
        _icw3 = 7;
        _specialMask = false;
        _readIsr = false;
        _pollPending = false;
        _rotateOnAeoi = false;
        if ((value & Icw1Ic4) == 0)
        {
            _icw4 = 0;
        }

        Update();
    }

    private void WriteDataPort(byte value)
    {
        switch (_step)
        {
            case InitStep.Icw2:
                _vectorBase = (byte)(value & 0xF8);
                _step = (_icw1 & Icw1Single) == 0 ? InitStep.Icw3 : NextAfterIcw3();
                break;
            case InitStep.Icw3:
                _icw3 = value;
                _step = NextAfterIcw3();
                break;
            case InitStep.Icw4:
                _icw4 = value;
                _step = InitStep.Ready;
                break;
            default:
                _imr = value;
                break;
        }

        Update();
    }

    private InitStep NextAfterIcw3() => (_icw1 & Icw1Ic4) != 0 ? InitStep.Icw4 : InitStep.Ready;

    private void WriteOcw2(byte value)
    {
        int level = value & 7;
        switch (value >> 5)
        {
            case 0b000:
                _rotateOnAeoi = false;
                break;
            case 0b001:
                NonSpecificEoi(rotate: false);
                break;
            case 0b011:
                _isr &= (byte)~(1 << level);
                break;
            case 0b100:
                _rotateOnAeoi = true;
                break;
            case 0b101:
                NonSpecificEoi(rotate: true);
                break;
            case 0b110:
                _lowestPriority = level;
                break;
            case 0b111:
                _isr &= (byte)~(1 << level);
                _lowestPriority = level;
                break;
            default:
                // 010: no operation.
                break;
        }

        Update();
    }

    private void NonSpecificEoi(bool rotate)
    {
        // In special mask mode an ISR bit masked by the IMR is not the one a non-specific EOI resets
        // (8259A datasheet, Special Mask Mode).
        byte candidates = _specialMask ? (byte)(_isr & ~_imr) : _isr;
        int level = Highest(candidates);
        if (level < 0)
        {
            return;
        }

        _isr &= (byte)~(1 << level);
        if (rotate)
        {
            _lowestPriority = level;
        }
    }

    private void WriteOcw3(byte value)
    {
        if ((value & Ocw3Poll) != 0)
        {
            _pollPending = true;
        }

        if ((value & Ocw3Rr) != 0)
        {
            _readIsr = (value & Ocw3Ris) != 0;
        }

        if ((value & Ocw3Esmm) != 0)
        {
            _specialMask = (value & Ocw3Smm) != 0;
        }

        Update();
    }

    /// <summary>The level that INT asserts for, or -1: the highest unmasked request that outranks the highest level in service.</summary>
    private int PendingRequest()
    {
        int request = Highest((byte)(_irr & ~_imr));
        if (request < 0)
        {
            return -1;
        }

        // Special mask mode: masked in-service levels stop blocking lower levels (8259A datasheet, Special Mask Mode).
        byte inService = _specialMask ? (byte)(_isr & ~_imr) : _isr;
        int serving = Highest(inService);
        if (serving < 0 || Rank(request) < Rank(serving))
        {
            return request;
        }

        // Special fully nested mode: a slave whose level is in service may still interrupt the master
        // with a higher request of its own, which arrives on the same input (8259A datasheet, Special Fully Nest Mode).
        if (request == serving && SpecialFullyNested && IsCascadeInput(request))
        {
            return request;
        }

        return -1;
    }

    /// <summary>0 is the highest priority: the level just after the lowest-priority one.</summary>
    private int Rank(int level) => (level - _lowestPriority - 1) & 7;

    private int Highest(byte levels)
    {
        if (levels == 0)
        {
            return -1;
        }

        for (int rank = 0; rank < 8; rank++)
        {
            int level = (_lowestPriority + 1 + rank) & 7;
            if ((levels & (1 << level)) != 0)
            {
                return level;
            }
        }

        return -1;
    }

    private void Update()
    {
        bool output = PendingRequest() >= 0;
        if (output != _output)
        {
            _output = output;
            OutputChanged?.Invoke(output);
        }
    }
}
