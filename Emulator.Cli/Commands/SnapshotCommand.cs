using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Control.Qmp;
using Emulator.Core.Snapshots;
using Emulator.Machines.Snapshots;

namespace Emulator.Cli.Commands;

/// <summary>
/// `emu snapshot save GUEST NAME|FILE` asks a running emu (through its control socket, as `emu perf`
/// does) to write a snapshot (x-emu-snapshot-save); `emu snapshot info NAME|FILE` checks a snapshot
/// whole and describes its machine and sections.
/// </summary>
internal static class SnapshotCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Execute(SnapshotOptions o)
    {
        string[] args = [.. o.Arguments];
        return (o.Action, args.Length) switch
        {
            ("save", 2) => Save(args[0], args[1], o.Json),
            ("info", 1) => Info(args[0], o.Json),
            ("save", _) => throw new UsageException("snapshot save: expects GUEST NAME|FILE"),
            ("info", _) => throw new UsageException("snapshot info: expects NAME|FILE"),
            _ => throw new UsageException($"snapshot {o.Action}: unknown action (expected save or info)"),
        };
    }

    private static int Save(string guest, string target, bool json)
    {
        string path;
        try
        {
            // Resolved here: the guest's emu may run in another directory, with another environment.
            path = SnapshotStore.ResolveForWriting(target);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"snapshot save {target}: {e.Message}", e);
        }

        using QmpClient client = GuestConnection.Open(guest, TimeSpan.FromMinutes(10));
        JsonNode result;
        try
        {
            result = client.Execute("x-emu-snapshot-save", new JsonObject { ["file"] = path });
        }
        catch (QmpException e)
        {
            Console.Error.WriteLine($"emu: {guest}: {e.Message}");
            return 1;
        }

        if (json)
        {
            Console.WriteLine(result.ToJsonString(Indented));
            return 0;
        }

        long bytes = result["bytes"]!.GetValue<long>();
        ulong pages = result["ram-pages"]!.GetValue<ulong>();
        ulong zero = result["zero-pages"]!.GetValue<ulong>();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"emu: saved {guest} to {result["file"]} ({bytes / 1048576.0:0.0} MiB; RAM: {pages - zero} of {pages} pages stored, {zero} all zeros; guest paused {result["paused-ms"]} ms)"));
        return 0;
    }

    private static int Info(string nameOrFile, bool json)
    {
        string path = SnapshotStore.Resolve(nameOrFile);
        using SnapshotReader snapshot = SnapshotReader.Open(path);
        SnapshotSection machineSection = snapshot.Get("machine");
        JsonNode machine;
        try
        {
            machine = JsonNode.Parse(snapshot.Read(machineSection)) ?? new JsonObject();
        }
        catch (JsonException e)
        {
            throw snapshot.Fail($"its machine description is malformed: {e.Message}", e);
        }

        if (json)
        {
            var info = new JsonObject
            {
                ["file"] = path,
                ["bytes"] = snapshot.Length,
                ["machine"] = machine,
                ["sections"] = new JsonArray([.. snapshot.Sections.Select(s => (JsonNode)new JsonObject
                {
                    ["name"] = s.Name,
                    ["version"] = s.Version,
                    ["encoding"] = s.Encoding.ToString().ToLowerInvariant(),
                    ["bytes"] = s.DecodedLength,
                    ["stored"] = s.StoredLength,
                })]),
            };
            Console.WriteLine(info.ToJsonString(Indented));
            return 0;
        }

        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"{path}: emu snapshot, format {SnapshotFormat.FormatVersion}, {snapshot.Length} bytes, every checksum matches\n");
        b.Append(CultureInfo.InvariantCulture, $"machine: {machine["memory"]!.GetValue<ulong>() >> 20} MiB, {machine["cpus"]} vCPU(s), saved under {machine["accelerator"]}, firmware {machine["firmware-name"]}\n");
        if (machine["kernel"] is JsonObject kernel)
        {
            b.Append(CultureInfo.InvariantCulture, $"kernel: {kernel["path"]} {string.Join(' ', kernel["initrd"]!.AsArray().Select(i => (string?)i))} \"{kernel["cmdline"]}\"\n");
        }

        foreach (JsonNode? d in machine["drives"]!.AsArray())
        {
            b.Append(CultureInfo.InvariantCulture, $"disk: {d!["path"]} ({d["interface"]}, {d["size"]} bytes)\n");
        }

        foreach (JsonNode? n in machine["nics"]!.AsArray())
        {
            b.Append(CultureInfo.InvariantCulture, $"nic: {n}\n");
        }

        foreach (SnapshotSection s in snapshot.Sections)
        {
            b.Append(CultureInfo.InvariantCulture, $"  {s.Name,-34} v{s.Version,-3} {s.Encoding.ToString().ToLowerInvariant(),-9} {s.DecodedLength,12} bytes, {s.StoredLength,10} stored\n");
        }

        Console.Write(b.ToString());
        return 0;
    }
}
