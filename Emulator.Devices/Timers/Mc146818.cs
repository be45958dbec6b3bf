using Emulator.Core.Devices;
using Emulator.Core.Time;

namespace Emulator.Devices.Timers;

/// <summary>
/// The Motorola MC146818A real-time clock and CMOS RAM of a PC: the index port at offset 0 (port
/// 0x70; bit 7 masks NMI) and the data port at offset 1 (port 0x71), 128 bytes behind them: the
/// time, alarm and control registers 0x00-0x0D and battery-backed RAM 0x0E-0x7F. The time starts
/// from a given host time and then follows the machine's virtual clock, so it stops with the
/// machine and is exact in deterministic mode. The chip runs on the PC's 32.768 kHz crystal: the
/// update cycle (1984 us, announced by UIP 244 us ahead), the periodic rates of register A and the
/// alarm and update-ended interrupts follow the datasheet; IRQF drives IRQ 8 until register C is read.
/// As on a PC, byte 0x32 holds the century (the ACPI FADT's CENTURY index): it is advanced with the
/// year, which the chip itself does not do. The time registers hold the raw bytes the guest wrote,
/// as on the chip; out-of-range values are clamped into a valid date when the clock next advances.
/// Daylight-saving adjustment (DSE) and the square-wave pin are not modelled.
/// </summary>
public sealed class Mc146818 : IBusDevice
{
    /// <summary>The index port.</summary>
    public const ushort Port = 0x70;

    /// <summary>Size of the register file and RAM.</summary>
    public const int RamSize = 128;

    /// <summary>Register indices (MC146818A datasheet, Address Map).</summary>
    public const int Seconds = 0x00, SecondsAlarm = 0x01, Minutes = 0x02, MinutesAlarm = 0x03, Hours = 0x04, HoursAlarm = 0x05,
        DayOfWeek = 0x06, DayOfMonth = 0x07, Month = 0x08, Year = 0x09, RegisterA = 0x0A, RegisterB = 0x0B, RegisterC = 0x0C, RegisterD = 0x0D;

    /// <summary>The first byte of general-purpose RAM.</summary>
    public const int FirstRamByte = 0x0E;

    /// <summary>The PC's century byte.</summary>
    public const int Century = 0x32;

    /// <summary>Register A: update in progress.</summary>
    public const byte Uip = 0x80;

    /// <summary>Register B bits.</summary>
    public const byte Set = 0x80, Pie = 0x40, Aie = 0x20, Uie = 0x10, Sqwe = 0x08, Dm = 0x04, Hours24 = 0x02, Dse = 0x01;

    /// <summary>Register C bits.</summary>
    public const byte Irqf = 0x80, Pf = 0x40, Af = 0x20, Uf = 0x10;

    /// <summary>Register D: valid RAM and time.</summary>
    public const byte Vrt = 0x80;

    /// <summary>Update cycle time with a 32.768 kHz time base (MC146818A datasheet, Table 6: tUC).</summary>
    public const long UpdateCycleNanoseconds = 1_984_000;

    /// <summary>How long before an update cycle UIP rises (MC146818A datasheet, Table 6: tBUC).</summary>
    public const long UipLeadNanoseconds = 244_000;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const long SecondsPerDay = 86_400;
    private const int StateVersion = 1;

    // Register A DV2-DV0: 010 is a 32.768 kHz time base running; the MC146818A datasheet, Register A, says
    // the first update cycle begins 500 ms after the divider chain leaves reset.
    private const byte DividerMask = 0x70, DividerRunning32k = 0x20;
    private const long FirstUpdateDelayNanoseconds = 500_000_000;
    private const byte RateMask = 0x0F;
    private const byte FlagBits = Pf | Af | Uf;
    private const byte DontCare = 0xC0;

    private readonly IClock _clock;
    private readonly IInterruptLine _irq;
    private readonly VirtualTimer _updateTimer;
    private readonly VirtualTimer _periodicTimer;
    private readonly byte[] _ram = new byte[RamSize];
    private int _index;
    private long _dividerOrigin;
    private long _lastTimeSync;
    private long _lastPeriodicSync;
    private bool _irqLevel;

