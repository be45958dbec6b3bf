using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Control.Instances;

namespace Emulator.Cli.Commands;

/// <summary>
/// `emu list`: every running emu of this user, found through the per-user runtime directory where
/// each one registers its control socket; sockets of dead processes are removed on the way.
/// </summary>
internal static class ListCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Execute(ListOptions o)
    {
        List<InstanceInfo> instances;
        try
        {
            instances = InstanceRegistry.List();
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"emu: runtime directory {e.Message}");
            return Program.UsageStatus;
        }

        if (o.Json)
        {
            Console.WriteLine(new JsonArray([.. instances.Select(i => (JsonNode)i.ToJson())]).ToJsonString(Indented));
            return 0;
        }

        var rows = new List<string[]> { new[] { "NAME", "PID", "BACKEND", "STATUS", "VCPUS", "UPTIME", "SOCKET" } };
        rows.AddRange(instances.Select(i => new[]
        {
            i.Name ?? "-",
            i.Pid.ToString(CultureInfo.InvariantCulture),
            i.Backend,
            i.Status,
            Vcpus(i.Vcpus),
            Uptime(i.Uptime),
            i.Socket,
        }));
        int[] widths = [.. Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length))];
        foreach (string[] row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }

        return 0;
    }

    // "2: running, waiting": the count, then each vCPU's state in order.
    private static string Vcpus(IReadOnlyList<string> states) =>
        states.Count == 0 ? "-" : $"{states.Count}: {string.Join(',', states)}";

    private static string Uptime(TimeSpan t) => t.TotalHours >= 1
        ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}"
        : $"{t.Minutes}:{t.Seconds:00}";
}
