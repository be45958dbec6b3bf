namespace Emulator.Core.Time;

/// <summary>
/// Runs device timers against a virtual clock. In host mode a background thread fires them as the
/// host clock passes their deadlines; in deterministic mode they fire only inside
/// <see cref="AdvanceTo"/>, in deadline order, with the clock set to each deadline as it fires.
/// Callbacks run under the machine's device lock, like bus accesses.
/// </summary>
public sealed class TimerService : IDisposable
{
    private readonly Lock _deviceLock;
    private readonly Lock _queueLock = new();
    private readonly PriorityQueue<VirtualTimer, long> _queue = new();
    private readonly ManualClock? _manual;
    private WakeableWait? _wake;
    private Thread? _thread;
    private volatile bool _stopping;
    // The deadline the host thread sleeps until (long.MinValue while it is awake): an Arm earlier
    // than this wakes it, a later one does not.
    private long _sleepingUntil = long.MinValue;

    private TimerService(IClock clock, ManualClock? manual, Lock deviceLock)
    {
        Clock = clock;
        _manual = manual;
        _deviceLock = deviceLock;
    }

    /// <summary>The clock the timers follow.</summary>
    public IClock Clock { get; }

    /// <summary>True when time moves only through <see cref="AdvanceTo"/>.</summary>
    public bool IsDeterministic => _manual is not null;

    /// <summary>A service following host time; call <see cref="Start"/> to let timers fire.</summary>
    public static TimerService ForHostTime(Lock deviceLock) => new(new HostClock(), null, deviceLock);

    /// <summary>A service whose time moves only through <see cref="AdvanceTo"/>.</summary>
    public static TimerService Deterministic(Lock deviceLock)
    {
        var clock = new ManualClock();
        return new TimerService(clock, clock, deviceLock);
    }

    /// <summary>Creates a disarmed timer.</summary>
    public VirtualTimer CreateTimer(string name, Action callback) => new(this, name, callback);

    /// <summary>The earliest armed deadline, or null.</summary>
    public long? NextDeadline
    {
        get
        {
            lock (_queueLock)
            {
                DropStale();
                return _queue.TryPeek(out _, out long d) ? d : null;
            }
        }
    }

    /// <summary>Starts the background thread of host-time mode.</summary>
    public void Start()
    {
        if (IsDeterministic)
        {
            throw new InvalidOperationException("a deterministic timer service is driven by AdvanceTo, not a thread");
        }

        _wake ??= new WakeableWait();
        _thread ??= new Thread(HostLoop) { IsBackground = true, Name = "emu-timers" };
        _thread.Start();
    }

    /// <summary>Deterministic mode: moves time to <paramref name="nanoseconds"/>, firing every timer due on the way in order.</summary>
    public void AdvanceTo(long nanoseconds)
    {
        if (_manual is null)
        {
            throw new InvalidOperationException("only a deterministic timer service can be advanced by hand");
        }

        while (TakeDue(nanoseconds) is { } due)
        {
            _manual.Set(Math.Max(due.Deadline, _manual.NowNanoseconds));
            Fire(due.Timer, due.Deadline);
        }

        _manual.Set(nanoseconds);
    }

    /// <summary>Fires every timer whose deadline has passed on the clock (used by a vCPU loop that polls).</summary>
    public void RunDue()
    {
        long now = Clock.NowNanoseconds;
        while (TakeDue(now) is { } due)
        {
            Fire(due.Timer, due.Deadline);
        }
    }

    internal void Arm(VirtualTimer timer, long deadline)
    {
        lock (_queueLock)
        {
            timer.Deadline = deadline;
            _queue.Enqueue(timer, deadline);
        }

        // A full fence: either the host thread's look at the queue after it published its deadline
        // sees this timer, or this read sees that deadline.
        if (deadline < Interlocked.CompareExchange(ref _sleepingUntil, 0, 0))
        {
            _wake?.Signal();
        }
    }

    internal void Cancel(VirtualTimer timer)
    {
        lock (_queueLock)
        {
            timer.Deadline = null;
        }
    }

    private (VirtualTimer Timer, long Deadline)? TakeDue(long now)
    {
        lock (_queueLock)
        {
            DropStale();
            if (_queue.TryPeek(out VirtualTimer? timer, out long deadline) && deadline <= now)
            {
                // The timer stays armed until its callback runs under the device lock (Fire): a
                // snapshot taken under that lock meanwhile sees it due, not disarmed, and a Cancel
                // meanwhile still keeps the callback from running.
                _queue.Dequeue();
                return (timer, deadline);
            }

            return null;
        }
    }

    // A re-armed or cancelled timer leaves its old queue entry behind; an entry is live only
    // while it matches the timer's current deadline.
    private void DropStale()
    {
        while (_queue.TryPeek(out VirtualTimer? timer, out long deadline) && timer.Deadline != deadline)
        {
            _queue.Dequeue();
        }
    }

    private void Fire(VirtualTimer timer, long deadline)
    {
        lock (_deviceLock)
        {
            lock (_queueLock)
            {
                if (timer.Deadline != deadline)
                {
                    // Cancelled or re-armed while this thread waited for the device lock.
                    return;
                }

                timer.Deadline = null;
            }

            timer.Callback();
        }
    }

    // Sleeps until the nearest deadline (at most 100 ms), to the nanosecond where the host allows
    // (WakeableWait), so a deadline a fraction of a millisecond away costs no spinning.
    private void HostLoop()
    {
        const long MaxSleep = 100_000_000;
        while (!_stopping)
        {
            RunDue();
            long now = Clock.NowNanoseconds;
            long target = Math.Min(NextDeadline ?? long.MaxValue, now + MaxSleep);
            Interlocked.Exchange(ref _sleepingUntil, target);
            if (NextDeadline is long armed && armed < target)
            {
                // Armed after the first look and before the publication: look again.
                Interlocked.Exchange(ref _sleepingUntil, long.MinValue);
                continue;
            }

            _wake!.Wait(target - Clock.NowNanoseconds);
            Interlocked.Exchange(ref _sleepingUntil, long.MinValue);
        }
    }

    /// <summary>
    /// Ends the host-time thread: no callback runs after this returns (a machine stops its timers
    /// before it disposes the devices they call). Idempotent; not from a timer callback.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        _wake?.Signal();
        _thread?.Join();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Stop();
        _wake?.Dispose();
    }
}
