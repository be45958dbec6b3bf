using System.Text;
using Emulator.Core.Display;

namespace Emulator.Devices.Display;

/// <summary>One character cell of a text screen: the code point in the VGA font and its attribute byte.</summary>
/// <param name="Character">The character code.</param>
/// <param name="Attribute">Foreground (bits 3:0) and background (bits 7:4) colors.</param>
public readonly record struct VgaCell(byte Character, byte Attribute);

/// <summary>
/// What a VGA text mode shows: the cells, the character box, and the cursor, read from the
/// registers and planes 0 and 1 of display memory the way the CRT controller scans them.
/// </summary>
/// <param name="Columns">Characters per row.</param>
/// <param name="Rows">Rows.</param>
/// <param name="CharWidth">8 or 9 dots.</param>
/// <param name="CharHeight">Scan lines per row.</param>
/// <param name="Cells">Row-major cells.</param>
/// <param name="CursorRow">Cursor row, or -1 when the cursor is off or off screen.</param>
/// <param name="CursorColumn">Cursor column.</param>
/// <param name="CursorStart">First scan line of the cursor.</param>
/// <param name="CursorEnd">Last scan line of the cursor.</param>
public sealed record VgaTextScreen(int Columns, int Rows, int CharWidth, int CharHeight, VgaCell[] Cells,
    int CursorRow, int CursorColumn, int CursorStart, int CursorEnd)
{
    /// <summary>The cell at <paramref name="row"/>, <paramref name="column"/>.</summary>
    public VgaCell this[int row, int column] => Cells[(row * Columns) + column];

    /// <summary>Row <paramref name="row"/> as text, trailing blanks removed.</summary>
    public string Line(int row)
    {
        var sb = new StringBuilder(Columns);
        for (int c = 0; c < Columns; c++)
        {
            sb.Append(ToChar(this[row, c].Character));
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>The whole screen, one line per row.</summary>
    public override string ToString() => string.Join('\n', Enumerable.Range(0, Rows).Select(Line));

    /// <summary>The Unicode character code page 437 shows for <paramref name="code"/>.</summary>
    public static char ToChar(byte code) => CodePage437.ToChar(code);
}