    /// <summary>
    /// Powers the chip on: registers A and B as PC firmware programs them (0x26: 32.768 kHz time base,
    /// 1024 Hz periodic rate; 0x02: BCD, 24-hour, no interrupts), the time and date of
    /// <paramref name="powerOnTime"/>, RAM zero.
    /// </summary>
    public Mc146818(TimerService timers, IInterruptLine irq, DateTime powerOnTime)
    {
        _clock = timers.Clock;
        _irq = irq;
        _updateTimer = timers.CreateTimer("mc146818-update", OnTimer);
        _periodicTimer = timers.CreateTimer("mc146818-periodic", OnTimer);
        long now = _clock.NowNanoseconds;
        _ram[RegisterA] = DividerRunning32k | 0x06;
        _ram[RegisterB] = Hours24;
        _ram[RegisterD] = Vrt;
        var start = new DateTime(powerOnTime.Ticks - (powerOnTime.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Unspecified);
        WriteTime(start);
        _ram[DayOfWeek] = (byte)((int)start.DayOfWeek + 1);

        // Keep the host's fraction of a second: the next update ends when the host's next second begins.
        long fraction = (powerOnTime.Ticks % TimeSpan.TicksPerSecond) * 100;
        _dividerOrigin = now - fraction - FirstUpdateDelayNanoseconds - UpdateCycleNanoseconds;
        _lastTimeSync = _lastPeriodicSync = now;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "mc146818";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>Bit 7 of the last index written: NMI is masked at the CPU's NMI input.</summary>
    public bool NmiMasked { get; private set; }

    private bool DividerRunning => (_ram[RegisterA] & DividerMask) == DividerRunning32k;

    private bool UpdatesRunning => DividerRunning && (_ram[RegisterB] & Set) == 0;

    private bool Bcd => (_ram[RegisterB] & Dm) == 0;

    private long FirstUpdateEnd => _dividerOrigin + FirstUpdateDelayNanoseconds + UpdateCycleNanoseconds;

    /// <summary>Periodic interrupt rate in Hz for the current rate select (MC146818A datasheet, Table 5, 32.768 kHz column), 0 for none.</summary>
    private int PeriodicRate
    {
        get
        {
            int rs = _ram[RegisterA] & RateMask;
            if (!DividerRunning || rs == 0)
            {
                return 0;
            }

            return rs switch
            {
                1 => 256,
                2 => 128,
                _ => 32_768 >> (rs - 1),
            };
        }
    }

    /// <summary>A byte of the battery-backed RAM (0x0E-0x7F), as firmware set it.</summary>
    public byte ReadRam(int index) => _ram[RamIndex(index)];

    /// <summary>Sets a byte of the battery-backed RAM (0x0E-0x7F): how the machine fills the fields firmware reads.</summary>
    public void WriteRam(int index, byte value) => _ram[RamIndex(index)] = value;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (offset != 1)
        {
            // The index register is write-only on a PC (PIIX3 datasheet, RTC Index Register).
            data[0] = 0xFF;
            return;
        }

        long now = _clock.NowNanoseconds;
        Sync(now);
        switch (_index)
        {
            case RegisterA:
                data[0] = (byte)(_ram[RegisterA] | (UpdateInProgress(now) ? Uip : 0));
                break;
            case RegisterC:
                // Reading register C clears every flag and releases IRQ (MC146818A datasheet, Register C).
                data[0] = (byte)(_ram[RegisterC] | (InterruptRequested ? Irqf : 0));
                _ram[RegisterC] = 0;
                UpdateIrq();
                break;
            case RegisterD:
                data[0] = Vrt;
                break;
            default:
                data[0] = _ram[_index];
                break;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        byte value = data[0];
        if (offset == 0)
        {
            _index = value & 0x7F;
            NmiMasked = (value & 0x80) != 0;
            return;
        }

        if (offset != 1)
        {
            return;
        }

        long now = _clock.NowNanoseconds;
        Sync(now);
        switch (_index)
        {
            case RegisterA:
                bool wasRunning = DividerRunning;
                _ram[RegisterA] = (byte)(value & ~Uip);
                if (!wasRunning && DividerRunning)
                {
                    _dividerOrigin = now;
                }

                break;
            case RegisterB:
                // SET going high ends any update cycle and clears UIE (MC146818A datasheet, Register B).
                if ((value & Set) != 0 && (_ram[RegisterB] & Set) == 0)
                {
                    value &= unchecked((byte)~Uie);
                }

                _ram[RegisterB] = value;
                break;
            case RegisterC:
            case RegisterD:
                // Read-only.
                break;
            default:
                _ram[_index] = value;
                break;
        }

        UpdateIrq();
        Reschedule(now);
    }

    /// <summary>
    /// The RESET pin: clears PIE, AIE, UIE and SQWE and every flag of register C, releasing IRQ. The
    /// time, the rest of registers A and B, and the RAM are battery-backed and survive
    /// (MC146818A datasheet, RESET).
    /// </summary>
    public void Reset()
    {
        long now = _clock.NowNanoseconds;
        Sync(now);
        _ram[RegisterB] &= unchecked((byte)~(Pie | Aie | Uie | Sqwe));
        _ram[RegisterC] = 0;
        UpdateIrq();
        Reschedule(now);
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        long now = _clock.NowNanoseconds;
        Sync(now);
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(_ram);
            w.Write((byte)_index);
            w.Write(NmiMasked);
            w.Write(now - _dividerOrigin);
        }

        return new DeviceState(Name, StateVersion, stream.ToArray());
    }

    /// <summary>Restores the registers and RAM; the saved time continues from the clock's present instant.</summary>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != RamSize + 1 + 1 + 8)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        long now = _clock.NowNanoseconds;
        using var r = new BinaryReader(new MemoryStream(state.Data));
        r.ReadBytes(RamSize).CopyTo(_ram, 0);
        _index = r.ReadByte() & 0x7F;
        NmiMasked = r.ReadBoolean();
        _dividerOrigin = now - r.ReadInt64();
        _ram[RegisterC] &= FlagBits;
        _lastTimeSync = _lastPeriodicSync = now;
        _irqLevel = !InterruptRequested;
        UpdateIrq();
        Reschedule(now);
    }

