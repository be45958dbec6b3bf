using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp.Commands;

/// <summary>
/// <c>human-monitor-command</c>: a few of the monitor's text commands, answered as a string (the
/// monitor answers unknown commands with a line of text too, not a QMP error). <c>info registers</c>
/// reads each vCPU's state on the vCPU's own thread, so it works on a running or a stopped VM.
/// </summary>
internal static class HumanMonitorCommand
{
    private const string SnapshotArgument = "one NAME or FILE (a NAME is kept in the snapshot directory)";

    private static readonly Dictionary<string, Func<QmpContext, string[], string>> Commands = new(StringComparer.Ordinal)
    {
        ["info registers"] = InfoRegisters,
        ["info status"] = (c, _) => $"VM status: {Status(c.Machine.RunState)}\r\n",
        ["info cpus"] = InfoCpus,
        ["info name"] = (c, _) => c.Instance.Name is { } n ? n + "\r\n" : string.Empty,
        ["info version"] = (c, _) => $"{c.Instance.Version.ToString(3)} (emu)\r\n",
        ["info kvm"] = (c, _) => $"kvm support: {(c.Machine.AcceleratorKind == AcceleratorKind.Kvm ? "enabled" : "disabled")}\r\n",
        ["stop"] = (c, _) => Do(() => c.Machine.Stop(MachineRunState.Paused)),
        ["cont"] = (c, _) => Do(() => c.Machine.Continue()),
        ["c"] = (c, _) => Do(() => c.Machine.Continue()),
        ["system_reset"] = (c, _) => Do(c.Machine.ResetFromHost),
        ["system_powerdown"] = (c, _) => Do(c.Machine.PressPowerButton),
        ["quit"] = (c, _) => Do(() => c.Machine.Quit("host-qmp-quit")),
        ["q"] = (c, _) => Do(() => c.Machine.Quit("host-qmp-quit")),
        ["savevm"] = SaveVm,
        ["loadvm"] = LoadVm,
        ["screendump"] = Screendump,
    };

    public static void Register(QmpCommandTable table) => table.Add(
        "human-monitor-command",
        [new QmpParameter("command-line", JsonValueKind.String), new QmpParameter("cpu-index", JsonValueKind.Number, Optional: true)],
        (c, args) => Run(c, args["command-line"]!.GetValue<string>(), args["cpu-index"]?.GetValue<int>()));

    private static JsonNode Run(QmpContext c, string line, int? cpuIndex)
    {
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return JsonValue.Create(string.Empty);
        }

        // Two-word commands (info X) first, then one-word ones; the rest of the line are arguments.
        string[] args = cpuIndex is int cpu ? [.. words.Skip(2), cpu.ToString(CultureInfo.InvariantCulture)] : [.. words.Skip(2)];
        if (words.Length >= 2 && Commands.TryGetValue($"{words[0]} {words[1]}", out Func<QmpContext, string[], string>? two))
        {
            return JsonValue.Create(two(c, args));
        }

        if (Commands.TryGetValue(words[0], out Func<QmpContext, string[], string>? one))
        {
            return JsonValue.Create(one(c, [.. words.Skip(1)]));
        }

        return JsonValue.Create($"unknown command: '{line.Trim()}'\r\n");
    }

    // info registers [-a|N]: every vCPU with -a, vCPU N, else the first one (QMP has no "current" CPU).
    private static string InfoRegisters(QmpContext c, string[] args)
    {
        int count = c.Machine.VcpuCount;
        IEnumerable<int> which = args switch
        {
            ["-a"] => Enumerable.Range(0, count),
            [string n] when int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < count => [i],
            [] => [0],
            _ => [],
        };
        var b = new StringBuilder();
        foreach (int i in which)
        {
            b.Append(RegisterDump.Format(i, c.Machine.ReadVcpuState(i)));
        }

        return b.Length > 0 ? b.ToString() : $"invalid CPU: '{string.Join(' ', args)}'\r\n";
    }

    private static string InfoCpus(QmpContext c, string[] args)
    {
        var b = new StringBuilder();
        foreach (VcpuInfo v in c.Machine.DescribeVcpus())
        {
            b.Append(CultureInfo.InvariantCulture, $"{(v.Index == 0 ? '*' : ' ')} CPU #{v.Index}: thread_id={v.ThreadId} ({v.State})\r\n");
        }

        return b.ToString();
    }

    // savevm NAME|FILE: a snapshot file (x-emu-snapshot-save); like QEMU's monitor, nothing is printed on success.
    private static string SaveVm(QmpContext c, string[] args) =>
        FileCommand("savevm", args, SnapshotArgument, file => SnapshotCommands.Save(c.Machine, file));

    // loadvm NAME|FILE: x-emu-snapshot-load; QEMU's monitor prints nothing on success and "Error: ..." otherwise.
    private static string LoadVm(QmpContext c, string[] args) =>
        FileCommand("loadvm", args, SnapshotArgument, file => SnapshotCommands.Load(c.Machine, file));

    // A command of one argument: nothing printed when it worked, "Error: ..." when it did not.
    private static string FileCommand(string name, string[] args, string expects, Action<string> run)
    {
        if (args.Length != 1)
        {
            return $"{name}: expects {expects}\r\n";
        }

        try
        {
            run(args[0]);
            return string.Empty;
        }
        catch (QmpException e)
        {
            return $"Error: {e.Message}\r\n";
        }
    }

    // screendump FILE: the screen as a PPM (QMP screendump); QEMU's monitor prints nothing on success.
    private static string Screendump(QmpContext c, string[] args) =>
        FileCommand("screendump", args, "one FILE", file => DisplayCommands.Save(c, file, png: false));

    private static string Status(MachineRunState state) => state switch
    {
        MachineRunState.Running => "running",
        MachineRunState.Prelaunch => "paused (prelaunch)",
        MachineRunState.Debug => "paused (debug)",
        MachineRunState.Shutdown => "paused (shutdown)",
        MachineRunState.Suspended => "paused (suspended)",
        _ => "paused",
    };

    private static string Do(Action action)
    {
        action();
        return string.Empty;
    }
}
