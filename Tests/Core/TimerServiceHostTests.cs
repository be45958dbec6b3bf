using System.Diagnostics;
using Emulator.Core.Time;
using Xunit;

namespace Emulator.Tests.Core;

/// <summary>
/// The timer service in host time, with its thread: it sleeps until the nearest deadline (to the
/// nanosecond on Linux) and an earlier timer armed meanwhile wakes it. The bounds are generous, for
/// a loaded host; a lost wake-up would show as a timer firing only at the later deadline or never.
/// </summary>
public sealed class TimerServiceHostTests : IDisposable
{
    private readonly Lock _deviceLock = new();
    private readonly TimerService _timers;

    public TimerServiceHostTests()
    {
        _timers = TimerService.ForHostTime(_deviceLock);
        _timers.Start();
    }

    public void Dispose() => _timers.Dispose();

    [Fact]
    public void ATimerDueWhileTheDeviceLockIsHeldStaysArmedUntilItsCallbackRuns()
    {
        // A snapshot saves device timers under the device lock: a timer the host thread has taken
        // off its queue, but whose callback waits for that lock, must still read as armed (due),
        // or the saved machine loses the interrupt it was about to raise.
        using var fired = new ManualResetEventSlim();
        VirtualTimer timer = _timers.CreateTimer("due", fired.Set);
        lock (_deviceLock)
        {
            timer.ArmIn(1_000_000);
            Thread.Sleep(100); // the thread takes it 1 ms in and then waits for the lock
            Assert.False(fired.IsSet);
            Assert.NotNull(timer.Deadline);
            Assert.True(timer.Deadline <= _timers.Clock.NowNanoseconds);
        }

        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "the timer did not fire once the lock was free");
        Assert.Null(timer.Deadline);
    }

    [Fact]
    public void ATimerCancelledWhileItsCallbackWaitsForTheDeviceLockDoesNotFire()
    {
        using var fired = new ManualResetEventSlim();
        VirtualTimer timer = _timers.CreateTimer("cancelled", fired.Set);
        lock (_deviceLock)
        {
            timer.ArmIn(1_000_000);
            Thread.Sleep(100);
            timer.Cancel();
        }

        Assert.False(fired.Wait(TimeSpan.FromMilliseconds(300)), "a cancelled timer fired");
    }

    [Fact]
    public void AnEarlierTimerArmedWhileTheThreadSleepsOnALaterOneFiresAtItsOwnTime()
    {
        // The thread sleeps on a timer 30 s away (at most 100 ms at a time); a timer armed 5 ms
        // ahead must wake it, not wait for its next look. The median of nine tries is taken, so a
        // loaded host's odd late wake-up does not decide.
        using var late = new ManualResetEventSlim();
        VirtualTimer far = _timers.CreateTimer("far", late.Set);
        far.ArmIn(30_000_000_000);
        var delays = new List<double>();
        for (int i = 0; i < 9; i++)
        {
            using var early = new ManualResetEventSlim();
            VirtualTimer near = _timers.CreateTimer("near", early.Set);
            Thread.Sleep(30);
            var watch = Stopwatch.StartNew();
            near.ArmIn(5_000_000);
            Assert.True(early.Wait(TimeSpan.FromSeconds(10)), "the nearer timer did not fire");
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(4.9), $"fired after {watch.Elapsed.TotalMilliseconds} ms, before its deadline");
            delays.Add(watch.Elapsed.TotalMilliseconds);
        }

        delays.Sort();
        Assert.True(delays[4] < 35, $"median delay {delays[4]} ms for a 5 ms timer");
        Assert.False(late.IsSet);
    }

    [Fact]
    public void TimersAFractionOfAMillisecondApartAllFireInOrder()
    {
        // A callback that re-arms itself 200 us ahead, 500 times: the 100 ms of deadlines pass
        // without the thread missing one (each fire re-arms while the thread is awake).
        const int Count = 500;
        var fired = new List<long>();
        using var done = new ManualResetEventSlim();
        VirtualTimer? timer = null;
        timer = _timers.CreateTimer("chain", () =>
        {
            fired.Add(_timers.Clock.NowNanoseconds);
            if (fired.Count < Count)
            {
                timer!.ArmIn(200_000);
            }
            else
            {
                done.Set();
            }
        });
        timer.ArmIn(200_000);

        Assert.True(done.Wait(TimeSpan.FromSeconds(30)), $"{fired.Count} of {Count} fired");
        for (int i = 1; i < fired.Count; i++)
        {
            Assert.True(fired[i] - fired[i - 1] >= 200_000, $"fire {i} came {fired[i] - fired[i - 1]} ns after the one before");
        }
    }

    [Fact]
    public void ATimerArmedFromAnotherThreadAboutToSleepIsNotLost()
    {
        // Many arms racing the thread's decision to sleep: each must fire.
        for (int i = 0; i < 200; i++)
        {
            using var fired = new ManualResetEventSlim();
            VirtualTimer t = _timers.CreateTimer("race", fired.Set);
            t.ArmIn(i % 7 * 50_000);
            Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), $"arm {i} never fired");
        }
    }
}
