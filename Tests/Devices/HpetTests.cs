using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Time;
using Emulator.Devices.Timers;
using Emulator.Tests.Platform;
using Xunit;

namespace Emulator.Tests.Devices;

/// <summary>
/// The HPET's registers against the IA-PC HPET Specification 1.0a (section numbers in the tests),
/// in deterministic time: reset values, the main counter's rate as GCAP_ID states it, one-shot,
/// periodic and level-triggered comparators on their lines, the legacy replacement route, 32-bit mode.
/// </summary>
public sealed class HpetTests : IDisposable
{
    private const ulong Gcap = 0x000, Conf = 0x010, Isr = 0x020, Counter = 0x0F0;
    private const ulong Enable = 1, LegacyRoute = 2;

    // Tn_CONF bits (2.3.8).
    private const ulong Level = 1 << 1, IntEnable = 1 << 2, Periodic = 1 << 3, PeriodicCap = 1 << 4, SizeCap = 1 << 5,
        ValSet = 1 << 6, Mode32 = 1 << 8, FsbEnable = 1 << 14, FsbCap = 1 << 15;

    private readonly TimerService _timers = TimerService.Deterministic(new Lock());
    private readonly GuestErrorLog _errors = new();
    private readonly RecordingLine _irq0, _irq8;
    private readonly RecordingLine[] _ioApic = new RecordingLine[24];
    private readonly Hpet _hpet;

    public HpetTests()
    {
        _irq0 = new RecordingLine(_timers.Clock);
        _irq8 = new RecordingLine(_timers.Clock);
        for (int i = 0; i < _ioApic.Length; i++)
        {
            _ioApic[i] = new RecordingLine(_timers.Clock);
        }

        _hpet = new Hpet(_timers, _irq0, _irq8, _errors);
        _hpet.ConnectIoApic(_ioApic);
    }

    public void Dispose() => _timers.Dispose();

    private static ulong TimerConf(int n) => 0x100 + (0x20 * (ulong)n);

    private static ulong TimerCmp(int n) => 0x108 + (0x20 * (ulong)n);

    private long Now => _timers.Clock.NowNanoseconds;

