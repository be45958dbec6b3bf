using System.Diagnostics;
using Emulator.Core.Time;
using Xunit;

namespace Emulator.Tests.Core;

/// <summary>
/// The host-time timer thread at shutdown: once stopped no callback runs (a machine stops it before
/// it disposes the devices the callbacks use), and a wake-up that races with the disposal of the
/// eventfd never reaches whatever file the descriptor number belongs to next.
/// </summary>
public sealed class TimerShutdownTests
{
    [Fact]
    public void NoCallbackRunsAfterStopReturns()
    {
        // A timer re-arming itself every 100 us, stopped while it fires: Stop waits for a callback
        // under way, and none starts afterwards.
        var deviceLock = new Lock();
        using TimerService timers = TimerService.ForHostTime(deviceLock);
        int fired = 0;
        VirtualTimer? timer = null;
        timer = timers.CreateTimer("busy", () =>
        {
            Interlocked.Increment(ref fired);
            timer!.ArmIn(100_000);
        });
        timers.Start();
        timer.ArmIn(100_000);
        var watch = Stopwatch.StartNew();
        while (Volatile.Read(ref fired) < 20)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the timer did not fire 20 times");
            Thread.Sleep(1);
        }

        timers.Stop();
        int atStop = Volatile.Read(ref fired);
        Thread.Sleep(100);
        Assert.Equal(atStop, Volatile.Read(ref fired));
        timers.Stop();
    }

    [Fact]
    public void ASignalAfterDisposeDoesNotWakeTheNextOwnerOfTheDescriptor()
    {
        // Linux hands out the lowest free descriptor number: the second eventfd gets the number the
        // first one closed (unless another test opened one between). A signal through the disposed
        // wait must not write there: the second wait would end at once instead of after 200 ms.
        var disposed = new WakeableWait();
        disposed.Dispose();
        using var next = new WakeableWait();
        disposed.Signal();
        var watch = Stopwatch.StartNew();
        next.Wait(200_000_000);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(150), $"the wait ended after {watch.Elapsed.TotalMilliseconds} ms");
        disposed.Dispose();
    }
}
