using System.Text;
using Emulator.Core.Input;

namespace Emulator.Backends.Display;

/// <summary>
/// Turns what a terminal sends for keys (ECMA-48 control sequences as xterm, VT220 and the Linux
/// console send them) into key strokes: characters, control characters (Ctrl-letter), CSI and SS3
/// sequences for cursor keys, Home/End/Insert/Delete/PgUp/PgDn and F1-F12 with xterm's modifier
/// parameter, and ESC before a character for Alt. A lone ESC cannot be told from the start of a
/// sequence by its bytes alone: the caller calls <see cref="Flush"/> when no byte followed within
/// a short time. Sequences of no known key are dropped.
/// </summary>
public sealed class TerminalKeyDecoder
{
    private const byte Esc = 0x1b, Del = 0x7f;
    private const int MaxSequence = 16;

    private readonly List<byte> _pending = [];

    /// <summary>True while bytes wait for the rest of an escape sequence (or for the timeout).</summary>
    public bool Pending => _pending.Count > 0;

    /// <summary>Decodes one byte, adding any strokes it completes to <paramref name="strokes"/>.</summary>
    public void Feed(byte b, List<KeyStroke> strokes)
    {
        if (_pending.Count == 0)
        {
            if (b == Esc)
            {
                _pending.Add(b);
            }
            else
            {
                Add(strokes, Single(b));
            }

            return;
        }

        _pending.Add(b);
        if (_pending.Count == 2)
        {
            if (b is (byte)'[' or (byte)'O')
            {
                return;
            }

            _pending.Clear();
            if (b == Esc)
            {
                strokes.Add(new KeyStroke(Ps2Key.Escape));
                _pending.Add(Esc); // the second ESC may begin a sequence of its own
                return;
            }

            Add(strokes, Single(b) is { } s ? s with { Alt = true } : null);
            return;
        }

        if (_pending[1] == 'O')
        {
            Finish(strokes, Ss3(b));
        }
        else if (_pending.Count == 3 && b == '[')
        {
            // The Linux console's F1-F5: ESC [ [ A .. ESC [ [ E; one more byte follows.
        }
        else if (_pending[2] == '[')
        {
            Finish(strokes, b is >= (byte)'A' and <= (byte)'E' ? new KeyStroke(Ps2Key.F1 + (b - 'A')) : null);
        }
        else if (b is >= 0x40 and <= 0x7e)
        {
            Finish(strokes, Csi(Encoding.ASCII.GetString(_pending.ToArray(), 2, _pending.Count - 3), (char)b));
        }
        else if (b is < 0x20 or > 0x3f || _pending.Count >= MaxSequence)
        {
            _pending.Clear(); // not a control sequence after all
        }
    }

    /// <summary>No byte came in time: what is pending was typed as it is (a lone ESC is the Esc key).</summary>
    public void Flush(List<KeyStroke> strokes)
    {
        if (_pending.Count == 1)
        {
            strokes.Add(new KeyStroke(Ps2Key.Escape));
        }
        else if (_pending.Count == 2)
        {
            Add(strokes, Single(_pending[1]) is { } s ? s with { Alt = true } : null);
        }

        _pending.Clear();
    }

    private void Finish(List<KeyStroke> strokes, KeyStroke? stroke)
    {
        _pending.Clear();
        Add(strokes, stroke);
    }

    private static void Add(List<KeyStroke> strokes, KeyStroke? stroke)
    {
        if (stroke is { } s)
        {
            strokes.Add(s);
        }
    }

    // A byte on its own: a control character, DEL, or a printable character of the US layout.
    private static KeyStroke? Single(byte b) => b switch
    {
        0x00 => new KeyStroke(Ps2Key.Space, Ctrl: true),
        0x08 or Del => new KeyStroke(Ps2Key.Backspace),
        0x09 => new KeyStroke(Ps2Key.Tab),
        0x0a or 0x0d => new KeyStroke(Ps2Key.Enter),
        Esc => new KeyStroke(Ps2Key.Escape),
        < 0x1b => UsKeyboardLayout.For((char)('a' + b - 1)) is { } letter ? letter with { Ctrl = true } : null,
        0x1c => new KeyStroke(Ps2Key.Backslash, Ctrl: true),
        0x1d => new KeyStroke(Ps2Key.RightBracket, Ctrl: true),
        0x1e => new KeyStroke(Ps2Key.D6, Shift: true, Ctrl: true),
        0x1f => new KeyStroke(Ps2Key.Minus, Shift: true, Ctrl: true),
        _ => UsKeyboardLayout.For((char)b),
    };

    // SS3 (ESC O x): cursor keys in application mode, Home/End, and F1-F4.
    private static KeyStroke? Ss3(byte final) => CursorKey((char)final) is { } key ? new KeyStroke(key) : null;

    private static Ps2Key? CursorKey(char final) => final switch
    {
        'A' => Ps2Key.Up,
        'B' => Ps2Key.Down,
        'C' => Ps2Key.Right,
        'D' => Ps2Key.Left,
        'H' => Ps2Key.Home,
        'F' => Ps2Key.End,
        'P' => Ps2Key.F1,
        'Q' => Ps2Key.F2,
        'R' => Ps2Key.F3,
        'S' => Ps2Key.F4,
        _ => null,
    };

    // VT220 "ESC [ n ~" key numbers.
    private static Ps2Key? TildeKey(int n) => n switch
    {
        1 or 7 => Ps2Key.Home,
        2 => Ps2Key.Insert,
        3 => Ps2Key.Delete,
        4 or 8 => Ps2Key.End,
        5 => Ps2Key.PageUp,
        6 => Ps2Key.PageDown,
        >= 11 and <= 15 => Ps2Key.F1 + (n - 11),
        >= 17 and <= 21 => Ps2Key.F6 + (n - 17),
        23 => Ps2Key.F11,
        24 => Ps2Key.F12,
        _ => null,
    };

    // CSI: the final byte names the key (or ~ after a key number); xterm's second parameter is
    // 1 + the modifiers (1 Shift, 2 Alt, 4 Ctrl).
    private static KeyStroke? Csi(string parameters, char final)
    {
        string[] fields = parameters.Split(';');
        int first = int.TryParse(fields[0], out int f) ? f : 1;
        int modifiers = fields.Length > 1 && int.TryParse(fields[1], out int m) ? Math.Max(0, m - 1) : 0;
        Ps2Key? key = final switch
        {
            '~' => TildeKey(first),
            'Z' => Ps2Key.Tab,
            _ => CursorKey(final),
        };
        if (key is null)
        {
            return null;
        }

        bool backTab = final == 'Z';
        return new KeyStroke(key.Value, Shift: backTab || (modifiers & 1) != 0, Ctrl: (modifiers & 4) != 0, Alt: (modifiers & 2) != 0);
    }
}
