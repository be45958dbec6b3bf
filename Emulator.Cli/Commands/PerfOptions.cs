using CommandLine;

namespace Emulator.Cli.Commands;

/// <summary>Options of `emu perf`.</summary>
[Verb("perf", HelpText = "Sample a running guest's vCPUs and print its hottest kernel functions and the user-mode share (symbols found in guest memory).")]
internal sealed class PerfOptions
{
    [Value(0, MetaName = "GUEST", Required = true, HelpText = "The guest: its --name or its pid (see `emu list`).")]
    public string Guest { get; set; } = string.Empty;

    [Option("frequency", Default = 1000, HelpText = "Samples per second per vCPU (1-10000).")]
    public int Frequency { get; set; } = 1000;

    [Option("duration", Default = 10.0, HelpText = "Seconds to sample.")]
    public double Duration { get; set; } = 10.0;

    [Option("top", Default = 20, HelpText = "Kernel functions to list.")]
    public int Top { get; set; } = 20;

    [Option("kallsyms", HelpText = "Symbols from this file (/proc/kallsyms or System.map format) instead of the ones found in guest memory.")]
    public string? Kallsyms { get; set; }

    [Option("kallsyms-from-kernel", HelpText = "Symbols from the bzImage the guest was started with (--kernel), moved by the running kernel's KASLR offset, instead of from guest memory (by default the bzImage is used only when guest memory has none).")]
    public bool KallsymsFromKernel { get; set; }

    [Option("folded", HelpText = "Also write folded stacks (flame-graph input: frames outermost first, ';'-separated, then a count) to this file.")]
    public string? Folded { get; set; }

    [Option("json", HelpText = "Print the result as JSON.")]
    public bool Json { get; set; }
}
