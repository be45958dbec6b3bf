using System.Runtime.InteropServices;

namespace Emulator.Core.Time;

/// <summary>
/// A wait with a deadline that another thread can cut short, for the timer thread and for other
/// loops that keep a sub-millisecond period (a sampling profiler: Thread.Sleep counts whole
/// milliseconds, and a shorter wait becomes a yield that spins). On Linux it
/// sleeps in ppoll(2) on an eventfd, whose timeout has nanosecond resolution (the kernel's
/// high-resolution timers, with the thread's default 50 us slack), so a deadline a fraction of a
/// millisecond away needs neither spinning nor a millisecond of lateness. Elsewhere it waits on an
/// event with the timeout rounded up to whole milliseconds: a timer may fire up to about a
/// millisecond late, as a busy host may make it anyway.
/// </summary>
public sealed partial class WakeableWait : IDisposable
{
    private const int EfdNonblock = 0x800, EfdCloexec = 0x80000;
    private const short PollIn = 1;

    private readonly int _eventFd = -1;
    private readonly AutoResetEvent? _event;
    // Signal writes and Dispose closes under it: see Signal.
    private readonly Lock _closeLock = new();
    private bool _disposed;
    private int _signalled;

    /// <summary>Creates the wait (an eventfd on Linux).</summary>
    public WakeableWait()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                _eventFd = EventFd(0, EfdNonblock | EfdCloexec);
            }
            catch (EntryPointNotFoundException)
            {
                _eventFd = -1;
            }
        }

        if (_eventFd < 0)
        {
            _event = new AutoResetEvent(false);
        }
    }

    /// <summary>Ends the current or the next <see cref="Wait"/> early. Thread-safe; one wake-up however often it is called before the wait.</summary>
    public unsafe void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 1)
        {
            return;
        }

        // A thread arming a timer may signal while the timer service is being disposed (it read the
        // sleeping deadline just before the timer thread ended): once Dispose has closed the eventfd,
        // its number may belong to a file or socket opened since, which must not get these 8 bytes
        // (and a disposed event would throw on the arming thread). Uncontended but for that moment.
        lock (_closeLock)
        {
            if (_disposed)
            {
                return;
            }

            if (_event is not null)
            {
                _event.Set();
                return;
            }

            ulong one = 1;
            _ = Write(_eventFd, &one, sizeof(ulong));
        }
    }

    /// <summary>Sleeps until <paramref name="nanoseconds"/> have passed or <see cref="Signal"/> is called.</summary>
    public unsafe void Wait(long nanoseconds)
    {
        bool readable = false;
        if (Volatile.Read(ref _signalled) == 0 && nanoseconds > 0)
        {
            if (_event is not null)
            {
                _event.WaitOne(TimeSpan.FromMilliseconds(Math.Ceiling(nanoseconds / 1e6)));
            }
            else
            {
                var fd = new PollFd { Fd = _eventFd, Events = PollIn };
                var timeout = new TimeSpec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
                readable = PPoll(&fd, 1, &timeout, null) > 0 && (fd.Revents & PollIn) != 0;
            }
        }

        // Whoever signals after this point wakes the next wait. A signal that lands between the
        // two lines below leaves the eventfd readable: the next wait returns at once, drains it and
        // sleeps properly on the one after (one early wake, never a spin).
        bool signalled = Interlocked.Exchange(ref _signalled, 0) == 1;
        if (_event is null && (readable || signalled))
        {
            ulong value;
            _ = Read(_eventFd, &value, sizeof(ulong));
        }
    }

    /// <summary>Closes the eventfd; later signals do nothing. Only once no thread waits (the timer thread has ended).</summary>
    public void Dispose()
    {
        lock (_closeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _event?.Dispose();
        if (_eventFd >= 0)
        {
            _ = Close(_eventFd);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static unsafe partial int PPoll(PollFd* fds, nuint count, TimeSpec* timeout, void* sigmask);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
