using Emulator.Backends.Net;
using System.Runtime.InteropServices;

namespace Emulator.Backends.Chardev;

/// <summary>
/// A terminal put in raw mode (<see cref="Termios.MakeRaw"/>) and the promise to put it back: on
/// <see cref="Dispose"/>, on process exit, on Ctrl-C and SIGTERM, and on a crash. Before the
/// settings are restored, an optional farewell is written to stdout (escape sequences that undo
/// what a full-screen user changed: cursor hidden, alternate screen).
/// </summary>
internal sealed class RawTerminal : IDisposable
{
    private const int StdoutFd = 1;

    private readonly int _fd;
    private readonly byte[] _farewell;
    private readonly Lock _lock = new();
    private readonly Termios.Settings _original;
    private readonly PosixSignalRegistration _sigterm;
    private bool _raw;

    private RawTerminal(int fd, Termios.Settings original, byte[] farewell)
    {
        _fd = fd;
        _original = original;
        _farewell = farewell;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        Console.CancelKeyPress += OnCancelKeyPress;
        // A plain kill (SIGTERM) ends the process without raising ProcessExit unless someone listens.
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Restore());
        _raw = Termios.TrySet(fd, Termios.MakeRaw(original));
    }

    /// <summary>Puts <paramref name="fd"/> in raw mode; null when it is not a terminal.</summary>
    /// <param name="fd">The terminal's descriptor (stdin).</param>
    /// <param name="farewell">Bytes for stdout before the settings are restored; may be empty.</param>
    public static RawTerminal? TryEnter(int fd, byte[] farewell)
        => Termios.IsTerminal(fd) && Termios.TryGet(fd, out Termios.Settings original) ? new RawTerminal(fd, original, farewell) : null;

    /// <summary>Writes the farewell and restores the original settings, once.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            if (!_raw)
            {
                return;
            }

            _raw = false;
            WriteAll(_farewell);
            Termios.TrySet(_fd, in _original);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Restore();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
        Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm.Dispose();
    }

    /// <summary>Writes all of <paramref name="data"/> to stdout unbuffered; false once stdout is gone.</summary>
    public static unsafe bool WriteAll(ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = PosixIo.Write(StdoutFd, start + done, (nuint)(data.Length - done));
                if (n >= 0)
                {
                    done += (int)n;
                    continue;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == PosixIo.Eagain)
                {
                    var pollFd = new PollFd { Fd = StdoutFd, Events = PosixIo.PollOut };
                    PosixIo.Poll(&pollFd, 1, 200);
                }
                else if (errno != PosixIo.Eintr)
                {
                    return false; // stdout closed (EPIPE)
                }
            }
        }

        return true;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Restore();

    private void OnUnhandledException(object? sender, UnhandledExceptionEventArgs e) => Restore();

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e) => Restore();
}
