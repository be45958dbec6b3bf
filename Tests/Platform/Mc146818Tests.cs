using Emulator.Devices.Timers;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>The RTC against the Motorola MC146818A datasheet, in deterministic time.</summary>
public sealed class Mc146818Tests : IDisposable
{
    private const ushort Index = 0x70, Data = 0x71;
    private const long Microsecond = 1_000, Millisecond = 1_000_000, Second = 1_000_000_000;

    // A Thursday, two seconds before a leap day ends.
    private static readonly DateTime Start = new(2024, 2, 29, 23, 59, 58);

    private readonly PlatformTestBench _bench = new();
    private readonly RecordingLine _irq8;
    private readonly Mc146818 _rtc;

    public Mc146818Tests()
    {
        _irq8 = _bench.Line();
        _rtc = new Mc146818(_bench.Platform.Timers, _irq8, Start);
        _bench.Platform.Io.Register(Mc146818.Port, 2, _rtc);
    }

    public void Dispose() => _bench.Dispose();

    private byte Read(int register)
    {
        _bench.Out(Index, (byte)register);
        return _bench.In(Data);
    }

    private void Write(int register, byte value)
    {
        _bench.Out(Index, (byte)register);
        _bench.Out(Data, value);
    }

    private byte[] Clock() =>
    [
        Read(Mc146818.Seconds), Read(Mc146818.Minutes), Read(Mc146818.Hours), Read(Mc146818.DayOfWeek),
        Read(Mc146818.DayOfMonth), Read(Mc146818.Month), Read(Mc146818.Year), Read(Mc146818.Century),
    ];

    private bool Uip => (Read(Mc146818.RegisterA) & Mc146818.Uip) != 0;

    [Fact]
    public void PowerOnShowsTheGivenTimeInBcd24HourMode()
    {
        // seconds, minutes, hours, day of week (Sunday = 1), date, month, year, century
        Assert.Equal([0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20], Clock());
        Assert.Equal(0x26, Read(Mc146818.RegisterA));
        Assert.Equal(0x02, Read(Mc146818.RegisterB));
        Assert.Equal(0x00, Read(Mc146818.RegisterC));
        Assert.Equal(0x80, Read(Mc146818.RegisterD));
    }

    [Fact]
    public void TimeFollowsTheVirtualClockAcrossMidnightAndTheLeapDay()
    {
        _bench.AdvanceTo((2 * Second) + (3 * Millisecond));

        Assert.Equal([0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20], Clock());
    }

    [Fact]
    public void UipIsSet244MicrosecondsBeforeTheUpdateAndUntilItsEnd()
    {
        long updateEnd = Second;
        long uipRises = updateEnd - Mc146818.UpdateCycleNanoseconds - Mc146818.UipLeadNanoseconds;

        _bench.AdvanceTo(500 * Millisecond);
        Assert.False(Uip);
        _bench.AdvanceTo(uipRises - Microsecond);
        Assert.False(Uip);
        _bench.AdvanceTo(uipRises + Microsecond);
        Assert.True(Uip);
        Assert.Equal(0x58, Read(Mc146818.Seconds));
        _bench.AdvanceTo(updateEnd - Microsecond);
        Assert.True(Uip);
        _bench.AdvanceTo(updateEnd);
        Assert.False(Uip);
        Assert.Equal(0x59, Read(Mc146818.Seconds));
    }

    [Fact]
    public void BinaryModeCountsInBinary()
    {
        Write(Mc146818.RegisterB, Mc146818.Set | Mc146818.Dm | Mc146818.Hours24);
        Write(Mc146818.Seconds, 59);
        Write(Mc146818.Minutes, 59);
        Write(Mc146818.Hours, 23);
        Write(Mc146818.DayOfMonth, 31);
        Write(Mc146818.Month, 12);
        Write(Mc146818.Year, 99);
        Write(Mc146818.Century, 20);
        Write(Mc146818.DayOfWeek, 6);
        Write(Mc146818.RegisterB, Mc146818.Dm | Mc146818.Hours24);

        _bench.AdvanceTo(Second);

        Assert.Equal([0, 0, 0, 7, 1, 1, 0, 21], Clock());
    }

