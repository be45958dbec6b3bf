using Emulator.Core.Input;

namespace Emulator.Devices.Input;

/// <summary>
/// Scan code sets 1 and 2 of the PC keyboard (Microsoft, "Keyboard Scan Code Specification",
/// Appendix A) and the i8042's translation of set 2 into set 1, which follows from them: the
/// controller maps every set 2 code to the set 1 code of the same key. PrintScreen and Pause, whose
/// sequences are not make/break pairs, are not in the table.
/// </summary>
public static class Ps2Scancodes
{
    /// <summary>The prefix of extended keys in both sets.</summary>
    public const byte Extended = 0xE0;

    /// <summary>The set 2 break prefix.</summary>
    public const byte Set2Break = 0xF0;

    /// <summary>The set 1 break bit.</summary>
    public const byte Set1Break = 0x80;

    // (key, set 1 code, set 2 code, E0-prefixed)
    private static readonly (Ps2Key Key, byte Set1, byte Set2, bool Extended)[] Keys =
    [
        (Ps2Key.Escape, 0x01, 0x76, false),
        (Ps2Key.D1, 0x02, 0x16, false), (Ps2Key.D2, 0x03, 0x1E, false), (Ps2Key.D3, 0x04, 0x26, false),
        (Ps2Key.D4, 0x05, 0x25, false), (Ps2Key.D5, 0x06, 0x2E, false), (Ps2Key.D6, 0x07, 0x36, false),
        (Ps2Key.D7, 0x08, 0x3D, false), (Ps2Key.D8, 0x09, 0x3E, false), (Ps2Key.D9, 0x0A, 0x46, false),
        (Ps2Key.D0, 0x0B, 0x45, false), (Ps2Key.Minus, 0x0C, 0x4E, false), (Ps2Key.Equals, 0x0D, 0x55, false),
        (Ps2Key.Backspace, 0x0E, 0x66, false), (Ps2Key.Tab, 0x0F, 0x0D, false),
        (Ps2Key.Q, 0x10, 0x15, false), (Ps2Key.W, 0x11, 0x1D, false), (Ps2Key.E, 0x12, 0x24, false),
        (Ps2Key.R, 0x13, 0x2D, false), (Ps2Key.T, 0x14, 0x2C, false), (Ps2Key.Y, 0x15, 0x35, false),
        (Ps2Key.U, 0x16, 0x3C, false), (Ps2Key.I, 0x17, 0x43, false), (Ps2Key.O, 0x18, 0x44, false),
        (Ps2Key.P, 0x19, 0x4D, false), (Ps2Key.LeftBracket, 0x1A, 0x54, false), (Ps2Key.RightBracket, 0x1B, 0x5B, false),
        (Ps2Key.Enter, 0x1C, 0x5A, false), (Ps2Key.LeftCtrl, 0x1D, 0x14, false),
        (Ps2Key.A, 0x1E, 0x1C, false), (Ps2Key.S, 0x1F, 0x1B, false), (Ps2Key.D, 0x20, 0x23, false),
        (Ps2Key.F, 0x21, 0x2B, false), (Ps2Key.G, 0x22, 0x34, false), (Ps2Key.H, 0x23, 0x33, false),
        (Ps2Key.J, 0x24, 0x3B, false), (Ps2Key.K, 0x25, 0x42, false), (Ps2Key.L, 0x26, 0x4B, false),
        (Ps2Key.Semicolon, 0x27, 0x4C, false), (Ps2Key.Apostrophe, 0x28, 0x52, false), (Ps2Key.Grave, 0x29, 0x0E, false),
        (Ps2Key.LeftShift, 0x2A, 0x12, false), (Ps2Key.Backslash, 0x2B, 0x5D, false),
        (Ps2Key.Z, 0x2C, 0x1A, false), (Ps2Key.X, 0x2D, 0x22, false), (Ps2Key.C, 0x2E, 0x21, false),
        (Ps2Key.V, 0x2F, 0x2A, false), (Ps2Key.B, 0x30, 0x32, false), (Ps2Key.N, 0x31, 0x31, false),
        (Ps2Key.M, 0x32, 0x3A, false), (Ps2Key.Comma, 0x33, 0x41, false), (Ps2Key.Period, 0x34, 0x49, false),
        (Ps2Key.Slash, 0x35, 0x4A, false), (Ps2Key.RightShift, 0x36, 0x59, false),
        (Ps2Key.KeypadMultiply, 0x37, 0x7C, false), (Ps2Key.LeftAlt, 0x38, 0x11, false),
        (Ps2Key.Space, 0x39, 0x29, false), (Ps2Key.CapsLock, 0x3A, 0x58, false),
        (Ps2Key.F1, 0x3B, 0x05, false), (Ps2Key.F2, 0x3C, 0x06, false), (Ps2Key.F3, 0x3D, 0x04, false),
        (Ps2Key.F4, 0x3E, 0x0C, false), (Ps2Key.F5, 0x3F, 0x03, false), (Ps2Key.F6, 0x40, 0x0B, false),
        (Ps2Key.F7, 0x41, 0x83, false), (Ps2Key.F8, 0x42, 0x0A, false), (Ps2Key.F9, 0x43, 0x01, false),
        (Ps2Key.F10, 0x44, 0x09, false), (Ps2Key.F11, 0x57, 0x78, false), (Ps2Key.F12, 0x58, 0x07, false),
        (Ps2Key.NumLock, 0x45, 0x77, false), (Ps2Key.ScrollLock, 0x46, 0x7E, false),
        (Ps2Key.Keypad7, 0x47, 0x6C, false), (Ps2Key.Keypad8, 0x48, 0x75, false), (Ps2Key.Keypad9, 0x49, 0x7D, false),
        (Ps2Key.KeypadMinus, 0x4A, 0x7B, false), (Ps2Key.Keypad4, 0x4B, 0x6B, false), (Ps2Key.Keypad5, 0x4C, 0x73, false),
        (Ps2Key.Keypad6, 0x4D, 0x74, false), (Ps2Key.KeypadPlus, 0x4E, 0x79, false), (Ps2Key.Keypad1, 0x4F, 0x69, false),
        (Ps2Key.Keypad2, 0x50, 0x72, false), (Ps2Key.Keypad3, 0x51, 0x7A, false), (Ps2Key.Keypad0, 0x52, 0x70, false),
        (Ps2Key.KeypadPeriod, 0x53, 0x71, false), (Ps2Key.NonUsBackslash, 0x56, 0x61, false),
        (Ps2Key.KeypadEnter, 0x1C, 0x5A, true), (Ps2Key.RightCtrl, 0x1D, 0x14, true),
        (Ps2Key.KeypadDivide, 0x35, 0x4A, true), (Ps2Key.RightAlt, 0x38, 0x11, true),
        (Ps2Key.Home, 0x47, 0x6C, true), (Ps2Key.Up, 0x48, 0x75, true), (Ps2Key.PageUp, 0x49, 0x7D, true),
        (Ps2Key.Left, 0x4B, 0x6B, true), (Ps2Key.Right, 0x4D, 0x74, true), (Ps2Key.End, 0x4F, 0x69, true),
        (Ps2Key.Down, 0x50, 0x72, true), (Ps2Key.PageDown, 0x51, 0x7A, true), (Ps2Key.Insert, 0x52, 0x70, true),
        (Ps2Key.Delete, 0x53, 0x71, true), (Ps2Key.LeftGui, 0x5B, 0x1F, true), (Ps2Key.RightGui, 0x5C, 0x27, true),
        (Ps2Key.Apps, 0x5D, 0x2F, true),
    ];

