using System.Runtime.InteropServices;
using System.Text;
using Emulator.Core.Chardev;

namespace Emulator.Backends.Chardev;

/// <summary>
/// Connects the serial line to this process's stdin and stdout. When stdin is a terminal it is put
/// in raw mode (restored on dispose, on process exit, on Ctrl-C signals and on a crash) and
/// Ctrl-A starts a command: Ctrl-A X quits, Ctrl-A Ctrl-A sends a literal Ctrl-A, Ctrl-A H lists
/// the commands. Otherwise stdin is read as plain bytes. End of input stops reading; it does not
/// quit the machine.
/// </summary>
public sealed partial class StdioSerialBackend : ISerialBackend
{
    private const int StdinFd = 0, StdoutFd = 1, StderrFd = 2;
    private const short PollIn = 0x1, PollOut = 0x4;
    private const int Eintr = 4, Eagain = 11;

    private readonly CtrlAEscapes _escapes;
    private RawTerminal? _terminal;
    private readonly OutputQueue _output = new(WriteAll, "emu-serial-stdout");
    private Thread? _thread;
    private volatile bool _stopping;

    /// <summary>Creates the backend; nothing changes on the terminal until <see cref="Start"/>.</summary>
    /// <param name="quit">Called for Ctrl-A X, e.g. raising <c>MachineRequest.Quit</c>.</param>
    public StdioSerialBackend(Action quit)
    {
        _escapes = new CtrlAEscapes(quit, WriteHelp);
        IsTerminal = Termios.IsTerminal(StdinFd);
    }

    /// <summary>True when stdin is a terminal, so raw mode and the Ctrl-A commands apply.</summary>
    public bool IsTerminal { get; }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data) => _output.Write(data);

    // The writer's sink: all of `data` to stdout, or false once stdout is gone (EPIPE), after which
    // the guest keeps running unheard.
    private static bool WriteAll(ReadOnlyMemory<byte> data)
    {
        ReadOnlySpan<byte> rest = data.Span;
        while (!rest.IsEmpty)
        {
            nint n = WriteFd(StdoutFd, ref MemoryMarshal.GetReference(rest), (nuint)rest.Length);
            if (n >= 0)
            {
                rest = rest[(int)n..];
                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Eagain)
            {
                WaitFor(StdoutFd, PollOut);
            }
            else if (errno != Eintr)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public void Start(Action<ReadOnlySpan<byte>> onInput)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("the stdio serial backend is already started");
        }

        if (IsTerminal)
        {
            _terminal = RawTerminal.TryEnter(StdinFd, []);
        }

        _thread = new Thread(() => ReadInput(onInput)) { IsBackground = true, Name = "emu-serial-stdin" };
        _thread.Start();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopping = true;
        _output.Dispose(); // the guest's last output, before the terminal leaves raw mode
        _terminal?.Dispose();
        // The reader polls with a timeout, but may be held up by a guest that is not reading.
        _thread?.Join(TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Interprets the Ctrl-A commands in terminal input, copying what is meant for the guest to
    /// <paramref name="output"/> (at least as long as <paramref name="input"/>); returns its length.
    /// </summary>
    internal int FilterEscapes(ReadOnlySpan<byte> input, Span<byte> output) => _escapes.Filter(input, output);

    private void ReadInput(Action<ReadOnlySpan<byte>> onInput)
    {
        byte[] buffer = new byte[4096];
        byte[] filtered = new byte[buffer.Length];
        while (!_stopping)
        {
            if (!WaitFor(StdinFd, PollIn))
            {
                continue;
            }

            nint n = ReadFd(StdinFd, ref buffer[0], (nuint)buffer.Length);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Eintr or Eagain)
                {
                    continue;
                }

                return;
            }

            if (n == 0)
            {
                return; // End of input: the guest just stops receiving.
            }

            ReadOnlySpan<byte> data = buffer.AsSpan(0, (int)n);
            if (IsTerminal)
            {
                data = filtered.AsSpan(0, FilterEscapes(data, filtered));
            }

            if (!data.IsEmpty)
            {
                onInput(data);
            }
        }
    }

    private static void WriteHelp()
    {
        byte[] help = Encoding.ASCII.GetBytes(
            "\nC-a x    quit the emulator\nC-a C-a  send C-a to the guest\nC-a h    print this help\n");
        WriteFd(StderrFd, ref help[0], (nuint)help.Length);
    }

    /// <summary>Waits up to 200 ms for <paramref name="fd"/> to be ready; true when it is (or has hung up).</summary>
    private static bool WaitFor(int fd, short events)
    {
        var pollFd = new PollFd { Fd = fd, Events = events };
        return Poll(ref pollFd, 1, 200) > 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadFd(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteFd(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMilliseconds);
}
