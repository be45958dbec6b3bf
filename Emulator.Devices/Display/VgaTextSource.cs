using Emulator.Core.Display;

namespace Emulator.Devices.Display;

/// <summary>
/// The VGA's text screen for a text display backend: cells and cursor as <see cref="VgaRenderer.Text"/>
/// reads them, each attribute's two 4-bit colors through the attribute controller's palette and the
/// DAC (so a guest that reprograms either is seen), as <see cref="VgaRenderer"/> draws them. With
/// blinking enabled (Attribute Mode Control bit 3) attribute bit 7 blinks the character instead of
/// brightening the background, so the background keeps bits 6:4 only (<see cref="VgaBlink"/>).
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
        uint[] palette = new uint[16];
        lock (_deviceLock)
        {
            text = VgaRenderer.Text(_vga);
            blink = VgaBlink.Enabled(_vga);
            for (int i = 0; i < palette.Length; i++)
            {
                palette[i] = VgaRenderer.AttributeColor(_vga, i);
            }
        }

        if (text is null)
        {
            return null;
        }

        var cells = new TextCell[text.Cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            VgaCell cell = text.Cells[i];
            byte a = cell.Attribute;
            cells[i] = new TextCell(cell.Character, palette[a & 0x0f], palette[VgaBlink.Background(a, blink)], VgaBlink.Blinks(a, blink));
        }

        return new TextScreenFrame(text.Columns, text.Rows, cells, text.CursorRow, text.CursorColumn);
    }
}
