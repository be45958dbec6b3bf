namespace Emulator.Devices.Timers;

/// <summary>
/// One counter of an <see cref="Pit8254"/>. Nothing ticks: the counting element is a start time and
/// an initial count, and its value and OUT level at any instant are computed from the clock. The
/// count written is taken into the counting element at the write (or trigger) itself rather than on
/// the next CLK edge, so events happen up to one CLK period (838 ns) earlier than on the chip.
/// </summary>
internal sealed class Pit8254Counter
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    // Read/write field of the control word (Intel 8254 datasheet, Control Word Format).
    private const int RwLsb = 1, RwMsb = 2, RwLsbMsb = 3;

    private Phase _phase;
    private long _start;
    private int _count;
    private long _pausedTicks = -1;
    private int _pendingCount;
    private long _pendingAt;
    private int _countRegister;
    private bool _countRegisterValid;
    private int _heldValue;
    private byte _writeLow;
    private bool _writeHighNext, _readHighNext;
    private bool _countLatched, _statusLatched;
    private int _latchedCount;
    private byte _latchedStatus;
    private bool _nullCount;

    public Pit8254Counter(bool gate)
    {
        Gate = gate;
        Program(RwLsbMsb << 4);
    }

    public enum Phase : byte
    {
        /// <summary>No count since the control word (or mode 0 between the two bytes of a count).</summary>
        Idle,
        /// <summary>Count loaded, waiting for a gate rising edge (modes 1 and 5; modes 2 and 3 while the gate is low).</summary>
        AwaitingTrigger,
        /// <summary>The counting element runs from <see cref="_start"/>.</summary>
        Counting,
    }

    /// <summary>Bits 5-0 of the last control word, as the status byte reports them.</summary>
    public int ControlBits { get; private set; }

    /// <summary>The counter mode, 0-5 (6 and 7 are modes 2 and 3: M2 is a don't-care for them).</summary>
    public int Mode { get; private set; }

    public bool Bcd => (ControlBits & 1) != 0;

    public bool Gate { get; private set; }

    /// <summary>True while the counting element runs or is paused by the gate in modes 0 and 4.</summary>
    public bool IsCounting => _phase == Phase.Counting;

    private int ReadWrite => (ControlBits >> 4) & 3;

    private int Modulus => Bcd ? 10_000 : 65_536;

    /// <summary>A control word for this counter: everything resets and OUT takes its initial level.</summary>
    public void Program(int controlBits)
    {
        ControlBits = controlBits & 0x3F;
        int mode = (ControlBits >> 1) & 7;
        Mode = mode > 5 ? mode - 4 : mode;
        _phase = Phase.Idle;
        _pausedTicks = -1;
        _pendingCount = 0;
        _countRegisterValid = false;
        _writeHighNext = _readHighNext = false;
        _countLatched = _statusLatched = false;
        _nullCount = true;
    }

    /// <summary>A byte written to the counter's port.</summary>
    public void WriteCount(byte value, long now)
    {
        Settle(now);
        int register;
        switch (ReadWrite)
        {
            case RwLsb:
                register = value;
                break;
            case RwMsb:
                register = value << 8;
                break;
            default:
                if (!_writeHighNext)
                {
                    _writeLow = value;
                    _writeHighNext = true;
                    if (Mode == 0 && _phase == Phase.Counting)
                    {
                        // 8254 datasheet, Mode 0: writing the first byte of a two-byte count stops the
                        // count and sets OUT low at once.
                        _heldValue = Value(now);
                        _phase = Phase.Idle;
                    }

                    return;
                }

                _writeHighNext = false;
                register = _writeLow | (value << 8);
                break;
        }

        LoadCountRegister(register, now);
    }

    /// <summary>A byte read from the counter's port: a latched status, a latched count, or the live count.</summary>
    public byte ReadCount(long now)
    {
        if (_statusLatched)
        {
            _statusLatched = false;
            return _latchedStatus;
        }

        int value = _countLatched ? _latchedCount : Encode(CurrentValue(now));
        switch (ReadWrite)
        {
            case RwLsb:
                _countLatched = false;
                return (byte)value;
            case RwMsb:
                _countLatched = false;
                return (byte)(value >> 8);
            default:
                if (!_readHighNext)
                {
                    _readHighNext = true;
                    return (byte)value;
                }

                _readHighNext = false;
                _countLatched = false;
                return (byte)(value >> 8);
        }
    }

    /// <summary>The counter latch command (and the count half of read-back): ignored while a latched count is unread.</summary>
    public void LatchCount(long now)
    {
        if (!_countLatched)
        {
            _latchedCount = Encode(CurrentValue(now));
            _countLatched = true;
        }
    }

    /// <summary>The status half of read-back: OUT, NULL COUNT and the programmed mode; ignored while a latched status is unread.</summary>
    public void LatchStatus(long now)
    {
        if (!_statusLatched)
        {
            Settle(now);
            _latchedStatus = (byte)((Output(now) ? 0x80 : 0) | (_nullCount ? 0x40 : 0) | ControlBits);
            _statusLatched = true;
        }
    }

    /// <summary>Drives the GATE input.</summary>
    public void SetGate(bool level, long now)
    {
        Settle(now);
        bool rising = level && !Gate;
        bool falling = !level && Gate;
        Gate = level;
        switch (Mode)
        {
            case 0:
            case 4:
                // Gate low suspends counting; high resumes it (8254 datasheet, Gate Pin Operations Summary).
                if (falling && _phase == Phase.Counting && _pausedTicks < 0)
                {
                    _pausedTicks = ElapsedTicks(now);
                }
                else if (rising && _pausedTicks >= 0)
                {
                    _start = now - NanosecondsForTicks(_pausedTicks);
                    _pausedTicks = -1;
                }

                break;
            case 1:
            case 5:
                if (rising && _countRegisterValid)
                {
                    StartCounting(_countRegister, now);
                }

                break;
            default:
                // Modes 2 and 3: gate low stops counting and forces OUT high; a rising edge reloads.
                if (falling && _phase == Phase.Counting)
                {
                    _heldValue = Value(now);
                    _phase = Phase.AwaitingTrigger;
                }
                else if (rising && _countRegisterValid)
                {
                    StartCounting(_countRegister, now);
                }

                break;
        }
    }

    /// <summary>The OUT pin at <paramref name="now"/>.</summary>
    public bool Output(long now)
    {
        Settle(now);
        if (_phase == Phase.Idle)
        {
            return Mode != 0;
        }

        if (_phase == Phase.AwaitingTrigger)
        {
            return true;
        }

        long t = ElapsedTicks(now);
        return Mode switch
        {
            0 or 1 => t >= _count,
            2 => t % _count != _count - 1,
            3 => t % _count < HighHalf,
            _ => t != _count,
        };
    }

    /// <summary>The counting element at <paramref name="now"/>, as a number (not BCD-encoded).</summary>
    public int CurrentValue(long now)
    {
        Settle(now);
        return _phase == Phase.Counting ? Value(now) : _heldValue;
    }

    /// <summary>
    /// When OUT next rises after <paramref name="now"/>, or null when it will not without a new
    /// write or gate edge. In modes 2-5 OUT is low for at most half a period before that edge.
    /// </summary>
    public long? NextRisingEdge(long now)
    {
        Settle(now);
        if (_phase != Phase.Counting || _pausedTicks >= 0)
        {
            return null;
        }

        long t = ElapsedTicks(now);
        switch (Mode)
        {
            case 0:
            case 1:
                return t < _count ? TimeOfTick(_count) : null;
            case 2:
            case 3:
                long next = TimeOfTick(((t / _count) + 1) * _count);
                return _pendingCount != 0 ? Math.Min(next, _pendingAt) : next;
            default:
                return t <= _count ? TimeOfTick(_count + 1) : null;
        }
    }

    public void Save(BinaryWriter w, long now)
    {
        Settle(now);
        w.Write((byte)ControlBits);
        w.Write(Gate);
        w.Write((byte)_phase);
        w.Write(now - _start);
        w.Write(_count);
        w.Write(_pausedTicks);
        w.Write(_pendingCount);
        w.Write(_pendingAt - now);
        w.Write(_countRegister);
        w.Write(_countRegisterValid);
        w.Write(_heldValue);
        w.Write(_writeLow);
        w.Write(_writeHighNext);
        w.Write(_readHighNext);
        w.Write(_countLatched);
        w.Write(_latchedCount);
        w.Write(_statusLatched);
        w.Write(_latchedStatus);
        w.Write(_nullCount);
    }

    public void Restore(BinaryReader r, long now)
    {
        Program(r.ReadByte());
        Gate = r.ReadBoolean();
        byte phase = r.ReadByte();
        if (phase > (byte)Phase.Counting)
        {
            throw new InvalidDataException($"8254 counter: unknown phase {phase}");
        }

        _phase = (Phase)phase;
        _start = now - r.ReadInt64();
        _count = r.ReadInt32();
        _pausedTicks = r.ReadInt64();
        _pendingCount = r.ReadInt32();
        _pendingAt = now + r.ReadInt64();
        _countRegister = r.ReadInt32();
        _countRegisterValid = r.ReadBoolean();
        _heldValue = r.ReadInt32();
        _writeLow = r.ReadByte();
        _writeHighNext = r.ReadBoolean();
        _readHighNext = r.ReadBoolean();
        _countLatched = r.ReadBoolean();
        _latchedCount = r.ReadInt32();
        _statusLatched = r.ReadBoolean();
        _latchedStatus = r.ReadByte();
        _nullCount = r.ReadBoolean();
        if (_count is < 0 or > 65_536 || _countRegister is < 0 or > 65_536 || _pendingCount is < 0 or > 65_536
            || (_phase == Phase.Counting && _count == 0) || (_countRegisterValid && _countRegister == 0))
        {
            throw new InvalidDataException("8254 counter: saved count out of range");
        }
    }

    // Mode 3 keeps OUT high for the first ceil(N/2) clocks (8254 datasheet, Mode 3: odd counts are
    // high for (N+1)/2 and low for (N-1)/2 clocks).
    private long HighHalf => (_count + 1) / 2;

    private void LoadCountRegister(int register, long now)
    {
        _nullCount = true;
        int count = register == 0 ? Modulus : (Bcd ? FromBcd(register) : register);
        _countRegister = count;
        _countRegisterValid = true;
        switch (Mode)
        {
            case 0:
            case 4:
                // A new count takes effect at once, gate or no gate; a low gate holds it (8254 datasheet, Modes 0 and 4).
                StartCounting(count, now);
                if (!Gate)
                {
                    _pausedTicks = 0;
                }

                break;
            case 1:
            case 5:
                // Loaded only by the next trigger.
                if (_phase == Phase.Idle)
                {
                    _phase = Phase.AwaitingTrigger;
                    _heldValue = 0;
                }

                break;
            default:
                if (_phase == Phase.Counting)
                {
                    // Modes 2 and 3: a count written while counting applies from the end of the current
                    // period (the datasheet reloads mode 3 at the end of the current half-cycle; whole
                    // periods are kept here so that OUT always rises at a reload).
                    long t = ElapsedTicks(now);
                    _pendingCount = count;
                    _pendingAt = TimeOfTick(((t / _count) + 1) * _count);
                }
                else if (Gate)
                {
                    StartCounting(count, now);
                }
                else
                {
                    _phase = Phase.AwaitingTrigger;
                }

                break;
        }
    }

    private void StartCounting(int count, long now)
    {
        _phase = Phase.Counting;
        _start = now;
        _count = count;
        _pausedTicks = -1;
        _pendingCount = 0;
        _nullCount = false;
    }

    /// <summary>Applies a mode 2/3 reload that became due.</summary>
    private void Settle(long now)
    {
        if (_pendingCount != 0 && _phase == Phase.Counting && now >= _pendingAt)
        {
            _start = _pendingAt;
            _count = _pendingCount;
            _pendingCount = 0;
            _nullCount = false;
        }
    }

    private int Value(long now)
    {
        long t = ElapsedTicks(now);
        int modulus = Modulus;
        long value = Mode switch
        {
            2 => _count - (t % _count),
            3 => (_count & ~1) - (2 * (t % _count < HighHalf ? t % _count : (t % _count) - HighHalf)),
            _ => _count - (t % modulus),
        };
        return (int)(((value % modulus) + modulus) % modulus);
    }

    private long ElapsedTicks(long now)
    {
        if (_pausedTicks >= 0)
        {
            return _pausedTicks;
        }

        long elapsed = Math.Max(0, now - _start);
        return (long)((UInt128)(ulong)elapsed * Pit8254.FrequencyHz / NanosecondsPerSecond);
    }

    private long TimeOfTick(long tick) => _start + NanosecondsForTicks(tick);

    // Rounded up, so that ElapsedTicks at the returned instant has reached the tick.
    private static long NanosecondsForTicks(long ticks) =>
        (long)(((UInt128)(ulong)ticks * NanosecondsPerSecond + Pit8254.FrequencyHz - 1) / Pit8254.FrequencyHz);

    private int Encode(int value) => Bcd ? ToBcd(value) : value & 0xFFFF;

    // A nibble above 9 is not a BCD digit; the datasheet does not say what the chip counts then, so it is taken as 9.
    private static int FromBcd(int register)
    {
        int value = 0;
        for (int shift = 12; shift >= 0; shift -= 4)
        {
            value = (value * 10) + Math.Min((register >> shift) & 0xF, 9);
        }

        return value == 0 ? 10_000 : value;
    }

    private static int ToBcd(int value)
    {
        value %= 10_000;
        return (value / 1000 << 12) | (value / 100 % 10 << 8) | (value / 10 % 10 << 4) | (value % 10);
    }
}
