using System.Runtime.InteropServices;
using System.Text;
using Emulator.Backends.Chardev;
using Emulator.Backends.Net;
using Emulator.Core.Display;
using Emulator.Core.Input;

namespace Emulator.Backends.Display;

/// <summary>
/// The guest's text screen on this process's terminal and the terminal's keys on its keyboard, like
/// QEMU's <c>-display curses</c>: the screen is redrawn at most <see cref="FramesPerSecond"/> times a
/// second (only what changed, through <see cref="AnsiScreenWriter"/>) on the terminal's alternate
/// screen; keys are decoded by <see cref="TerminalKeyDecoder"/> and pressed on the keyboard one at a
/// time, each once the guest has taken the last one's scan codes (the PS/2 keyboard buffers only 16
/// bytes). Ctrl-A X quits, Ctrl-A Ctrl-A types Ctrl-A. The terminal is put back (raw mode off, cursor
/// shown, the user's screen back) on <see cref="Dispose"/>, at process exit, on SIGTERM and on a crash.
/// </summary>
public sealed partial class CursesDisplay : IDisposable
{
    /// <summary>The redraw rate bound.</summary>
    public const int FramesPerSecond = 30;

    // After an ESC, a following byte of the same key arrives within this time (the terminal writes a
    // sequence at once); QEMU's curses UI and ncurses' ESCDELAY wait a similar short time.
    private const int EscapeTimeoutMs = 50;
    private const int StdinFd = 0, StdoutFd = 1;
    private const ulong Tiocgwinsz = 0x5413;

    // Alternate screen on, autowrap off, cursor hidden, screen cleared; and the reverse.
    private static readonly byte[] Greeting = "\e[?1049h\e[?7l\e[?25l\e[0m\e[2J"u8.ToArray();
    private static readonly byte[] Farewell = "\e[0m\e[?7h\e[?25h\e[?1049l"u8.ToArray();

    private readonly ITextScreenSource _screen;
    private readonly IKeyboardInput _keyboard;
    private readonly CtrlAEscapes _escapes;
    private readonly AnsiScreenWriter _writer = new(TerminalColors.TermHas256Colors(Environment.GetEnvironmentVariable("TERM")));
    private readonly TerminalKeyDecoder _decoder = new();
    private RawTerminal? _terminal;
    private Thread? _renderer, _reader;
    private volatile bool _stopping;
    private bool _disposed;

    /// <summary>Shows <paramref name="screen"/> and types on <paramref name="keyboard"/>; nothing changes on the terminal until <see cref="Start"/>.</summary>
    /// <param name="screen">The display adapter's text screen.</param>
    /// <param name="keyboard">The guest's keyboard.</param>
    /// <param name="quit">Called for Ctrl-A X.</param>
    public CursesDisplay(ITextScreenSource screen, IKeyboardInput keyboard, Action quit)
    {
        _screen = screen;
        _keyboard = keyboard;
        _escapes = new CtrlAEscapes(quit, () => { });
    }

    /// <summary>Takes over the terminal and starts drawing and reading keys.</summary>
    public void Start()
    {
        _terminal = RawTerminal.TryEnter(StdinFd, Farewell);
        RawTerminal.WriteAll(Greeting);
        _renderer = new Thread(Render) { IsBackground = true, Name = "emu-display-render" };
        _reader = new Thread(ReadKeys) { IsBackground = true, Name = "emu-display-keys" };
        _renderer.Start();
        _reader.Start();
    }

    /// <summary>Draws the last frame and gives the terminal back.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping = true;
        _renderer?.Join();
        _reader?.Join(TimeSpan.FromSeconds(1));
        if (_terminal is not null)
        {
            _terminal.Dispose();
        }
        else if (_renderer is not null)
        {
            RawTerminal.WriteAll(Farewell);
        }
    }

    private void Render()
    {
        var period = TimeSpan.FromSeconds(1.0 / FramesPerSecond);
        while (true)
        {
            bool last = _stopping;
            (int columns, int rows) = TerminalSize();
            string update = _writer.Update(_screen.ReadText(), columns, rows);
            if (update.Length > 0 && !RawTerminal.WriteAll(Encoding.UTF8.GetBytes(update)))
            {
                return; // the terminal is gone
            }

            if (last)
            {
                return;
            }

            Thread.Sleep(period);
        }
    }

    private unsafe void ReadKeys()
    {
        byte[] buffer = new byte[256];
        byte[] filtered = new byte[buffer.Length];
        var strokes = new List<KeyStroke>();
        while (!_stopping)
        {
            var pollFd = new PollFd { Fd = StdinFd, Events = PosixIo.PollIn };
            int ready = PosixIo.Poll(&pollFd, 1, _decoder.Pending ? EscapeTimeoutMs : 200);
            if (ready == 0)
            {
                _decoder.Flush(strokes);
                Type(strokes);
                continue;
            }

            nint n;
            fixed (byte* p = buffer)
            {
                n = ready < 0 ? -1 : PosixIo.Read(StdinFd, p, (nuint)buffer.Length);
            }

            if (n < 0 && Marshal.GetLastPInvokeError() is PosixIo.Eintr or PosixIo.Eagain)
            {
                continue;
            }

            if (n <= 0)
            {
                return; // end of input: the guest just stops receiving keys
            }

            int length = _escapes.Filter(buffer.AsSpan(0, (int)n), filtered);
            foreach (byte b in filtered.AsSpan(0, length))
            {
                _decoder.Feed(b, strokes);
            }

            Type(strokes);
        }
    }

    private void Type(List<KeyStroke> strokes)
    {
        foreach (KeyStroke stroke in strokes)
        {
            // A guest that has stopped reading the keyboard gets the key anyway after a while; the
            // model then reports the overrun as a real keyboard does.
            for (int waited = 0; _keyboard.HasData && waited < 250 && !_stopping; waited += 2)
            {
                Thread.Sleep(2);
            }

            stroke.TypeOn(_keyboard);
        }

        strokes.Clear();
    }

    // The terminal's size from TIOCGWINSZ; unbounded when stdout is no terminal or reports 0x0.
    private static (int Columns, int Rows) TerminalSize()
    {
        WindowSize size;
        return IoctlWindowSize(StdoutFd, Tiocgwinsz, out size) == 0 && size.Columns > 0 && size.Rows > 0
            ? (size.Columns, size.Rows)
            : (int.MaxValue, int.MaxValue);
    }

    /// <summary>struct winsize (asm-generic/termios.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct WindowSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlWindowSize(int fd, ulong request, out WindowSize size);
}
