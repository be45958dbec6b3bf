using System.Runtime.InteropServices;

namespace Emulator.Backends.Net;

/// <summary>struct pollfd (poll(2)).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}

/// <summary>The few libc calls the network backends' poll threads make.</summary>
internal static unsafe partial class PosixIo
{
    /// <summary>poll(2) event bits.</summary>
    public const short PollIn = 0x001, PollPri = 0x002, PollOut = 0x004, PollErr = 0x008, PollHup = 0x010;

    /// <summary>errno values the backends tell apart.</summary>
    public const int Eintr = 4, Eagain = 11, Eperm = 1, Eacces = 13, Ebusy = 16, Enoent = 2;

    private const int EfdNonblock = 0x800, EfdCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFdNative(uint initial, int flags);

    /// <summary>A non-blocking eventfd (eventfd(2)) a poll thread waits on to be woken.</summary>
    public static int CreateEventFd()
    {
        int fd = EventFdNative(0, EfdNonblock | EfdCloexec);
        return fd >= 0 ? fd : throw new IOException($"eventfd failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Adds one to an eventfd's counter, waking whoever polls it.</summary>
    public static void Signal(int eventFd)
    {
        ulong one = 1;
        _ = Write(eventFd, &one, sizeof(ulong));
    }

    /// <summary>Reads (and so resets) an eventfd's counter.</summary>
    public static void Drain(int eventFd)
    {
        ulong value;
        _ = Read(eventFd, &value, sizeof(ulong));
    }
}
