namespace Emulator.Core.Input;

/// <summary>
/// The keys of a US 101/102-key PC keyboard, by position: what a host input backend presses and the
/// keyboard model (Devices/Input/Ps2Keyboard) turns into scan codes.
/// </summary>
public enum Ps2Key
{
    /// <summary>Esc.</summary>
    Escape,
#pragma warning disable CS1591 // The names are the keycaps.
    D1, D2, D3, D4, D5, D6, D7, D8, D9, D0, Minus, Equals, Backspace,
    Tab, Q, W, E, R, T, Y, U, I, O, P, LeftBracket, RightBracket, Enter,
    LeftCtrl, A, S, D, F, G, H, J, K, L, Semicolon, Apostrophe, Grave,
    LeftShift, Backslash, Z, X, C, V, B, N, M, Comma, Period, Slash, RightShift,
    KeypadMultiply, LeftAlt, Space, CapsLock,
    F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12,
    NumLock, ScrollLock,
    Keypad7, Keypad8, Keypad9, KeypadMinus, Keypad4, Keypad5, Keypad6, KeypadPlus, Keypad1, Keypad2, Keypad3, Keypad0, KeypadPeriod,
    NonUsBackslash,
    KeypadEnter, RightCtrl, KeypadDivide, RightAlt,
    Home, Up, PageUp, Left, Right, End, Down, PageDown, Insert, Delete,
    LeftGui, RightGui, Apps,
#pragma warning restore CS1591
}
