using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Control.Guest;
using Emulator.Control.Profiling;

namespace Emulator.Control.Qmp.Commands;

/// <summary>
/// <c>x-emu-profile</c> (sample the vCPUs for a while; what <c>emu perf</c> asks) and
/// <c>x-emu-query-kallsyms</c> (the kernel symbols found in guest memory; <c>emu kallsyms</c>).
/// Both take <c>kallsyms-source</c>: <c>memory</c>, <c>kernel</c> (the --kernel bzImage's tables,
/// moved by KASLR's offset) or <c>auto</c> (the default: memory, else the bzImage).
/// Addresses are hexadecimal strings: JSON numbers lose precision above 2^53 in many clients.
/// A profile's <c>user</c>, <c>kernel</c> and stack <c>count</c>s are in sampling periods: a sample
/// stands for the periods since the look before and for the <c>missed</c> looks that found its
/// vCPU still answering (GuestSample.Periods), so their shares are shares of time; <c>samples</c> is
/// how many samples were taken, <c>ticks</c> how many looks.
/// </summary>
internal static class ProfileCommands
{
    private static readonly QmpParameter SourceParameter = new("kallsyms-source", JsonValueKind.String, Optional: true);

    public static void Register(QmpCommandTable table)
    {
        table.Add(
            "x-emu-profile",
            [new QmpParameter("frequency", JsonValueKind.Number, Optional: true), new QmpParameter("duration-ms", JsonValueKind.Number, Optional: true), new QmpParameter("unwind", JsonValueKind.True, Optional: true), SourceParameter],
            Profile);
        table.Add("x-emu-query-kallsyms", [new QmpParameter("name", JsonValueKind.String, Optional: true), SourceParameter], QueryKallsyms);
    }

    private static JsonNode Profile(QmpContext c, JsonObject args)
    {
        int frequency = args["frequency"]?.GetValue<int>() ?? 1000;
        int duration = args["duration-ms"]?.GetValue<int>() ?? 10_000;
        bool unwind = args["unwind"]?.GetValue<bool>() ?? true;
        if (frequency is < 1 or > 10_000)
        {
            throw new QmpException($"Parameter 'frequency' must be between 1 and 10000 Hz, not {frequency}");
        }

        if (duration is < 1 or > 600_000)
        {
            throw new QmpException($"Parameter 'duration-ms' must be between 1 and 600000, not {duration}");
        }

        KernelSymbols? symbols = c.Kernel.Get(Source(args), out string why, out string origin);
        GuestProfile profile = GuestSampler.Run(c.Machine, frequency, TimeSpan.FromMilliseconds(duration), symbols, unwind);
        int user = profile.Samples.Where(s => s.User).Sum(s => s.Periods);
        var stacks = profile.Samples.Where(s => !s.User)
            .GroupBy(s => string.Join(';', s.Pcs.Select(Hex)))
            .Select(g => (Pcs: g.First().Pcs, Periods: g.Sum(s => s.Periods)))
            .OrderByDescending(g => g.Periods)
            .Select(g => (JsonNode)new JsonObject
            {
                ["pcs"] = new JsonArray([.. g.Pcs.Select(p => (JsonNode)Hex(p))]),
                ["functions"] = new JsonArray([.. g.Pcs.Select(p => (JsonNode?)(symbols?.Lookup(p)?.Symbol.Name))]),
                ["count"] = g.Periods,
            });
        var result = new JsonObject
        {
            ["frequency"] = frequency,
            ["elapsed-ms"] = (long)profile.Elapsed.TotalMilliseconds,
            ["ticks"] = profile.Ticks,
            ["samples"] = profile.Samples.Count,
            ["missed"] = profile.Missed,
            ["user"] = user,
            ["kernel"] = profile.SampledPeriods - user,
            ["kallsyms"] = symbols is null ? null : origin,
            ["kernel-stacks"] = new JsonArray([.. stacks]),
        };
        if (symbols is null)
        {
            result["kallsyms-error"] = why;
        }

        return result;
    }

    private static JsonNode QueryKallsyms(QmpContext c, JsonObject args)
    {
        KernelSymbols symbols = c.Kernel.Get(Source(args), out string why, out string origin) ?? throw new QmpException($"no kernel symbols: {why}");
        if (args["name"]?.GetValue<string>() is { } name)
        {
            KernelSymbol s = symbols.All.FirstOrDefault(x => x.Name == name);
            return s.Name is null
                ? throw new QmpException($"no kernel symbol '{name}'")
                : new JsonObject { ["name"] = s.Name, ["address"] = Hex(s.Address), ["type"] = s.Type.ToString() };
        }

        var text = new StringWriter(CultureInfo.InvariantCulture);
        symbols.Write(text);
        return new JsonObject
        {
            ["source"] = origin,
            ["relative-base"] = Hex(symbols.RelativeBase),
            ["count"] = symbols.All.Count,
            ["symbols"] = text.ToString(),
        };
    }

    private static KallsymsSource Source(JsonObject args) => args["kallsyms-source"]?.GetValue<string>() switch
    {
        null or "auto" => KallsymsSource.Auto,
        "memory" => KallsymsSource.Memory,
        "kernel" => KallsymsSource.Kernel,
        string other => throw new QmpException($"Parameter 'kallsyms-source' must be 'auto', 'memory' or 'kernel', not '{other}'"),
    };

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
