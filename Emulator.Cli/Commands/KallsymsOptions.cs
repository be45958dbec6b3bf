using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu kallsyms`.</summary>
[Verb("kallsyms", HelpText = "Print a running Linux guest's kernel symbols, found in its memory (or its --kernel bzImage), as /proc/kallsyms does; or a bzImage's own with --kernel FILE.")]
internal sealed class KallsymsOptions
{
    [Value(0, MetaName = "GUEST", HelpText = "The guest: its --name or its pid (see `emu list`). Not with --kernel.")]
    public string? Guest { get; set; }

    [Option("name", HelpText = "Print only this symbol's line.")]
    public string? Name { get; set; }

    [Option("from-kernel", HelpText = "Take the symbols from the bzImage the guest was started with (--kernel), moved by the running kernel's KASLR offset, instead of from guest memory.")]
    public bool FromKernel { get; set; }

    [Option("kernel", HelpText = "Print the symbols of this bzImage at the addresses it was linked at (as its System.map lists them); no guest is needed.")]
    public string? Kernel { get; set; }
}
