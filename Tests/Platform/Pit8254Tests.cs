using Emulator.Devices.Chipset;
using Emulator.Devices.Timers;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>
/// The 8254 against the Intel 8254 datasheet, in deterministic time. The datasheet loads a written
/// count on the next CLK edge; assertions leave room for that one clock where it matters.
/// </summary>
public sealed class Pit8254Tests : IDisposable
{
    private const ushort Counter0 = 0x40, Counter1 = 0x41, Counter2 = 0x42, Control = 0x43, PortB = 0x61;

    private readonly PlatformTestBench _bench = new();
    private readonly RecordingLine _irq0;
    private readonly Pit8254 _pit;

    public Pit8254Tests()
    {
        _irq0 = _bench.Line();
        _pit = new Pit8254(_bench.Platform.Timers, _irq0);
        _bench.Platform.Io.Register(Pit8254.Port, Pit8254.PortCount, _pit);
        _bench.Platform.Io.Register(SystemControlPortB.Port, 1, new SystemControlPortB(_pit, _bench.Platform.Timers.Clock));
    }

    public void Dispose() => _bench.Dispose();

    /// <summary>The instant (ns from 0) of CLK edge <paramref name="n"/>, rounded down.</summary>
    private static long Tick(double n) => (long)(n * 1_000_000_000.0 / Pit8254.FrequencyHz);

    private void WriteCount(ushort port, int count)
    {
        _bench.Out(port, (byte)count);
        _bench.Out(port, (byte)(count >> 8));
    }

    private int ReadLatched(int counter)
    {
        _bench.Out(Control, (byte)(counter << 6));
        ushort port = (ushort)(Counter0 + counter);
        return _bench.In(port) | (_bench.In(port) << 8);
    }

    private byte ReadStatus(int counter)
    {
        _bench.Out(Control, (byte)(0xE0 | (2 << counter)));
        return _bench.In((ushort)(Counter0 + counter));
    }

    private bool Out(int counter) => (ReadStatus(counter) & 0x80) != 0;

    [Fact]
    public void Mode0OutputGoesHighAtTerminalCountAndStaysHigh()
    {
        _bench.Out(Control, 0x30); // counter 0, LSB then MSB, mode 0, binary
        WriteCount(Counter0, 1000);
        Assert.False(Out(0));
        Assert.False(_irq0.Level);

        _bench.AdvanceTo(Tick(999));
        Assert.False(Out(0));
        Assert.Empty(_irq0.RisingEdges);

        _bench.AdvanceTo(Tick(1001) + 1);
        Assert.True(Out(0));
        Assert.Single(_irq0.RisingEdges);

        _bench.AdvanceTo(Tick(200_000));
        Assert.Single(_irq0.RisingEdges); // the counter wraps on, OUT stays high
    }

    [Fact]
    public void Mode0CountsDownOncePerClock()
    {
        _bench.Out(Control, 0x30);
        WriteCount(Counter0, 1000);

        _bench.AdvanceTo(Tick(300.5));

        Assert.InRange(ReadLatched(0), 699, 700);
    }

    [Fact]
    public void Mode0FirstByteOfANewCountStopsCountingAndSetsOutLow()
    {
        _bench.Out(Control, 0x30);
        WriteCount(Counter0, 100);
        _bench.AdvanceTo(Tick(200));
        Assert.True(Out(0));

        _bench.Out(Counter0, 0x10); // LSB of 0x0110
        Assert.False(Out(0));
        int held = ReadLatched(0);
        _bench.AdvanceTo(Tick(400));
        Assert.Equal(held, ReadLatched(0));

        _bench.Out(Counter0, 0x01); // MSB: counting restarts from 0x110 = 272
        long start = _bench.Now;
        _bench.AdvanceTo(start + Tick(270));
        Assert.False(Out(0));
        _bench.AdvanceTo(start + Tick(274));
        Assert.True(Out(0));
    }