    [Fact]
    public void TwelveHourModeUsesBit7ForPm()
    {
        Write(Mc146818.RegisterB, Mc146818.Set); // BCD, 12-hour
        Write(Mc146818.Hours, 0x91); // 11 PM
        Write(Mc146818.Minutes, 0x59);
        Write(Mc146818.Seconds, 0x59);
        Write(Mc146818.RegisterB, 0);
        _bench.AdvanceTo(Second);
        Assert.Equal(0x12, Read(Mc146818.Hours)); // 12 AM
        Assert.Equal(0x01, Read(Mc146818.DayOfMonth)); // the next day: March 1

        Write(Mc146818.Hours, 0x11); // 11 AM
        Write(Mc146818.Minutes, 0x59);
        Write(Mc146818.Seconds, 0x59);
        _bench.AdvanceTo(2 * Second);
        Assert.Equal(0x92, Read(Mc146818.Hours)); // 12 PM
    }

    [Fact]
    public void SetInhibitsUpdatesAndClearsUie()
    {
        Write(Mc146818.RegisterB, Mc146818.Uie | Mc146818.Hours24);
        Write(Mc146818.RegisterB, Mc146818.Set | Mc146818.Uie | Mc146818.Hours24);
        Assert.Equal(Mc146818.Set | Mc146818.Hours24, Read(Mc146818.RegisterB));

        _bench.AdvanceTo((3 * Second) - Millisecond);
        Assert.False(Uip); // inside what would be the update window
        _bench.AdvanceTo(3 * Second);
        Assert.Equal(0x58, Read(Mc146818.Seconds));

        Write(Mc146818.RegisterB, Mc146818.Hours24);
        _bench.AdvanceTo(4 * Second);
        Assert.Equal(0x59, Read(Mc146818.Seconds));
    }

    [Theory]
    [InlineData(1, 256)]
    [InlineData(2, 128)]
    [InlineData(3, 8192)]
    [InlineData(6, 1024)]
    [InlineData(15, 2)]
    public void PeriodicInterruptFollowsTheRateSelect(int rateSelect, int hertz)
    {
        Write(Mc146818.RegisterA, (byte)(0x20 | rateSelect));
        Write(Mc146818.RegisterB, Mc146818.Pie | Mc146818.Hours24);
        int interrupts = 0;

        for (long t = 25 * Microsecond; t <= Second; t += 25 * Microsecond)
        {
            _bench.AdvanceTo(t);
            if (_irq8.Level)
            {
                Assert.Equal(Mc146818.Irqf | Mc146818.Pf, Read(Mc146818.RegisterC) & (Mc146818.Irqf | Mc146818.Pf));
                Assert.False(_irq8.Level);
                interrupts++;
            }
        }

        Assert.InRange(interrupts, hertz - 1, hertz);
    }

    [Fact]
    public void PeriodicFlagIsSetWithoutPieButRaisesNoInterrupt()
    {
        _bench.AdvanceTo(5 * Millisecond); // the 1024 Hz rate of power-on

        Assert.Equal(Mc146818.Pf, Read(Mc146818.RegisterC));
        Assert.Equal(0, Read(Mc146818.RegisterC));
        Assert.Empty(_irq8.RisingEdges);
    }

    [Fact]
    public void UpdateEndedInterruptEverySecondUntilRegisterCIsRead()
    {
        Write(Mc146818.RegisterB, Mc146818.Uie | Mc146818.Hours24);

        _bench.AdvanceTo(Second + Millisecond);
        Assert.True(_irq8.Level);
        Assert.Equal(Mc146818.Irqf | Mc146818.Uf, Read(Mc146818.RegisterC) & ~Mc146818.Pf); // PF runs at 1024 Hz meanwhile
        Assert.False(_irq8.Level);
        Assert.Equal(0, Read(Mc146818.RegisterC));

        _bench.AdvanceTo((3 * Second) + Millisecond); // no read at 2 s: the line stays up, one edge
        Read(Mc146818.RegisterC);
        Assert.Equal([Second, 2 * Second], _irq8.RisingEdges);
    }

    [Fact]
    public void AlarmInterruptFiresWhenTheTimeMatches()
    {
        Write(Mc146818.SecondsAlarm, 0x01);
        Write(Mc146818.MinutesAlarm, 0x00);
        Write(Mc146818.HoursAlarm, 0x00);
        Write(Mc146818.RegisterB, Mc146818.Aie | Mc146818.Hours24);

        _bench.AdvanceTo(2 * Second + (500 * Millisecond));
        Assert.False(_irq8.Level);
        Assert.Equal(Mc146818.Uf, Read(Mc146818.RegisterC) & ~Mc146818.Pf);

        _bench.AdvanceTo(3 * Second + Millisecond); // 00:00:01
        Assert.Equal([3 * Second], _irq8.RisingEdges);
        Assert.Equal(Mc146818.Irqf | Mc146818.Af | Mc146818.Uf, Read(Mc146818.RegisterC) & ~Mc146818.Pf);
    }