    private ulong Read64(ulong offset)
    {
        Span<byte> b = stackalloc byte[8];
        _hpet.Read(offset, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    private uint Read32(ulong offset)
    {
        Span<byte> b = stackalloc byte[4];
        _hpet.Read(offset, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private void Write64(ulong offset, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _hpet.Write(offset, b);
    }

    private void Write32(ulong offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _hpet.Write(offset, b);
    }

    // COUNTER_CLK_PERIOD in femtoseconds, from GCAP_ID bits 63:32 (2.3.4).
    private ulong PeriodFs => Read64(Gcap) >> 32;

    // The time of counter tick n after the counter started at 0, rounded up to a nanosecond.
    private long TickTime(long start, ulong ticks) => start + (long)(((ticks * PeriodFs) + 999_999) / 1_000_000);

    [Fact]
    public void ResetValuesAreTheSpecs()
    {
        ulong gcap = Read64(Gcap);
        Assert.NotEqual(0ul, gcap & 0xFF); // REV_ID must not be 0 (2.3.4)
        Assert.Equal(2ul, (gcap >> 8) & 0x1F); // NUM_TIM_CAP: the last timer's number, 3 timers
        Assert.Equal(1ul, (gcap >> 13) & 1); // COUNT_SIZE_CAP: 64-bit
        Assert.Equal(1ul, (gcap >> 15) & 1); // LEG_RT_CAP
        Assert.Equal(0x8086ul, (gcap >> 16) & 0xFFFF);
        Assert.InRange(gcap >> 32, 1ul, 0x05F5E100ul); // at most 100 ns (2.3.4)
        Assert.Equal(10_000_000ul, gcap >> 32); // 100 MHz, as QEMU's
        Assert.Equal((uint)gcap, Read32(Gcap));
        Assert.Equal((uint)(gcap >> 32), Read32(Gcap + 4));

        Assert.Equal(0ul, Read64(Conf));
        Assert.Equal(0ul, Read64(Isr));
        Assert.Equal(0ul, Read64(Counter));
        for (int n = 0; n < 3; n++)
        {
            ulong conf = Read64(TimerConf(n));
            Assert.Equal(PeriodicCap | SizeCap, conf & 0xFFFF); // everything software sets is 0; FSB_INT_DEL_CAP 0
            Assert.NotEqual(0ul, conf >> 32); // some IOAPIC route is offered
            Assert.Equal(ulong.MaxValue, Read64(TimerCmp(n)));
        }
    }

    [Fact]
    public void MainCounterRunsOnlyWhileEnabledAtThePeriodGcapStates()
    {
        _timers.AdvanceTo(1_000_000);
        Assert.Equal(0ul, Read64(Counter));

        Write64(Conf, Enable);
        long start = Now;
        _timers.AdvanceTo(start + 1_000_000); // 1 ms
        ulong expected = 1_000_000ul * 1_000_000 / PeriodFs; // ns * fs/ns / fs per tick
        Assert.Equal(expected, Read64(Counter));
        Assert.Equal(100_000ul, expected);

        Write64(Conf, 0);
        _timers.AdvanceTo(Now + 5_000_000);
        Assert.Equal(expected, Read64(Counter));

        // 2.3.7: software writes the counter while it is halted; the two halves separately too.
        Write32(Counter, 0xFFFF_FFF0);
        Write32(Counter + 4, 0x1);
        Assert.Equal(0x1_FFFF_FFF0ul, Read64(Counter));
        Write64(Conf, Enable);
        _timers.AdvanceTo(Now + 1000);
        Assert.Equal(0x1_FFFF_FFF0ul + 100, Read64(Counter));
        Assert.Equal(0x54u, Read32(Counter));
        Assert.Equal(2u, Read32(Counter + 4));
    }

    [Fact]
    public void ReadOnlyBitsStay()
    {
        ulong gcap = Read64(Gcap);
        Write64(Gcap, 0);
        Assert.Equal(gcap, Read64(Gcap));

        ulong caps = Read64(TimerConf(0)) & (PeriodicCap | SizeCap | FsbCap | 0xFFFF_FFFF_0000_0000);
        Write64(TimerConf(0), ulong.MaxValue & ~(0x1Ful << 9));
        ulong conf = Read64(TimerConf(0));
        Assert.Equal(caps, conf & (PeriodicCap | SizeCap | FsbCap | 0xFFFF_FFFF_0000_0000));
        Assert.Equal(0ul, conf & FsbEnable); // FSB_EN is writable only with FSB_INT_DEL_CAP (2.3.8)
        Assert.Equal(Level | IntEnable | Periodic | Mode32, conf & (Level | IntEnable | Periodic | Mode32));
        Write64(Conf, ulong.MaxValue);
        Assert.Equal(Enable | LegacyRoute, Read64(Conf)); // the rest of the register is reserved (2.3.5)
        Assert.True(_errors.Count >= 2);
    }

    [Fact]
    public void OneShotComparatorFiresOnItsIoApicRouteAtTheMatch()
    {
        int route = RoutesOffered(0).First();
        Write64(TimerConf(2), IntEnable | ((ulong)route << 9));
        Write64(TimerCmp(2), 1000);
        Write64(Conf, Enable);
        long start = Now;

        _timers.AdvanceTo(TickTime(start, 1000) - 1);
        Assert.Empty(_ioApic[route].RisingEdges);
        _timers.AdvanceTo(TickTime(start, 5000));
        Assert.Equal([TickTime(start, 1000)], _ioApic[route].RisingEdges);
        Assert.Equal(0ul, Read64(Isr)); // edge-triggered: no status bit (2.3.6)
        Assert.All(_ioApic.Where((_, i) => i != route), l => Assert.Empty(l.RisingEdges));
        Assert.Empty(_irq0.RisingEdges);
    }

    [Fact]
    public void PeriodicComparatorAddsItsPeriodAtEachMatch()
    {
        // Linux's sequence (hpet_clkevt_set_state_periodic): configure with Tn_VAL_SET_CNF, write
        // the first match, then write the period alone (2.3.9.2.2).
        int route = RoutesOffered(0).First();
        Write64(Conf, Enable);
        long start = Now;
        Write64(TimerConf(0), IntEnable | Periodic | ValSet | ((ulong)route << 9));
        Write64(TimerCmp(0), 5000);
        Write64(TimerCmp(0), 3000);

        _timers.AdvanceTo(TickTime(start, 15_000));
        Assert.Equal([TickTime(start, 5000), TickTime(start, 8000), TickTime(start, 11_000), TickTime(start, 14_000)], _ioApic[route].RisingEdges);
        Assert.Equal(17_000ul, Read64(TimerCmp(0))); // the accumulator holds the next match
    }

    [Fact]
    public void PeriodsShorterThanTheTablesMinimumTickInterruptAtThatMinimum()
    {
        // The ACPI table's Main Counter Minimum Clock_tick in Periodic Mode (3.2.4) is what is promised.
        int route = RoutesOffered(0).First();
        Write64(Conf, Enable);
        long start = Now;
        Write64(TimerConf(0), IntEnable | Periodic | ValSet | ((ulong)route << 9));
        Write64(TimerCmp(0), 100);
        Write64(TimerCmp(0), 100);

        _timers.AdvanceTo(TickTime(start, 2200));
        Assert.Equal([TickTime(start, 100), TickTime(start, 1100), TickTime(start, 2100)], _ioApic[route].RisingEdges);
    }

    [Fact]
    public void LevelTriggeredTimerHoldsItsStatusAndLineUntilCleared()
    {
        int route = RoutesOffered(1).First();
        Write64(TimerConf(1), Level | ((ulong)route << 9)); // interrupt not enabled yet
        Write64(TimerCmp(1), 100);
        Write64(Conf, Enable);
        long start = Now;
        _timers.AdvanceTo(TickTime(start, 200));

        // 2.3.6: the status bit is set even with Tn_INT_ENB_CNF clear; no interrupt.
        Assert.Equal(0b010ul, Read64(Isr));
        Assert.False(_ioApic[route].Level);

        Write64(TimerConf(1), Level | IntEnable | ((ulong)route << 9));
        Assert.True(_ioApic[route].Level);
        Write64(Isr, 0b101); // other bits: no effect
        Assert.True(_ioApic[route].Level);
        Write64(Isr, 0b010); // write 1 to clear
        Assert.Equal(0ul, Read64(Isr));
        Assert.False(_ioApic[route].Level);
    }

    [Fact]
    public void LegacyReplacementRouteTakesIrq0AndIrq8FromThePitAndRtc()
    {
        // The PIT's and the RTC's wires pass through while the route is off...
        _hpet.Irq0FromPit.Set(true);
        _hpet.Irq8FromRtc.Set(true);
        Assert.True(_irq0.Level);
        Assert.True(_irq8.Level);

        // ...and deliver nothing while it is on (2.3.9, Table 4).
        Write64(Conf, Enable | LegacyRoute);
        Assert.False(_irq0.Level);
        Assert.False(_irq8.Level);
        _hpet.Irq0FromPit.Set(false);
        _hpet.Irq0FromPit.Set(true);
        Assert.Single(_irq0.RisingEdges);

        long start = Now;
        Write64(TimerConf(0), IntEnable);
        Write64(TimerCmp(0), 1000);
        Write64(TimerConf(1), IntEnable);
        Write64(TimerCmp(1), 2000);
        _timers.AdvanceTo(TickTime(start, 3000));
        Assert.Equal([0, TickTime(start, 1000)], _irq0.RisingEdges);
        Assert.Equal([0, TickTime(start, 2000)], _irq8.RisingEdges);
        Assert.All(_ioApic, l => Assert.Empty(l.RisingEdges));

        // Off again: the wires follow the PIT and the RTC.
        _hpet.Irq8FromRtc.Set(false);
        Write64(Conf, Enable);
        Assert.True(_irq0.Level);
        Assert.False(_irq8.Level);
    }

    [Fact]
    public void ThirtyTwoBitModeComparesTheLowHalfAndInterruptsAtTheWrap()
    {
        int route = RoutesOffered(0).First();
        Write64(Counter, 0x7_FFFF_FF00);
        Write64(TimerConf(0), IntEnable | Mode32 | ((ulong)route << 9));
        Write64(TimerCmp(0), 0xAAAA_0000_0000_0010); // the high half does not count
        Assert.Equal(0x10ul, Read64(TimerCmp(0)));
        Write64(Conf, Enable);
        long start = Now;

        // 0x100 ticks to the wrap of the low 32 bits, 0x110 to the match (2.3.9.2.1: a one-shot
        // 32-bit timer also interrupts when the counter wraps).
        _timers.AdvanceTo(TickTime(start, 0x200));
        Assert.Equal([TickTime(start, 0x100), TickTime(start, 0x110)], _ioApic[route].RisingEdges);
        Assert.Equal(0x8_0000_0100ul, Read64(Counter));
    }

    [Fact]
    public void ThirtyTwoBitPeriodicAccumulatorWraps()
    {
        int route = RoutesOffered(0).First();
        Write64(Counter, 0xFFFF_FE00);
        Write64(TimerConf(0), IntEnable | Periodic | ValSet | Mode32 | ((ulong)route << 9));
        Write64(TimerCmp(0), 0xFFFF_FF00);
        Write64(TimerCmp(0), 0x400);
        Write64(Conf, Enable);
        long start = Now;

        _timers.AdvanceTo(TickTime(start, 0x900) - 1);
        Assert.Equal([TickTime(start, 0x100), TickTime(start, 0x500)], _ioApic[route].RisingEdges);
        Assert.Equal(0x700ul, Read64(TimerCmp(0)));
    }

    [Fact]
    public void OtherWidthsAndUnknownOffsetsReadZeroAndAreGuestErrors()
    {
        Span<byte> one = stackalloc byte[1];
        _hpet.Read(Gcap, one);
        Assert.Equal(0, one[0]);
        Assert.Equal(0u, Read32(Gcap + 2)); // misaligned
        Assert.Equal(0ul, Read64(0x0F8)); // reserved
        Assert.Equal(0ul, Read64(0x160)); // a fourth timer, which is not there
        Write64(0x200, 5);
        Assert.Equal(5, _errors.CountsByDevice["hpet"]);
    }

    [Fact]
    public void SaveAndRestoreKeepTheCounterAndThePendingMatch()
    {
        int route = RoutesOffered(0).First();
        Write64(TimerConf(0), IntEnable | ((ulong)route << 9));
        Write64(TimerCmp(0), 10_000);
        Write64(Conf, Enable);
        long start = Now;
        _timers.AdvanceTo(TickTime(start, 4000));
        DeviceState saved = _hpet.Save();

        using var timers = TimerService.Deterministic(new Lock());
        timers.AdvanceTo(Now + 123_456_789);
        var line = new RecordingLine(timers.Clock);
        var other = new Hpet(timers, new RecordingLine(timers.Clock), new RecordingLine(timers.Clock));
        other.ConnectIoApic([.. Enumerable.Range(0, 24).Select(i => i == route ? line : (IInterruptLine)UnconnectedLine.Instance)]);
        other.Restore(saved);
        long restoredAt = timers.Clock.NowNanoseconds;
        Assert.Equal(4000ul, other.MainCounter);
        timers.AdvanceTo(restoredAt + 100_000);
        Assert.Equal([restoredAt + (TickTime(start, 10_000) - TickTime(start, 4000))], line.RisingEdges);
        Assert.Throws<InvalidDataException>(() => other.Restore(saved with { Version = 99 }));
    }

    private IEnumerable<int> RoutesOffered(int timer)
    {
        ulong cap = Read64(TimerConf(timer)) >> 32;
        return Enumerable.Range(0, 32).Where(i => ((cap >> i) & 1) != 0);
    }
}
