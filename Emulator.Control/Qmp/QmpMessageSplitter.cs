using System.Text;

namespace Emulator.Control.Qmp;

/// <summary>
/// Cuts the byte stream a client sends into JSON texts, the way QEMU's streaming parser does: an
/// object or array ends where its brackets balance (it may span lines, several may share a line);
/// anything else at the top level ends at a newline. It only tracks strings, escapes and bracket
/// depth; the texts are parsed afterwards. A text longer than <see cref="MaxMessageBytes"/> is
/// reported as too long and skipped up to the next newline, so one huge line costs a bounded
/// amount of memory and the client gets an error instead of a dropped connection.
/// </summary>
internal sealed class QmpMessageSplitter
{
    /// <summary>The longest command accepted (QMP commands are a few hundred bytes; screendump paths and HMP lines included).</summary>
    public const int MaxMessageBytes = 1 << 20;

    // Nesting past this is refused as well (System.Text.Json's own default limit is 64).
    private const int MaxDepth = 64;

    private readonly List<byte> _text = [];
    private int _depth;
    private bool _inString;
    private bool _escape;
    private bool _discarding;

    /// <summary>A complete text (<see cref="Text"/>) or an error to report (<see cref="Error"/>).</summary>
    public readonly record struct Piece(string? Text, string? Error);

    /// <summary>Feeds received bytes; returns the texts and errors they complete, in order.</summary>
    public List<Piece> Feed(ReadOnlySpan<byte> data)
    {
        var done = new List<Piece>();
        foreach (byte b in data)
        {
            if (_discarding)
            {
                if (b == '\n')
                {
                    _discarding = false;
                }

                continue;
            }

            if (_text.Count >= MaxMessageBytes)
            {
                done.Add(new Piece(null, $"JSON parse error, message longer than {MaxMessageBytes} bytes"));
                Restart();
                _discarding = b != '\n';
                continue;
            }

            if (_inString)
            {
                _text.Add(b);
                if (_escape)
                {
                    _escape = false;
                }
                else if (b == '\\')
                {
                    _escape = true;
                }
                else if (b == '"')
                {
                    _inString = false;
                    EndScalarAtTopLevel(done);
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    _inString = true;
                    _text.Add(b);
                    break;
                case (byte)'{' or (byte)'[':
                    _text.Add(b);
                    if (++_depth > MaxDepth)
                    {
                        done.Add(new Piece(null, "JSON parse error, too many nested levels"));
                        Restart();
                        _discarding = true;
                    }

                    break;
                case (byte)'}' or (byte)']':
                    _text.Add(b);
                    if (_depth == 0)
                    {
                        // A closing bracket with nothing open: QEMU says "expecting value" too. The rest of
                        // the line goes with it, so one bad line costs one error.
                        done.Add(new Piece(null, "JSON parse error, expecting value"));
                        Restart();
                        _discarding = true;
                    }
                    else if (--_depth == 0)
                    {
                        Complete(done);
                    }

                    break;
                case (byte)'\n':
                    if (_depth == 0)
                    {
                        Complete(done);
                    }
                    else
                    {
                        _text.Add(b);
                    }

                    break;
                default:
                    _text.Add(b);
                    break;
            }
        }

        return done;
    }

    // A top-level string is a complete (if useless) text.
    private void EndScalarAtTopLevel(List<Piece> done)
    {
        if (_depth == 0)
        {
            Complete(done);
        }
    }

    private void Complete(List<Piece> done)
    {
        string text = Encoding.UTF8.GetString([.. _text]);
        Restart();
        if (!string.IsNullOrWhiteSpace(text))
        {
            done.Add(new Piece(text, null));
        }
    }

    private void Restart()
    {
        _text.Clear();
        _depth = 0;
        _inString = false;
        _escape = false;
    }
}