    private static readonly byte[] Set2ToSet1 = BuildTranslation();

    /// <summary>The make code of <paramref name="key"/> in set 1 or 2, prefix first.</summary>
    public static byte[] Make(Ps2Key key, int set)
    {
        var (_, set1, set2, extended) = Entry(key);
        byte code = set == 1 ? set1 : set2;
        return extended ? [Extended, code] : [code];
    }

    /// <summary>The break code of <paramref name="key"/> in set 1 (make | 0x80) or set 2 (0xF0 before the code).</summary>
    public static byte[] Break(Ps2Key key, int set)
    {
        var (_, set1, set2, extended) = Entry(key);
        if (set == 1)
        {
            byte code = (byte)(set1 | Set1Break);
            return extended ? [Extended, code] : [code];
        }

        return extended ? [Extended, Set2Break, set2] : [Set2Break, set2];
    }

    /// <summary>
    /// The i8042's translation of one set 2 byte (not the 0xF0 prefix, which the controller folds into
    /// the next byte as bit 7). Codes of no key are passed unchanged, but for the set 2 overrun code
    /// 0x00, which becomes set 1's 0xFF.
    /// </summary>
    public static byte Translate(byte set2) => Set2ToSet1[set2];

    private static (Ps2Key Key, byte Set1, byte Set2, bool Extended) Entry(Ps2Key key)
    {
        foreach (var entry in Keys)
        {
            if (entry.Key == key)
            {
                return entry;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(key), key, "not a key of the table");
    }

    private static byte[] BuildTranslation()
    {
        var table = new byte[256];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = (byte)i;
        }

        foreach (var (_, set1, set2, _) in Keys)
        {
            table[set2] = set1;
        }

        table[0x00] = 0xFF;
        return table;
    }
}
