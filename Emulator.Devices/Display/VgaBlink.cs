namespace Emulator.Devices.Display;

/// <summary>
/// The attribute controller's blinking, counted in vertical retraces (frames). The IBM VGA
/// Technical Reference: the cursor blinks every 16 frames (8 shown, 8 hidden) and characters whose
/// attribute bit 7 is set blink every 32 frames (16 shown, 16 hidden) while Attribute Mode Control
/// (AC10) bit 3 is set; then bit 7 no longer brightens the background, which takes bits 6:4 only.
/// Frame 0 is the shown phase of both, the one emu's PNG dumps draw.
/// </summary>
public static class VgaBlink
{
    /// <summary>The frame PNG dumps and screendumps draw: the cursor and blinking characters shown.</summary>
    public const int ShownFrame = 0;

    /// <summary>True while AC10 bit 3 makes attribute bit 7 blink instead of brightening the background.</summary>
    public static bool Enabled(Vga vga) => (vga.Attribute[0x10] & 0x08) != 0;

    /// <summary>True when the cursor is drawn in frame <paramref name="frame"/> (a 16-frame cycle).</summary>
    public static bool CursorShown(int frame) => (frame & 8) == 0;

    /// <summary>True when blinking characters show their foreground in frame <paramref name="frame"/> (a 32-frame cycle).</summary>
    public static bool CharactersShown(int frame) => (frame & 16) == 0;

    /// <summary>The 4-bit background color of <paramref name="attribute"/>: bits 7:4, or 6:4 with blinking enabled.</summary>
    public static int Background(byte attribute, bool enabled) => enabled ? (attribute >> 4) & 7 : attribute >> 4;

    /// <summary>True when <paramref name="attribute"/> blinks (bit 7 with blinking enabled).</summary>
    public static bool Blinks(byte attribute, bool enabled) => enabled && (attribute & 0x80) != 0;
}
