using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu list`.</summary>
[Verb("list", HelpText = "List this user's running emu guests (name, pid, backend, vCPUs and their state, uptime).")]
internal sealed class ListOptions
{
    [Option("json", HelpText = "Print a JSON array instead of a table, for scripts.")]
    public bool Json { get; set; }
}
