using Emulator.Core.Display;

namespace Emulator.Devices.Display;

/// <summary>
/// The VGA's text screen for a text display backend: cells and cursor as <see cref="VgaRenderer.Text"/>
/// reads them, each attribute split into its two colors. With blinking enabled (Attribute Mode
/// Control bit 3) attribute bit 7 blinks the character instead of brightening the background, so
/// the background keeps bits 6:4 only, as <see cref="VgaRenderer"/> draws it.
/// </summary>
public sealed class VgaTextSource : ITextScreenSource
{
    private readonly Vga _vga;
    private readonly Lock _deviceLock;

    /// <summary>Reads <paramref name="vga"/> under <paramref name="deviceLock"/>, so that a frame is not torn by a vCPU's register writes.</summary>
    public VgaTextSource(Vga vga, Lock deviceLock)
    {
        _vga = vga;
        _deviceLock = deviceLock;
    }

    /// <inheritdoc/>
    public TextScreenFrame? ReadText()
    {
        VgaTextScreen? text;
        bool blink;
        lock (_deviceLock)
        {
            text = VgaRenderer.Text(_vga);
            blink = (_vga.Attribute[0x10] & 0x08) != 0;
        }

        if (text is null)
        {
            return null;
        }

        var cells = new TextCell[text.Cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            VgaCell cell = text.Cells[i];
            int background = blink ? (cell.Attribute >> 4) & 7 : cell.Attribute >> 4;
            cells[i] = new TextCell(cell.Character, (byte)(cell.Attribute & 0x0f), (byte)background);
        }

        return new TextScreenFrame(text.Columns, text.Rows, cells, text.CursorRow, text.CursorColumn);
    }
}
