using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu info`.</summary>
[Verb("info", HelpText = "Show the host, the CPU backends and why one is unusable.")]
internal sealed class InfoOptions
{
}
