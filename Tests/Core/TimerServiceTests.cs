using Emulator.Core.Time;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class TimerServiceTests : IDisposable
{
    private readonly TimerService _timers = TimerService.Deterministic(new Lock());

    public void Dispose() => _timers.Dispose();

    [Fact]
    public void TimersFireInDeadlineOrderSeeingTheClockAtTheirDeadline()
    {
        var fired = new List<(string Name, long Now)>();
        VirtualTimer MakeTimer(string name) => _timers.CreateTimer(name, () => fired.Add((name, _timers.Clock.NowNanoseconds)));
        VirtualTimer c = MakeTimer("c"), a = MakeTimer("a"), b = MakeTimer("b");
        c.Arm(300);
        a.Arm(100);
        b.Arm(200);

        _timers.AdvanceTo(1000);

        Assert.Equal([("a", 100L), ("b", 200L), ("c", 300L)], fired);
        Assert.Equal(1000, _timers.Clock.NowNanoseconds);
    }

    [Fact]
    public void TimerDueLaterDoesNotFireEarly()
    {
        int count = 0;
        VirtualTimer t = _timers.CreateTimer("t", () => count++);
        t.Arm(500);

        _timers.AdvanceTo(499);
        Assert.Equal(0, count);
        Assert.Equal(500, _timers.NextDeadline);

        _timers.AdvanceTo(500);
        Assert.Equal(1, count);
        Assert.Null(t.Deadline);
        Assert.Null(_timers.NextDeadline);
    }

    [Fact]
    public void PeriodicTimerRearmedFromItsCallbackFiresOncePerPeriod()
    {
        const long period = 100;
        var ticks = new List<long>();
        VirtualTimer? timer = null;
        timer = _timers.CreateTimer("periodic", () =>
        {
            ticks.Add(_timers.Clock.NowNanoseconds);
            timer!.ArmIn(period);
        });
        timer.ArmIn(period);

        _timers.AdvanceTo(1050);

        Assert.Equal(Enumerable.Range(1, 10).Select(i => i * period), ticks);
        Assert.Equal(1100, timer.Deadline);
    }

    [Fact]
    public void CancelPreventsFiring()
    {
        int count = 0;
        VirtualTimer t = _timers.CreateTimer("t", () => count++);
        t.Arm(100);
        t.Cancel();

        _timers.AdvanceTo(1000);

        Assert.Equal(0, count);
        Assert.Null(t.Deadline);
    }

    [Fact]
    public void RearmReplacesTheOldDeadline()
    {
        var fired = new List<long>();
        VirtualTimer t = _timers.CreateTimer("t", () => fired.Add(_timers.Clock.NowNanoseconds));
        t.Arm(100);
        t.Arm(300);

        _timers.AdvanceTo(200);
        Assert.Empty(fired);

        _timers.AdvanceTo(1000);
        Assert.Equal([300L], fired);
    }

    [Fact]
    public void RearmToAnEarlierDeadlineFiresOnceAtTheNewOne()
    {
        var fired = new List<long>();
        VirtualTimer t = _timers.CreateTimer("t", () => fired.Add(_timers.Clock.NowNanoseconds));
        t.Arm(500);
        t.Arm(50);

        _timers.AdvanceTo(1000);

        Assert.Equal([50L], fired);
    }

    [Fact]
    public void ClockDoesNotGoBackwards()
    {
        _timers.AdvanceTo(100);

        Assert.Throws<ArgumentOutOfRangeException>(() => _timers.AdvanceTo(50));
    }

    [Fact]
    public void HostTimeTimerFiresSoon()
    {
        using var host = TimerService.ForHostTime(new Lock());
        using var fired = new ManualResetEventSlim(false);
        VirtualTimer t = host.CreateTimer("host", fired.Set);
        host.Start();

        t.ArmIn(10_000_000);

        // A generous bound for a busy host: a timer that was never armed on the host never fires.
        Assert.True(fired.Wait(TimeSpan.FromSeconds(30)), "a 10 ms host timer did not fire within 30 s");
    }
}
