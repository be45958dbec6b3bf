namespace Emulator.Backends.Chardev;

/// <summary>
/// The escape character of a terminal that belongs to the guest, as in QEMU's character multiplexer:
/// Ctrl-A starts a command, Ctrl-A X quits, Ctrl-A Ctrl-A sends a literal Ctrl-A, Ctrl-A H asks for
/// help; other commands are ignored.
/// </summary>
internal sealed class CtrlAEscapes
{
    /// <summary>The escape character.</summary>
    public const byte CtrlA = 0x01;

    private readonly Action _quit;
    private readonly Action _help;
    private bool _pending;

    /// <summary>Calls <paramref name="quit"/> for Ctrl-A X and <paramref name="help"/> for Ctrl-A H.</summary>
    public CtrlAEscapes(Action quit, Action help)
    {
        _quit = quit;
        _help = help;
    }

    /// <summary>True after a Ctrl-A whose command has not arrived yet.</summary>
    public bool Pending => _pending;

    /// <summary>
    /// Interprets the commands in <paramref name="input"/>, copying what is meant for the guest to
    /// <paramref name="output"/> (at least as long as <paramref name="input"/>); returns its length.
    /// </summary>
    public int Filter(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int length = 0;
        foreach (byte b in input)
        {
            if (!_pending)
            {
                if (b == CtrlA)
                {
                    _pending = true;
                }
                else
                {
                    output[length++] = b;
                }

                continue;
            }

            _pending = false;
            switch (b)
            {
                case CtrlA:
                    output[length++] = CtrlA;
                    break;
                case (byte)'x' or (byte)'X':
                    _quit();
                    break;
                case (byte)'h' or (byte)'H' or (byte)'?':
                    _help();
                    break;
                default:
                    break;
            }
        }

        return length;
    }
}
