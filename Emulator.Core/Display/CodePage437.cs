namespace Emulator.Core.Display;

/// <summary>
/// The characters of the PC's code page 437 in Unicode: what a text-mode screen shows for each byte,
/// including the glyphs the VGA font draws for 0x01-0x1F and 0x7F and the box drawing of 0xB0-0xDF.
/// </summary>
public static class CodePage437
{
    // Bytes 0x80-0xFF.
    private const string HighHalf =
        "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

    // Bytes 0x00-0x1F (0x00 is a blank cell).
    private const string LowControls = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼";

    /// <summary>The Unicode character code page 437 shows for <paramref name="code"/>.</summary>
    public static char ToChar(byte code) => code switch
    {
        < 0x20 => LowControls[code],
        0x7f => '⌂',
        < 0x80 => (char)code,
        _ => HighHalf[code - 0x80],
    };
}
