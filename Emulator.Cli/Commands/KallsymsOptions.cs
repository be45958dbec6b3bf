using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu kallsyms`.</summary>
[Verb("kallsyms", HelpText = "Print a running Linux guest's kernel symbols, found in its memory, as /proc/kallsyms does.")]
internal sealed class KallsymsOptions
{
    [Value(0, MetaName = "GUEST", Required = true, HelpText = "The guest: its --name or its pid (see `emu list`).")]
    public string Guest { get; set; } = string.Empty;

    [Option("name", HelpText = "Print only this symbol's line.")]
    public string? Name { get; set; }
}
