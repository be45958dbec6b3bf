namespace Emulator.Core.Display;

/// <summary>One character cell as shown: a code page 437 character, its two colors as the adapter's palette makes them, and whether it blinks.</summary>
/// <param name="Character">The character code (code page 437).</param>
/// <param name="Foreground">Foreground color, 0xRRGGBB.</param>
/// <param name="Background">Background color, 0xRRGGBB.</param>
/// <param name="Blink">True when the adapter blinks the character (its foreground alternates with the background).</param>
public readonly record struct TextCell(byte Character, uint Foreground, uint Background, bool Blink = false);

/// <summary>A text screen as a display adapter shows it at one moment.</summary>
/// <param name="Columns">Characters per row.</param>
/// <param name="Rows">Rows.</param>
/// <param name="Cells">Row-major cells, <paramref name="Columns"/> x <paramref name="Rows"/>.</param>
/// <param name="CursorRow">Cursor row, or -1 when the cursor is off or off screen.</param>
/// <param name="CursorColumn">Cursor column.</param>
public sealed record TextScreenFrame(int Columns, int Rows, TextCell[] Cells, int CursorRow, int CursorColumn)
{
    /// <summary>The cell at <paramref name="row"/>, <paramref name="column"/>.</summary>
    public TextCell this[int row, int column] => Cells[(row * Columns) + column];
}
