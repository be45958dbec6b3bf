using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Emulator.Machines.Smbios;

/// <summary>
/// Parses one <c>--smbios</c> value, QEMU's syntax: <c>type=0,vendor=..,version=..,date=..,release=M.N</c>
/// or <c>type=1,manufacturer=..,product=..,version=..,serial=..,uuid=..,sku=..,family=..</c>; a comma
/// inside a value is written twice. Values are checked against what SMBIOS can hold (DSP0134 6.1.3:
/// strings of printable ASCII, at most 64 characters; 7.1: the date as mm/dd/yyyy; 7.2: a UUID).
/// </summary>
public static partial class SmbiosOption
{
    private const int MaxStringLength = 64;

    /// <summary>Applies <paramref name="spec"/> to <paramref name="settings"/>.</summary>
    /// <exception cref="FormatException">What is wrong with <paramref name="spec"/>, in one line.</exception>
    public static SmbiosSettings Apply(SmbiosSettings settings, string spec)
    {
        List<(string Key, string Value)> pairs = Split(spec);
        if (pairs.Count == 0 || pairs[0].Key != "type")
        {
            throw new FormatException("expected type=0 or type=1 first");
        }

        string type = pairs[0].Value;
        IEnumerable<(string Key, string Value)> fields = pairs.Skip(1);
        if (!fields.Any())
        {
            throw new FormatException($"type={type} sets no field");
        }

        return type switch
        {
            "0" => fields.Aggregate(settings, ApplyBiosField),
            "1" => fields.Aggregate(settings, ApplySystemField),
            _ => throw new FormatException($"type={type}: only type=0 (BIOS) and type=1 (system) can be set"),
        };
    }

    /// <summary>
    /// The values that give <paramref name="settings"/> when applied in order to the defaults (none
    /// for the defaults themselves): one for type 0 and one for type 1, each with the fields set.
    /// </summary>
    public static IReadOnlyList<string> Specs(SmbiosSettings settings)
    {
        static string Field(string key, string? value) => value is null ? string.Empty : $",{key}={value.Replace(",", ",,", StringComparison.Ordinal)}";

        string bios = Field("vendor", settings.BiosVendor) + Field("version", settings.BiosVersion) + Field("date", settings.BiosDate)
            + Field("release", settings.BiosRelease is (byte major, byte minor) ? string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}") : null);
        string system = Field("manufacturer", settings.Manufacturer) + Field("product", settings.Product) + Field("version", settings.Version)
            + Field("serial", settings.Serial) + Field("uuid", settings.Uuid?.ToString("D", CultureInfo.InvariantCulture))
            + Field("sku", settings.Sku) + Field("family", settings.Family);
        return [.. new[] { ("0", bios), ("1", system) }.Where(t => t.Item2.Length > 0).Select(t => $"type={t.Item1}{t.Item2}")];
    }

    private static SmbiosSettings ApplyBiosField(SmbiosSettings s, (string Key, string Value) f) => f.Key switch
    {
        "vendor" => s with { BiosVendor = Text(f) },
        "version" => s with { BiosVersion = Text(f) },
        "date" => s with { BiosDate = DateRegex().IsMatch(f.Value) ? f.Value : throw new FormatException($"date={f.Value} is not mm/dd/yyyy") },
        "release" => s with { BiosRelease = Release(f.Value) },
        _ => throw new FormatException($"type=0 has no field '{f.Key}' (vendor, version, date, release)"),
    };

    private static SmbiosSettings ApplySystemField(SmbiosSettings s, (string Key, string Value) f) => f.Key switch
    {
        "manufacturer" => s with { Manufacturer = Text(f) },
        "product" => s with { Product = Text(f) },
        "version" => s with { Version = Text(f) },
        "serial" => s with { Serial = Text(f) },
        "sku" => s with { Sku = Text(f) },
        "family" => s with { Family = Text(f) },
        "uuid" => s with { Uuid = UuidRegex().IsMatch(f.Value) ? Guid.Parse(f.Value, CultureInfo.InvariantCulture) : throw new FormatException($"uuid={f.Value} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)") },
        _ => throw new FormatException($"type=1 has no field '{f.Key}' (manufacturer, product, version, serial, uuid, sku, family)"),
    };

    private static string Text((string Key, string Value) f)
    {
        if (f.Value.Length == 0 || f.Value.Length > MaxStringLength || f.Value.Any(c => c is < ' ' or > '~'))
        {
            throw new FormatException($"{f.Key}= must be 1 to {MaxStringLength} printable ASCII characters");
        }

        return f.Value;
    }

    private static (byte, byte) Release(string value)
    {
        string[] parts = value.Split('.');
        return parts.Length == 2 && byte.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out byte major)
            && byte.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out byte minor)
            ? (major, minor)
            : throw new FormatException($"release={value} is not MAJOR.MINOR (0-255 each)");
    }

    // key=value pairs split at single commas; ",," is a comma inside a value.
    private static List<(string Key, string Value)> Split(string spec)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        for (int i = 0; i < spec.Length; i++)
        {
            if (spec[i] != ',')
            {
                current.Append(spec[i]);
            }
            else if (i + 1 < spec.Length && spec[i + 1] == ',')
            {
                current.Append(',');
                i++;
            }
            else
            {
                parts.Add(current.ToString());
                current.Clear();
            }
        }

        parts.Add(current.ToString());
        return [.. parts.Select(p => p.IndexOf('=', StringComparison.Ordinal) is int eq and > 0
            ? (p[..eq], p[(eq + 1)..])
            : throw new FormatException($"'{p}' is not KEY=VALUE"))];
    }

    [GeneratedRegex(@"^[0-9]{2}/[0-9]{2}/[0-9]{4}$")]
    private static partial Regex DateRegex();

    [GeneratedRegex(@"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    private static partial Regex UuidRegex();
}
