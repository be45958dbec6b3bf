using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu snapshot`.</summary>
[Verb("snapshot", HelpText = "Snapshots: `emu snapshot save GUEST NAME|FILE` saves a running guest (found by --name or pid, as `emu list` shows), `emu snapshot info NAME|FILE` checks a snapshot and describes it. `emu run --restore NAME|FILE` continues it. A NAME (no '/') lives in $XDG_DATA_HOME/emu/snapshots.")]
internal sealed class SnapshotOptions
{
    [Value(0, MetaName = "ACTION", Required = true, HelpText = "save or info.")]
    public string Action { get; set; } = string.Empty;

    [Value(1, MetaName = "ARGUMENTS", HelpText = "save: GUEST NAME|FILE; info: NAME|FILE.")]
    public IEnumerable<string> Arguments { get; set; } = [];

    [Option("json", HelpText = "Print the result as JSON.")]
    public bool Json { get; set; }
}
