using Emulator.Core.Input;

namespace Emulator.Backends.Display;

/// <summary>
/// Which key of a US keyboard types each printable ASCII character, and whether Shift is held for
/// it: what a terminal sends as a character has to be pressed as a key.
/// </summary>
internal static class UsKeyboardLayout
{
    // Unshifted and shifted characters of each key, in the order of the keycaps.
    private static readonly (Ps2Key Key, char Plain, char Shifted)[] Keys =
    [
        (Ps2Key.Grave, '`', '~'), (Ps2Key.D1, '1', '!'), (Ps2Key.D2, '2', '@'), (Ps2Key.D3, '3', '#'),
        (Ps2Key.D4, '4', '$'), (Ps2Key.D5, '5', '%'), (Ps2Key.D6, '6', '^'), (Ps2Key.D7, '7', '&'),
        (Ps2Key.D8, '8', '*'), (Ps2Key.D9, '9', '('), (Ps2Key.D0, '0', ')'), (Ps2Key.Minus, '-', '_'),
        (Ps2Key.Equals, '=', '+'), (Ps2Key.LeftBracket, '[', '{'), (Ps2Key.RightBracket, ']', '}'),
        (Ps2Key.Backslash, '\\', '|'), (Ps2Key.Semicolon, ';', ':'), (Ps2Key.Apostrophe, '\'', '"'),
        (Ps2Key.Comma, ',', '<'), (Ps2Key.Period, '.', '>'), (Ps2Key.Slash, '/', '?'), (Ps2Key.Space, ' ', ' '),
        (Ps2Key.A, 'a', 'A'), (Ps2Key.B, 'b', 'B'), (Ps2Key.C, 'c', 'C'), (Ps2Key.D, 'd', 'D'), (Ps2Key.E, 'e', 'E'),
        (Ps2Key.F, 'f', 'F'), (Ps2Key.G, 'g', 'G'), (Ps2Key.H, 'h', 'H'), (Ps2Key.I, 'i', 'I'), (Ps2Key.J, 'j', 'J'),
        (Ps2Key.K, 'k', 'K'), (Ps2Key.L, 'l', 'L'), (Ps2Key.M, 'm', 'M'), (Ps2Key.N, 'n', 'N'), (Ps2Key.O, 'o', 'O'),
        (Ps2Key.P, 'p', 'P'), (Ps2Key.Q, 'q', 'Q'), (Ps2Key.R, 'r', 'R'), (Ps2Key.S, 's', 'S'), (Ps2Key.T, 't', 'T'),
        (Ps2Key.U, 'u', 'U'), (Ps2Key.V, 'v', 'V'), (Ps2Key.W, 'w', 'W'), (Ps2Key.X, 'x', 'X'), (Ps2Key.Y, 'y', 'Y'),
        (Ps2Key.Z, 'z', 'Z'),
    ];

    private static readonly KeyStroke?[] Printable = Build();

    /// <summary>The stroke that types <paramref name="c"/>, or null when no key of the layout does.</summary>
    public static KeyStroke? For(char c) => c < Printable.Length ? Printable[c] : null;

    private static KeyStroke?[] Build()
    {
        var table = new KeyStroke?[0x7f];
        foreach (var (key, plain, shifted) in Keys)
        {
            table[shifted] = new KeyStroke(key, Shift: plain != shifted);
            table[plain] = new KeyStroke(key);
        }

        return table;
    }
}
