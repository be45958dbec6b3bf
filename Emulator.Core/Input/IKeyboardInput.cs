namespace Emulator.Core.Input;

/// <summary>What a host input backend asks of the machine's keyboard: key presses, by position.</summary>
public interface IKeyboardInput
{
    /// <summary>True while key data the guest has not yet taken waits in the keyboard.</summary>
    bool HasData { get; }

    /// <summary>Presses <paramref name="key"/>. Thread-safe.</summary>
    void KeyDown(Ps2Key key);

    /// <summary>Releases <paramref name="key"/>. Thread-safe.</summary>
    void KeyUp(Ps2Key key);
}
