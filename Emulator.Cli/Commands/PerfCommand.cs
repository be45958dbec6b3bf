using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Control.Guest;
using Emulator.Control.Qmp;

namespace Emulator.Cli.Commands;

/// <summary>
/// `emu perf GUEST`: asks the guest's emu to sample its vCPUs (x-emu-profile) and prints a
/// `perf top`-like table: the hottest kernel functions by share of all samples, and the user-mode
/// share. Symbols are the kernel's own, found in guest memory by emu (or in the --kernel bzImage:
/// --kallsyms-from-kernel, and when memory has none), or --kallsyms FILE.
/// </summary>
internal static class PerfCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Execute(PerfOptions o)
    {
        if (o.Frequency is < 1 or > 10_000)
        {
            throw new UsageException($"--frequency {o.Frequency}: between 1 and 10000 samples per second");
        }

        if (o.Duration is <= 0 or > 600)
        {
            throw new UsageException($"--duration {o.Duration}: between 0 and 600 seconds");
        }

        if (o.Kallsyms is not null && o.KallsymsFromKernel)
        {
            throw new UsageException("--kallsyms and --kallsyms-from-kernel: give one source of symbols");
        }

        KernelSymbols? file = o.Kallsyms is null ? null : ReadSymbols(o.Kallsyms);
        using QmpClient client = GuestConnection.Open(o.Guest, TimeSpan.FromSeconds(o.Duration + 60));
        JsonNode profile;
        try
        {
            profile = client.Execute("x-emu-profile", new JsonObject
            {
                ["frequency"] = o.Frequency,
                ["duration-ms"] = (int)(o.Duration * 1000),
                ["kallsyms-source"] = o.KallsymsFromKernel ? "kernel" : "auto",
            });
        }
        catch (QmpException e)
        {
            Console.Error.WriteLine($"emu: {o.Guest}: {e.Message}");
            return 1;
        }

        // user, kernel and the stacks' counts are in sampling periods (a sample stands for the periods
        // since the look before, and for looks it answered late): shares are of their total, the sampled time.
        int taken = profile["samples"]!.GetValue<int>();
        int user = profile["user"]!.GetValue<int>();
        int samples = user + profile["kernel"]!.GetValue<int>();
        List<(string[] Functions, int Count)> stacks = [.. profile["kernel-stacks"]!.AsArray().Select(s => (Functions(s!, file), s!["count"]!.GetValue<int>()))];
        List<(string Function, int Count)> top = [.. stacks.GroupBy(s => s.Functions[0]).Select(g => (g.Key, g.Sum(s => s.Count))).OrderByDescending(f => f.Item2)];

        if (o.Folded is { } folded)
        {
            WriteFolded(folded, stacks, user);
        }

        if (o.Json)
        {
            var json = new JsonObject
            {
                ["samples"] = taken,
                ["ticks"] = profile["ticks"]?.DeepClone(),
                ["missed"] = profile["missed"]?.DeepClone(),
                ["user"] = user,
                ["kernel"] = samples - user,
                ["user-share"] = samples == 0 ? 0 : Math.Round(100.0 * user / samples, 2),
                ["kallsyms"] = file is null ? profile["kallsyms"]?.DeepClone() : o.Kallsyms,
                ["functions"] = new JsonArray([.. top.Select(f => (JsonNode)new JsonObject { ["function"] = f.Function, ["samples"] = f.Count, ["share"] = Math.Round(100.0 * f.Count / Math.Max(1, samples), 2) })]),
            };
            Console.WriteLine(json.ToJsonString(Indented));
            return 0;
        }

        double seconds = profile["elapsed-ms"]!.GetValue<long>() / 1000.0;
        Console.WriteLine($"emu perf {o.Guest}: {taken} samples at {o.Frequency} Hz over {seconds:0.0} s; symbols: {(file is null ? profile["kallsyms"]?.GetValue<string>() ?? "none (" + profile["kallsyms-error"]?.GetValue<string>() + ")" : o.Kallsyms)}");
        if (SamplingNote(profile, o.Frequency, seconds) is { } note)
        {
            Console.WriteLine($"  ({note})");
        }

        Console.WriteLine($"  {Share(user, samples),7}  [user]    user mode");
        foreach ((string function, int count) in top.Take(o.Top))
        {
            Console.WriteLine($"  {Share(count, samples),7}  [kernel]  {function}");
        }

        return 0;
    }

    private static string[] Functions(JsonNode stack, KernelSymbols? file)
    {
        JsonArray pcs = stack["pcs"]!.AsArray();
        JsonArray names = stack["functions"]!.AsArray();
        var result = new string[pcs.Count];
        for (int i = 0; i < pcs.Count; i++)
        {
            string hex = pcs[i]!.GetValue<string>();
            ulong pc = ulong.Parse(hex.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            result[i] = file is not null
                ? file.Lookup(pc)?.Symbol.Name ?? hex
                : names[i]?.GetValue<string>() ?? hex;
        }

        return result;
    }

    // Folded stacks: outermost frame first, ';' between frames, a space and the count.
    private static void WriteFolded(string path, List<(string[] Functions, int Count)> stacks, int user)
    {
        try
        {
            using var w = new StreamWriter(path);
            if (user > 0)
            {
                w.WriteLine($"[user] {user}");
            }

            foreach (IGrouping<string, (string[] Functions, int Count)> g in stacks.GroupBy(s => string.Join(';', s.Functions.Reverse())))
            {
                w.WriteLine($"{g.Key} {g.Sum(s => s.Count)}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--folded {path}: cannot write: {e.Message}", e);
        }
    }

    private static KernelSymbols ReadSymbols(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            KernelSymbols symbols = KernelSymbols.Parse(reader);
            return symbols.All.Count == 0
                ? throw new UsageException($"--kallsyms {path}: no 'ADDRESS TYPE NAME' lines (expected /proc/kallsyms or System.map)")
                : symbols;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--kallsyms {path}: cannot read: {e.Message}", e);
        }
    }

    // Says when the sampler took fewer looks than asked (the host fell behind) or a vCPU answered
    // some looks late (its next sample then counts for them): either is worth knowing when reading
    // the shares, which stay shares of time.
    private static string? SamplingNote(JsonNode profile, int frequency, double seconds)
    {
        int ticks = profile["ticks"]?.GetValue<int>() ?? 0;
        int missed = profile["missed"]?.GetValue<int>() ?? 0;
        long wanted = (long)Math.Round(frequency * seconds);
        var parts = new List<string>();
        if (ticks < wanted * 9 / 10)
        {
            parts.Add($"the sampler looked {ticks} times of the {wanted} asked: the host was busy; a late look counts for the periods it missed");
        }

        if (missed > 0)
        {
            parts.Add($"{missed} looks found a vCPU still answering the one before; its answer counts for them");
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private static string Share(int count, int total) => total == 0 ? "-" : $"{100.0 * count / total:0.00}%";
}
