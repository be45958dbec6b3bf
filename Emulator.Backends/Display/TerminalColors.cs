namespace Emulator.Backends.Display;

/// <summary>
/// Turns the colors a text screen shows (0xRRGGBB, from the adapter's palette) into SGR parameters
/// for a terminal. A 16-color terminal gets the nearest of the PC's 16 text colors as the IBM VGA's
/// default palette defines them (black, blue 0000AAh, ..., brown AA5500h, ..., white FFFFFFh),
/// sent as ECMA-48's 30-37/40-47 and the bright 90-97/100-107: an unchanged palette maps each color
/// to itself, and a guest that reprograms the palette (a DOS program fading the screen, a theme)
/// gets the closest color the terminal has. A 256-color terminal (TERM containing "256color") gets
/// the same 16 colors when a color is exactly one of them, so that the user's terminal theme
/// still applies, and otherwise the nearest entry of xterm's 6x6x6 cube or gray ramp (indices
/// 16-255, whose RGB values xterm fixes) as 38;5;N and 48;5;N.
/// </summary>
public sealed class TerminalColors
{
    // The PC's 16 text colors in IRGB order (1 blue, 2 green, 4 red, 8 bright), 8 bits per component.
    private static readonly uint[] PcColors =
    [
        0x000000, 0x0000aa, 0x00aa00, 0x00aaaa, 0xaa0000, 0xaa00aa, 0xaa5500, 0xaaaaaa,
        0x555555, 0x5555ff, 0x55ff55, 0x55ffff, 0xff5555, 0xff55ff, 0xffff55, 0xffffff,
    ];

    // ANSI color numbers (black, red, green, yellow, blue, magenta, cyan, white) of the IRGB colors 0-7.
    private static readonly int[] AnsiOfIrgb = [0, 4, 2, 6, 1, 5, 3, 7];

    // xterm's 256-color palette: the 6 levels of its color cube and its 24 grays (8 + 10k).
    private static readonly int[] CubeLevels = [0, 0x5f, 0x87, 0xaf, 0xd7, 0xff];

    private readonly Dictionary<(uint, bool), string> _cache = [];

    /// <summary>Colors for a terminal that has 16 colors, or 256 when <paramref name="has256"/>.</summary>
    public TerminalColors(bool has256) => Has256 = has256;

    /// <summary>True when 38;5 and 48;5 are used.</summary>
    public bool Has256 { get; }

    /// <summary>True when the TERM value <paramref name="term"/> names a 256-color terminal (xterm-256color, screen-256color...).</summary>
    public static bool TermHas256Colors(string? term) => term?.Contains("256color", StringComparison.Ordinal) == true;

    /// <summary>The index 0-15 (IRGB) of the PC text color nearest to <paramref name="rgb"/>.</summary>
    public static int NearestPcColor(uint rgb) => Nearest(rgb, PcColors, 0);

    /// <summary>The SGR parameters that set <paramref name="foreground"/> and <paramref name="background"/>.</summary>
    public string Sgr(uint foreground, uint background) => $"{Parameter(foreground, false)};{Parameter(background, true)}";

    private string Parameter(uint rgb, bool background)
    {
        if (_cache.TryGetValue((rgb, background), out string? sgr))
        {
            return sgr;
        }

        int exact = Array.IndexOf(PcColors, rgb & 0xffffff);
        if (Has256 && exact < 0)
        {
            sgr = $"{(background ? 48 : 38)};5;{Nearest256(rgb)}";
        }
        else
        {
            int pc = exact >= 0 ? exact : NearestPcColor(rgb);
            int bright = pc >= 8 ? 60 : 0;
            sgr = ((background ? 40 : 30) + bright + AnsiOfIrgb[pc & 7]).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (_cache.Count < 4096)
        {
            _cache[(rgb, background)] = sgr;
        }

        return sgr;
    }

    // The xterm index 16-255 nearest to rgb.
    private static int Nearest256(uint rgb)
    {
        Span<uint> candidates = stackalloc uint[240];
        for (int i = 0; i < 216; i++)
        {
            candidates[i] = (uint)((CubeLevels[i / 36] << 16) | (CubeLevels[(i / 6) % 6] << 8) | CubeLevels[i % 6]);
        }

        for (int k = 0; k < 24; k++)
        {
            uint g = (uint)(8 + (10 * k));
            candidates[216 + k] = (g << 16) | (g << 8) | g;
        }

        return Nearest(rgb, candidates, 16);
    }

    // The index (plus first) of the candidate at the least squared distance from rgb; the first on a tie.
    private static int Nearest(uint rgb, ReadOnlySpan<uint> candidates, int first)
    {
        int best = 0;
        long bestDistance = long.MaxValue;
        for (int i = 0; i < candidates.Length; i++)
        {
            long dr = (int)((rgb >> 16) & 0xff) - (int)((candidates[i] >> 16) & 0xff);
            long dg = (int)((rgb >> 8) & 0xff) - (int)((candidates[i] >> 8) & 0xff);
            long db = (int)(rgb & 0xff) - (int)(candidates[i] & 0xff);
            long d = (dr * dr) + (dg * dg) + (db * db);
            if (d < bestDistance)
            {
                (best, bestDistance) = (i, d);
            }
        }

        return best + first;
    }
}
