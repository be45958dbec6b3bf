namespace Emulator.Core.Display;

/// <summary>What a text display backend (the terminal) asks of the machine's display adapter.</summary>
public interface ITextScreenSource
{
    /// <summary>The text screen as it is now, or null while the adapter shows a graphics mode. Thread-safe.</summary>
    TextScreenFrame? ReadText();
}