    [Fact]
    public void DontCareAlarmBytesMatchEverySecond()
    {
        Write(Mc146818.SecondsAlarm, 0xC0);
        Write(Mc146818.MinutesAlarm, 0xFF);
        Write(Mc146818.HoursAlarm, 0xC5);
        Write(Mc146818.RegisterB, Mc146818.Aie | Mc146818.Hours24);

        for (int s = 1; s <= 3; s++)
        {
            _bench.AdvanceTo((s * Second) + Millisecond);
            Assert.Equal(Mc146818.Irqf | Mc146818.Af, Read(Mc146818.RegisterC) & (Mc146818.Irqf | Mc146818.Af));
        }

        Assert.Equal([Second, 2 * Second, 3 * Second], _irq8.RisingEdges);
    }

    [Fact]
    public void DividerResetStopsTheClockAndTheFirstUpdateComesHalfASecondAfterRelease()
    {
        Write(Mc146818.RegisterA, 0x70);
        _bench.AdvanceTo(5 * Second);
        Assert.Equal(0x58, Read(Mc146818.Seconds));
        Assert.False(Uip);

        Write(Mc146818.RegisterA, 0x26);
        long released = _bench.Now;
        _bench.AdvanceTo(released + (400 * Millisecond));
        Assert.Equal(0x58, Read(Mc146818.Seconds));
        _bench.AdvanceTo(released + (500 * Millisecond) + Microsecond);
        Assert.True(Uip); // the update cycle has begun
        _bench.AdvanceTo(released + (500 * Millisecond) + Mc146818.UpdateCycleNanoseconds);
        Assert.Equal(0x59, Read(Mc146818.Seconds));
    }

    [Fact]
    public void RamIsReadWriteAndIndexBit7MasksNmi()
    {
        _bench.Out(Index, 0xC0); // register 0x40, NMI masked
        _bench.Out(Data, 0x5A);
        Assert.True(_rtc.NmiMasked);

        _bench.Out(Index, 0x40);
        Assert.False(_rtc.NmiMasked);
        Assert.Equal(0x5A, _bench.In(Data));
        Assert.Equal(0x5A, _rtc.ReadRam(0x40));

        Write(Mc146818.RegisterD, 0x00);
        Write(Mc146818.RegisterC, 0xF0);
        Assert.Equal(0x80, Read(Mc146818.RegisterD));
        Assert.Equal(0x00, Read(Mc146818.RegisterC) & 0xB0);
    }

    [Theory]
    [InlineData(0x0D)]
    [InlineData(0x80)]
    [InlineData(-1)]
    public void MachineAccessToRamIsBoundChecked(int index) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _rtc.WriteRam(index, 0));

    [Fact]
    public void ResetClearsInterruptEnablesAndFlagsButKeepsTimeAndRam()
    {
        _rtc.WriteRam(0x50, 0x77);
        Write(Mc146818.RegisterB, Mc146818.Uie | Mc146818.Pie | Mc146818.Hours24 | Mc146818.Dse);
        _bench.AdvanceTo(Second + Millisecond);
        Assert.True(_irq8.Level);

        _rtc.Reset();

        Assert.False(_irq8.Level);
        Assert.Equal(Mc146818.Hours24 | Mc146818.Dse, Read(Mc146818.RegisterB));
        Assert.Equal(0, Read(Mc146818.RegisterC) & 0x70);
        Assert.Equal(0x77, _rtc.ReadRam(0x50));
        Assert.Equal(0x59, Read(Mc146818.Seconds));
    }

    [Fact]
    public void SavedStateKeepsTimeRamAndPhase()
    {
        _rtc.WriteRam(0x20, 0x42);
        _bench.AdvanceTo(Second + (200 * Millisecond));
        var state = _rtc.Save();

        using var other = new PlatformTestBench();
        other.AdvanceTo(50 * Second);
        var copy = new Mc146818(other.Platform.Timers, other.Line(), new DateTime(2000, 1, 1));
        copy.Restore(state);
        other.Platform.Io.Register(Mc146818.Port, 2, copy);

        other.Out(Index, Mc146818.Seconds);
        Assert.Equal(0x59, other.In(Data));
        Assert.Equal(0x42, copy.ReadRam(0x20));
        other.AdvanceTo((50 * Second) + (800 * Millisecond));
        other.Out(Index, Mc146818.Seconds);
        Assert.Equal(0x00, other.In(Data));
        Assert.Throws<InvalidDataException>(() => copy.Restore(state with { Version = 2 }));
    }
}