    [Fact]
    public void Mode2RaisesIrq0OncePerCountWithoutDrift()
    {
        _bench.Out(Control, 0x34); // counter 0, LSB/MSB, mode 2
        WriteCount(Counter0, 1193);

        _bench.AdvanceTo(Tick(1193 * 100) + 1);

        // The control word itself sets OUT high (one edge at 0); then one edge per period.
        long[] edges = [.. _irq0.RisingEdges.Where(t => t > 0)];
        Assert.Equal(100, edges.Length);
        for (int i = 0; i < edges.Length; i++)
        {
            Assert.InRange(edges[i], Tick(1193.0 * (i + 1)), Tick(1193.0 * (i + 1)) + 1);
        }
    }

    [Fact]
    public void Mode2OutputIsLowForOneClockPerPeriod()
    {
        _bench.Out(Control, 0x74); // counter 1, mode 2
        WriteCount(Counter1, 10);

        var lows = new List<int>();
        for (int clock = 0; clock < 30; clock++)
        {
            _bench.AdvanceTo(Tick(clock + 0.5));
            if (!Out(1))
            {
                lows.Add(clock);
            }
        }

        Assert.Equal(3, lows.Count);
        Assert.Equal(10, lows[1] - lows[0]);
        Assert.Equal(10, lows[2] - lows[1]);
    }

    [Fact]
    public void Mode3SquareWaveOnCounter2IsVisibleThroughPort61()
    {
        _bench.Out(Control, 0xB6); // counter 2, LSB/MSB, mode 3
        WriteCount(Counter2, 1000);
        Assert.Equal(0x20, _bench.In(PortB) & 0x20); // gate low: OUT held high

        _bench.Out(PortB, 0x01); // gate high: counting starts
        long start = _bench.Now;

        _bench.AdvanceTo(start + Tick(250));
        Assert.Equal(0x20, _bench.In(PortB) & 0x20);
        _bench.AdvanceTo(start + Tick(750));
        Assert.Equal(0x00, _bench.In(PortB) & 0x20);
        _bench.AdvanceTo(start + Tick(1250));
        Assert.Equal(0x20, _bench.In(PortB) & 0x20);
        Assert.Equal(0x01, _bench.In(PortB) & 0x03); // bit 0 reads back, speaker off
    }

    [Fact]
    public void Mode3DecrementsByTwo()
    {
        _bench.Out(Control, 0x36);
        WriteCount(Counter0, 1000);

        _bench.AdvanceTo(Tick(100.5));

        int value = ReadLatched(0);
        Assert.InRange(value, 798, 800);
        Assert.Equal(0, value & 1);
    }

    [Fact]
    public void Mode3OddCountIsHighOneClockLongerThanLow()
    {
        _bench.Out(Control, 0x76); // counter 1, mode 3
        WriteCount(Counter1, 5);

        var levels = new List<bool>();
        for (int clock = 0; clock < 10; clock++)
        {
            _bench.AdvanceTo(Tick(clock + 0.5));
            levels.Add(Out(1));
        }

        // (N+1)/2 = 3 clocks high, (N-1)/2 = 2 low, per period.
        Assert.Equal([true, true, true, false, false, true, true, true, false, false], levels);
    }

    [Fact]
    public void CountZeroInMode3IsTheBiosTick()
    {
        _bench.Out(Control, 0x36);
        WriteCount(Counter0, 0); // 65536

        _bench.AdvanceTo(1_000_000_000);

        Assert.Equal(18, _irq0.RisingEdges.Count(t => t > 0)); // 1193182 / 65536 = 18.2 Hz
    }

    [Fact]
    public void CounterLatchHoldsTheCountUntilBothBytesAreRead()
    {
        _bench.Out(Control, 0x34);
        WriteCount(Counter0, 10_000);
        _bench.AdvanceTo(Tick(100.5));

        _bench.Out(Control, 0x00); // latch counter 0
        _bench.AdvanceTo(Tick(2000));
        _bench.Out(Control, 0x00); // ignored: the first latch is unread
        int low = _bench.In(Counter0);
        _bench.AdvanceTo(Tick(3000));
        int latched = low | (_bench.In(Counter0) << 8);

        Assert.InRange(latched, 9899, 9900);
        Assert.InRange(ReadLatched(0), 6999, 7001); // the latch was released
    }

