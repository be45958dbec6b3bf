using System.Globalization;

namespace Emulator.Cli;

/// <summary>Parsers for option values (sizes, ports), each failing with one line that names the option.</summary>
internal static class ValueParsers
{
    /// <summary>Parses a memory size: a number with an optional K, M, G or T suffix (binary units); no suffix means MiB, as in QEMU.</summary>
    public static ulong ParseMemorySize(string option, string text)
    {
        string s = text.Trim();
        if (s.Length == 0)
        {
            throw new UsageException($"{option}: empty size");
        }

        if (s.EndsWith("iB", StringComparison.OrdinalIgnoreCase))
        {
            s = s[..^2];
        }
        else if (s.Length > 1 && (s[^1] == 'B' || s[^1] == 'b') && char.IsLetter(s[^2]))
        {
            s = s[..^1];
        }

        int shift = 20;
        char last = s[^1];
        if (char.IsLetter(last))
        {
            shift = char.ToUpperInvariant(last) switch
            {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => throw new UsageException($"{option} {text}: unknown size suffix '{last}' (use K, M, G or T)"),
            };
            s = s[..^1];
        }

        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) || number == 0)
        {
            throw new UsageException($"{option} {text}: not a size (expected e.g. 512M or 2G)");
        }

        if (number > (ulong.MaxValue >> shift) || (number << shift) > (1UL << 40))
        {
            throw new UsageException($"{option} {text}: larger than the 1 TiB emu supports");
        }

        return number << shift;
    }

    /// <summary>Parses an I/O port number, decimal or 0x-prefixed hexadecimal.</summary>
    public static ushort ParsePort(string option, string text)
    {
        string s = text.Trim();
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint value)
            : uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok || value > 0xffff)
        {
            throw new UsageException($"{option} {text}: not an I/O port (0 to 0xffff)");
        }

        return (ushort)value;
    }
}
