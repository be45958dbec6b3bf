using Emulator.Core.Input;

namespace Emulator.Backends.Display;

/// <summary>One key typed on the host with the modifiers held for it.</summary>
/// <param name="Key">The key.</param>
/// <param name="Shift">Shift held.</param>
/// <param name="Ctrl">Ctrl held.</param>
/// <param name="Alt">Alt held.</param>
public readonly record struct KeyStroke(Ps2Key Key, bool Shift = false, bool Ctrl = false, bool Alt = false)
{
    /// <summary>Presses the modifiers, then the key; releases them in reverse order.</summary>
    public void TypeOn(IKeyboardInput keyboard)
    {
        Span<Ps2Key> held = stackalloc Ps2Key[3];
        int n = 0;
        if (Ctrl)
        {
            held[n++] = Ps2Key.LeftCtrl;
        }

        if (Alt)
        {
            held[n++] = Ps2Key.LeftAlt;
        }

        if (Shift)
        {
            held[n++] = Ps2Key.LeftShift;
        }

        foreach (Ps2Key modifier in held[..n])
        {
            keyboard.KeyDown(modifier);
        }

        keyboard.KeyDown(Key);
        keyboard.KeyUp(Key);
        for (int i = n - 1; i >= 0; i--)
        {
            keyboard.KeyUp(held[i]);
        }
    }
}