    [Fact]
    public void ReadBackReturnsStatusBeforeTheLatchedCount()
    {
        _bench.Out(Control, 0x34);
        // OUT high in mode 2, NULL COUNT set until a count is loaded, then the control word's bits 5-0.
        Assert.Equal(0x80 | 0x40 | 0x34, ReadStatus(0));

        WriteCount(Counter0, 0x1234);
        _bench.AdvanceTo(Tick(0x34 + 0.5));
        _bench.Out(Control, 0xC2); // read-back: count and status of counter 0

        Assert.Equal(0x80 | 0x34, _bench.In(Counter0));
        int count = _bench.In(Counter0) | (_bench.In(Counter0) << 8);
        Assert.InRange(count, 0x1200, 0x1201);
    }

    [Fact]
    public void ReadBackCanLatchTheStatusOfSeveralCounters()
    {
        _bench.Out(Control, 0x30); // counter 0 mode 0
        _bench.Out(Control, 0x54); // counter 1 LSB-only mode 2
        _bench.Out(Control, 0xBA); // counter 2 LSB/MSB mode 5

        _bench.Out(Control, 0xEE); // status only, counters 0-2

        Assert.Equal(0x40 | 0x30, _bench.In(Counter0)); // mode 0 OUT low
        Assert.Equal(0x80 | 0x40 | 0x14, _bench.In(Counter1));
        Assert.Equal(0x80 | 0x40 | 0x3A, _bench.In(Counter2));
    }

    [Fact]
    public void LsbOnlyAndMsbOnlyAccess()
    {
        _bench.Out(Control, 0x50); // counter 1, LSB only, mode 0
        _bench.Out(Counter1, 200);
        _bench.AdvanceTo(Tick(50.5));
        Assert.InRange(_bench.In(Counter1), 149, 150);

        _bench.Out(Control, 0x60); // counter 1, MSB only, mode 0
        _bench.Out(Counter1, 0x20); // 0x2000
        long start = _bench.Now;
        _bench.AdvanceTo(start + Tick(0x300 + 0.5));
        Assert.InRange(_bench.In(Counter1), 0x1C, 0x1D); // 0x2000 - 0x300 = 0x1D00, give or take the load clock
    }

    [Fact]
    public void BcdCountsInDecimal()
    {
        _bench.Out(Control, 0x31); // counter 0, mode 0, BCD
        WriteCount(Counter0, 0x0100); // 100

        _bench.AdvanceTo(Tick(40.5));

        int bcd = ReadLatched(0);
        Assert.All(new[] { bcd & 0xF, (bcd >> 4) & 0xF, (bcd >> 8) & 0xF, bcd >> 12 }, d => Assert.InRange(d, 0, 9));
        Assert.InRange(((bcd >> 4) & 0xF) * 10 + (bcd & 0xF), 59, 60);
    }

    [Fact]
    public void Mode0GateLowSuspendsCounting()
    {
        _bench.Out(Control, 0xB0); // counter 2, mode 0
        WriteCount(Counter2, 1000); // gate (port 0x61 bit 0) is low

        _bench.AdvanceTo(Tick(5000));
        Assert.Equal(1000, ReadLatched(2));
        Assert.Equal(0, _bench.In(PortB) & 0x20);

        _bench.Out(PortB, 0x01);
        long start = _bench.Now;
        _bench.AdvanceTo(start + Tick(999));
        Assert.Equal(0, _bench.In(PortB) & 0x20);
        _bench.AdvanceTo(start + Tick(1001) + 1);
        Assert.Equal(0x20, _bench.In(PortB) & 0x20);
    }

