using System.Text;
using Emulator.Core.Display;

namespace Emulator.Backends.Display;

/// <summary>
/// Draws text screens on an ANSI (ECMA-48 / VT100) terminal, sending only the cells that changed
/// since the last frame: CUP to move, SGR for the colors (<see cref="TerminalColors"/>) and SGR 5 for
/// the blinking characters, the characters of code page 437 as UTF-8, DECTCEM to show or hide the cursor. Cells beyond the terminal's size are not drawn. The
/// caller has turned autowrap off (DECAWM), so that a character in the last column of the last row
/// does not scroll the screen.
/// </summary>
public sealed class AnsiScreenWriter
{
    /// <summary>The line shown while the adapter is in a graphics mode.</summary>
    public const string GraphicsNotice = "emu: the VGA is in a graphics mode; --display curses shows text modes only";

    private readonly StringBuilder _out = new();
    private readonly TerminalColors _palette;
    private TextScreenFrame? _shown;
    private bool _graphicsShown;
    private (int Columns, int Rows) _terminal;
    private (uint Foreground, uint Background, bool Blink)? _colors;
    private (int Row, int Column)? _position;
    private bool? _cursorVisible;

    /// <summary>Writes for a terminal with 16 colors, or 256 when <paramref name="colors256"/> (<see cref="TerminalColors"/>).</summary>
    public AnsiScreenWriter(bool colors256 = false) => _palette = new TerminalColors(colors256);

    /// <summary>What to send to show <paramref name="frame"/> (null: a graphics mode) on a terminal of the given size; empty when nothing changed.</summary>
    public string Update(TextScreenFrame? frame, int terminalColumns, int terminalRows)
    {
        _out.Clear();
        bool resized = _terminal != (terminalColumns, terminalRows);
        _terminal = (terminalColumns, terminalRows);
        if (frame is null)
        {
            if (!_graphicsShown || resized)
            {
                Clear();
                _out.Append(GraphicsNotice.AsSpan(0, Math.Min(GraphicsNotice.Length, Math.Max(1, terminalColumns - 1))));
                _position = null;
                SetCursorVisible(false);
                _graphicsShown = true;
                _shown = null;
            }

            return _out.ToString();
        }

        TextScreenFrame? previous = _shown;
        if (_graphicsShown || resized || previous is null || previous.Columns != frame.Columns || previous.Rows != frame.Rows)
        {
            Clear();
            previous = null;
            _graphicsShown = false;
        }

        int rows = Math.Min(frame.Rows, terminalRows), columns = Math.Min(frame.Columns, terminalColumns);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                TextCell cell = frame[r, c];
                if (previous is null || previous[r, c] != cell)
                {
                    Draw(r, c, cell);
                }
            }
        }

        bool visible = frame.CursorRow >= 0 && frame.CursorRow < rows && frame.CursorColumn < columns;
        if (visible && (_position != (frame.CursorRow, frame.CursorColumn) || _out.Length > 0))
        {
            MoveTo(frame.CursorRow, frame.CursorColumn);
        }

        SetCursorVisible(visible);
        _shown = frame;
        return _out.ToString();
    }

    private void Clear()
    {
        _out.Append("\e[0m\e[2J\e[H");
        _colors = null;
        _position = (0, 0);
    }

    private void Draw(int row, int column, TextCell cell)
    {
        if (_position != (row, column))
        {
            MoveTo(row, column);
        }

        if (_colors != (cell.Foreground, cell.Background, cell.Blink))
        {
            _out.Append(cell.Blink ? "\e[0;5;" : "\e[0;").Append(_palette.Sgr(cell.Foreground, cell.Background)).Append('m');
            _colors = (cell.Foreground, cell.Background, cell.Blink);
        }

        _out.Append(CodePage437.ToChar(cell.Character));
        // With autowrap off the cursor stays in the last column.
        _position = column + 1 < _terminal.Columns ? (row, column + 1) : null;
    }

    private void MoveTo(int row, int column)
    {
        _out.Append("\e[").Append(row + 1).Append(';').Append(column + 1).Append('H');
        _position = (row, column);
    }

    private void SetCursorVisible(bool visible)
    {
        if (_cursorVisible != visible)
        {
            _out.Append(visible ? "\e[?25h" : "\e[?25l");
            _cursorVisible = visible;
        }
    }
}
