using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// The shape of a JSON value: its keys (recursively) and the types of the values, not the values.
/// Two replies have the same shape when a client written against one can read the other. An array's
/// shape is the set of its elements' shapes; an empty array fits any array.
/// </summary>
internal static class JsonShape
{
    /// <summary>Null when the shapes agree, else where they differ first (a JSON path and both sides).</summary>
    public static string? Difference(JsonNode? expected, JsonNode? actual, string path = "$")
    {
        string a = Kind(expected);
        string b = Kind(actual);
        if (a != b)
        {
            return $"{path}: {a} in QEMU's, {b} in emu's";
        }

        switch (expected)
        {
            case JsonObject eo:
            {
                var ao = (JsonObject)actual!;
                string[] ek = [.. eo.Select(p => p.Key).Order(StringComparer.Ordinal)];
                string[] ak = [.. ao.Select(p => p.Key).Order(StringComparer.Ordinal)];
                if (!ek.SequenceEqual(ak))
                {
                    return $"{path}: keys {{{string.Join(", ", ek)}}} in QEMU's, {{{string.Join(", ", ak)}}} in emu's";
                }

                foreach (string k in ek)
                {
                    if (Difference(eo[k], ao[k], $"{path}.{k}") is { } d)
                    {
                        return d;
                    }
                }

                return null;
            }

            case JsonArray ea:
            {
                var aa = (JsonArray)actual!;
                if (ea.Count == 0 || aa.Count == 0)
                {
                    return null;
                }

                // Every element on each side has the shape of some element on the other.
                foreach (JsonNode? x in aa)
                {
                    if (ea.All(y => Difference(y, x) is not null))
                    {
                        return $"{path}[]: emu's element {x?.ToJsonString()} has no counterpart in QEMU's {Shorten(ea)}";
                    }
                }

                foreach (JsonNode? y in ea)
                {
                    if (aa.All(x => Difference(y, x) is not null))
                    {
                        return $"{path}[]: QEMU's element {Shorten(y)} has no counterpart in emu's {Shorten(aa)}";
                    }
                }

                return null;
            }

            default:
                return null;
        }
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "null",
        },
        _ => "?",
    };

    private static string Shorten(JsonNode? node)
    {
        string s = node?.ToJsonString() ?? "null";
        return s.Length > 300 ? s[..300] + "..." : s;
    }
}