    [Fact]
    public void Mode2GateLowForcesOutHighAndTheRisingEdgeReloads()
    {
        _bench.Out(Control, 0xB4); // counter 2, mode 2
        WriteCount(Counter2, 100);
        _bench.Out(PortB, 0x01);
        _bench.AdvanceTo(Tick(99.5));
        Assert.Equal(0, _bench.In(PortB) & 0x20); // count 1: OUT low

        _bench.Out(PortB, 0x00);
        Assert.Equal(0x20, _bench.In(PortB) & 0x20);
        _bench.AdvanceTo(Tick(500));
        Assert.Equal(0x20, _bench.In(PortB) & 0x20);

        _bench.Out(PortB, 0x01);
        long start = _bench.Now;
        _bench.AdvanceTo(start + Tick(50));
        Assert.InRange(ReadLatched(2), 50, 51);
        _bench.AdvanceTo(start + Tick(99.5));
        Assert.Equal(0, _bench.In(PortB) & 0x20);
    }

    [Fact]
    public void Mode1IsAOneShotTriggeredByTheGate()
    {
        _bench.Out(Control, 0xB2); // counter 2, mode 1
        WriteCount(Counter2, 100);
        Assert.Equal(0x20, _bench.In(PortB) & 0x20); // waits for a trigger with OUT high

        _bench.Out(PortB, 0x01);
        long start = _bench.Now;
        Assert.Equal(0, _bench.In(PortB) & 0x20);
        _bench.AdvanceTo(start + Tick(99));
        Assert.Equal(0, _bench.In(PortB) & 0x20);
        _bench.AdvanceTo(start + Tick(101) + 1);
        Assert.Equal(0x20, _bench.In(PortB) & 0x20);
    }

    [Fact]
    public void Mode2CountWrittenWhileCountingAppliesFromTheNextPeriod()
    {
        _bench.Out(Control, 0x34);
        WriteCount(Counter0, 1000);
        _bench.AdvanceTo(Tick(500));

        WriteCount(Counter0, 2000);
        _bench.AdvanceTo(Tick(5500));

        long[] edges = [.. _irq0.RisingEdges.Where(t => t > 0)];
        Assert.Equal(3, edges.Length);
        Assert.InRange(edges[0], Tick(1000), Tick(1000) + 1);
        Assert.InRange(edges[1], Tick(3000), Tick(3000) + 2);
        Assert.InRange(edges[2], Tick(5000), Tick(5000) + 2);
    }

    [Fact]
    public void Mode4StrobesOnceAfterTheCount()
    {
        _bench.Out(Control, 0x38); // counter 0, mode 4
        WriteCount(Counter0, 100);
        Assert.True(Out(0));

        _bench.AdvanceTo(Tick(100_000));

        Assert.Single(_irq0.RisingEdges, t => t > 0);
        Assert.InRange(_irq0.RisingEdges.Last(), Tick(100), Tick(102) + 1);
    }

    [Fact]
    public void RefreshToggleChangesEveryRefreshPeriod()
    {
        int first = _bench.In(PortB) & 0x10;
        _bench.Advance(SystemControlPortB.RefreshPeriodNanoseconds);
        int second = _bench.In(PortB) & 0x10;
        _bench.Advance(SystemControlPortB.RefreshPeriodNanoseconds);

        Assert.NotEqual(first, second);
        Assert.Equal(first, _bench.In(PortB) & 0x10);
    }

    [Fact]
    public void SavedStateContinuesCounting()
    {
        _bench.Out(Control, 0x34);
        WriteCount(Counter0, 1000);
        _bench.AdvanceTo(Tick(250.5));
        var state = _pit.Save();

        using var other = new PlatformTestBench();
        RecordingLine line = other.Line();
        var copy = new Pit8254(other.Platform.Timers, line);
        other.Platform.Io.Register(Pit8254.Port, Pit8254.PortCount, copy);
        other.AdvanceTo(1_000_000_000);
        copy.Restore(state);

        other.Out(Control, 0x00);
        int value = other.In(Counter0) | (other.In(Counter0) << 8);
        Assert.InRange(value, 749, 751);
        other.Advance(Tick(750.5));
        Assert.Single(line.RisingEdges, t => t > 1_000_000_000);
    }
}