    private static int RamIndex(int index)
    {
        if (index is < FirstRamByte or >= RamSize)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"CMOS RAM spans 0x{FirstRamByte:x2}-0x{RamSize - 1:x2}");
        }

        return index;
    }

    private bool InterruptRequested
    {
        get
        {
            byte b = _ram[RegisterB], c = _ram[RegisterC];
            return ((c & Pf) != 0 && (b & Pie) != 0) || ((c & Af) != 0 && (b & Aie) != 0) || ((c & Uf) != 0 && (b & Uie) != 0);
        }
    }

    private bool UpdateInProgress(long now)
    {
        if (!UpdatesRunning)
        {
            return false;
        }

        long windowStart = FirstUpdateEnd - UpdateCycleNanoseconds - UipLeadNanoseconds;
        return now >= windowStart && (now - windowStart) % NanosecondsPerSecond < UipLeadNanoseconds + UpdateCycleNanoseconds;
    }

    private long UpdatesEndedBy(long t) => t < FirstUpdateEnd ? 0 : ((t - FirstUpdateEnd) / NanosecondsPerSecond) + 1;

    private long PeriodsBy(long t, int rate) => t <= _dividerOrigin ? 0 : (long)((UInt128)(ulong)(t - _dividerOrigin) * (ulong)rate / NanosecondsPerSecond);

    /// <summary>Brings the time registers and the flags of register C up to <paramref name="now"/>.</summary>
    private void Sync(long now)
    {
        if (UpdatesRunning)
        {
            long updates = UpdatesEndedBy(now) - UpdatesEndedBy(_lastTimeSync);
            if (updates > 0)
            {
                AdvanceTime(updates);
            }
        }

        int rate = PeriodicRate;
        if (rate > 0 && PeriodsBy(now, rate) > PeriodsBy(_lastPeriodicSync, rate))
        {
            // PF is set at the periodic rate whether or not PIE lets it interrupt (MC146818A datasheet, Register C).
            _ram[RegisterC] |= Pf;
        }

        _lastTimeSync = _lastPeriodicSync = now;
        UpdateIrq();
    }

    /// <summary>Runs <paramref name="updates"/> update cycles at once: the time advances, UF is set, and AF if any of the new times matched the alarm.</summary>
    private void AdvanceTime(long updates)
    {
        DateTime before = ReadTime();
        long room = (long)(DateTime.MaxValue - before).TotalSeconds;
        updates = Math.Min(updates, room);

        // The alarm can only match once per day of times: checking the last day's worth of updates is enough.
        bool alarm = false;
        long check = Math.Min(updates, SecondsPerDay);
        DateTime t = before.AddSeconds(updates - check);
        for (long i = 0; i < check && !alarm; i++)
        {
            t = t.AddSeconds(1);
            alarm = AlarmMatches(t);
        }

        DateTime after = before.AddSeconds(updates);
        int dow = Math.Clamp(Decode(_ram[DayOfWeek]), 1, 7);
        long days = (after.Date - before.Date).Days;
        WriteTime(after);
        _ram[DayOfWeek] = Encode((int)(((dow - 1 + days) % 7) + 1));
        _ram[RegisterC] |= alarm ? (byte)(Uf | Af) : Uf;
    }

    private bool AlarmMatches(DateTime t)
    {
        static bool Matches(byte alarm, byte time) => (alarm & DontCare) == DontCare || alarm == time;
        return Matches(_ram[SecondsAlarm], Encode(t.Second)) && Matches(_ram[MinutesAlarm], Encode(t.Minute)) && Matches(_ram[HoursAlarm], EncodeHours(t.Hour));
    }

    private DateTime ReadTime()
    {
        int second = Math.Clamp(Decode(_ram[Seconds]), 0, 59);
        int minute = Math.Clamp(Decode(_ram[Minutes]), 0, 59);
        int hour;
        byte rawHours = _ram[Hours];
        if ((_ram[RegisterB] & Hours24) != 0)
        {
            hour = Math.Clamp(Decode(rawHours), 0, 23);
        }
        else
        {
            // 12-hour mode: 1-12, bit 7 set for PM (MC146818A datasheet, Table 3).
            int h12 = Math.Clamp(Decode((byte)(rawHours & 0x7F)), 1, 12);
            hour = (h12 % 12) + ((rawHours & 0x80) != 0 ? 12 : 0);
        }

        int year = Math.Clamp((Math.Clamp(Decode(_ram[Century]), 0, 99) * 100) + Math.Clamp(Decode(_ram[Year]), 0, 99), 1, 9999);
        int month = Math.Clamp(Decode(_ram[Month]), 1, 12);
        int day = Math.Clamp(Decode(_ram[DayOfMonth]), 1, DateTime.DaysInMonth(year, month));
        return new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
    }

    private void WriteTime(DateTime t)
    {
        _ram[Seconds] = Encode(t.Second);
        _ram[Minutes] = Encode(t.Minute);
        _ram[Hours] = EncodeHours(t.Hour);
        _ram[DayOfMonth] = Encode(t.Day);
        _ram[Month] = Encode(t.Month);
        _ram[Year] = Encode(t.Year % 100);
        _ram[Century] = Encode(t.Year / 100);
    }

    private byte EncodeHours(int hour)
    {
        if ((_ram[RegisterB] & Hours24) != 0)
        {
            return Encode(hour);
        }

        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return (byte)(Encode(h12) | (hour >= 12 ? 0x80 : 0));
    }

    private byte Encode(int value) => Bcd ? (byte)(((value / 10) << 4) | (value % 10)) : (byte)value;

    private int Decode(byte value) => Bcd ? ((value >> 4) * 10) + (value & 0x0F) : value;

    private void UpdateIrq()
    {
        bool level = InterruptRequested;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.Set(level);
        }
    }

    private void Reschedule(long now)
    {
        if (UpdatesRunning && (_ram[RegisterB] & (Uie | Aie)) != 0)
        {
            _updateTimer.Arm(FirstUpdateEnd + (UpdatesEndedBy(now) * NanosecondsPerSecond));
        }
        else
        {
            _updateTimer.Cancel();
        }

        int rate = PeriodicRate;
        if (rate > 0 && (_ram[RegisterB] & Pie) != 0)
        {
            long next = PeriodsBy(now, rate) + 1;
            long offset = (long)(((UInt128)(ulong)next * NanosecondsPerSecond + (ulong)rate - 1) / (ulong)rate);
            _periodicTimer.Arm(_dividerOrigin + offset);
        }
        else
        {
            _periodicTimer.Cancel();
        }
    }

    private void OnTimer()
    {
        long now = _clock.NowNanoseconds;
        Sync(now);
        Reschedule(now);
    }
}
