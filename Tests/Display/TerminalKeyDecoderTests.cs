using System.Text;
using Emulator.Backends.Display;
using Emulator.Core.Input;
using Xunit;

namespace Emulator.Tests.Display;

/// <summary>
/// What terminals send for keys, from xterm's "Xterm Control Sequences" (PC-Style Function Keys,
/// the modifier parameter 1 + Shift 1 + Alt 2 + Ctrl 4), the VT220's editing-keypad numbers, the
/// Linux console's F1-F5 (console_codes(4)), and ASCII's control characters.
/// </summary>
public sealed class TerminalKeyDecoderTests
{
    [Theory]
    [InlineData("\e[A", Ps2Key.Up, false, false, false)]
    [InlineData("\eOB", Ps2Key.Down, false, false, false)]
    [InlineData("\e[C", Ps2Key.Right, false, false, false)]
    [InlineData("\eOD", Ps2Key.Left, false, false, false)]
    [InlineData("\e[H", Ps2Key.Home, false, false, false)]
    [InlineData("\e[4~", Ps2Key.End, false, false, false)]
    [InlineData("\e[5~", Ps2Key.PageUp, false, false, false)]
    [InlineData("\e[6~", Ps2Key.PageDown, false, false, false)]
    [InlineData("\e[2~", Ps2Key.Insert, false, false, false)]
    [InlineData("\e[3~", Ps2Key.Delete, false, false, false)]
    [InlineData("\eOP", Ps2Key.F1, false, false, false)]
    [InlineData("\eOS", Ps2Key.F4, false, false, false)]
    [InlineData("\e[15~", Ps2Key.F5, false, false, false)]
    [InlineData("\e[17~", Ps2Key.F6, false, false, false)]
    [InlineData("\e[21~", Ps2Key.F10, false, false, false)]
    [InlineData("\e[24~", Ps2Key.F12, false, false, false)]
    [InlineData("\e[[C", Ps2Key.F3, false, false, false)]
    [InlineData("\e[1;5C", Ps2Key.Right, false, true, false)]
    [InlineData("\e[1;2A", Ps2Key.Up, true, false, false)]
    [InlineData("\e[5;3~", Ps2Key.PageUp, false, false, true)]
    [InlineData("\e[Z", Ps2Key.Tab, true, false, false)]
    [InlineData("\u0003", Ps2Key.C, false, true, false)]
    [InlineData("\u001a", Ps2Key.Z, false, true, false)]
    [InlineData("\u007f", Ps2Key.Backspace, false, false, false)]
    [InlineData("\r", Ps2Key.Enter, false, false, false)]
    [InlineData("\t", Ps2Key.Tab, false, false, false)]
    [InlineData("a", Ps2Key.A, false, false, false)]
    [InlineData("A", Ps2Key.A, true, false, false)]
    [InlineData("!", Ps2Key.D1, true, false, false)]
    [InlineData("/", Ps2Key.Slash, false, false, false)]
    [InlineData("~", Ps2Key.Grave, true, false, false)]
    [InlineData("\ex", Ps2Key.X, false, false, true)]
    public void OneKey(string sent, Ps2Key key, bool shift, bool ctrl, bool alt)
    {
        Assert.Equal([new KeyStroke(key, shift, ctrl, alt)], Decode(sent, flush: false));
    }

    [Fact]
    public void LoneEscapeIsTheEscKeyOnlyAfterTheTimeout()
    {
        var decoder = new TerminalKeyDecoder();
        var strokes = new List<KeyStroke>();
        decoder.Feed(0x1b, strokes);
        Assert.Empty(strokes);
        Assert.True(decoder.Pending);
        decoder.Flush(strokes);
        Assert.Equal([new KeyStroke(Ps2Key.Escape)], strokes);
        Assert.False(decoder.Pending);
    }

    [Fact]
    public void KeysArrivingTogetherAreEachDecoded()
    {
        Assert.Equal(
            [new KeyStroke(Ps2Key.Escape), new KeyStroke(Ps2Key.Up), new KeyStroke(Ps2Key.Q), new KeyStroke(Ps2Key.F11)],
            Decode("\e\e[Aq\e[23~", flush: false));
    }

    [Fact]
    public void UnknownSequencesAreDropped()
    {
        Assert.Equal([new KeyStroke(Ps2Key.B)], Decode("\e[99~\e[1;5Yb", flush: false));
    }

    private static List<KeyStroke> Decode(string sent, bool flush)
    {
        var decoder = new TerminalKeyDecoder();
        var strokes = new List<KeyStroke>();
        foreach (byte b in Encoding.ASCII.GetBytes(sent))
        {
            decoder.Feed(b, strokes);
        }

        if (flush)
        {
            decoder.Flush(strokes);
        }

        return strokes;
    }
}
