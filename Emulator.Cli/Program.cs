using CommandLine;
using Emulator.Cli.Commands;
using Emulator.Core.Snapshots;
using Emulator.Machines;

namespace Emulator.Cli;

/// <summary>The `emu` command: verbs run, info, list, perf, kallsyms and snapshot.</summary>
internal static class Program
{
    /// <summary>Exit status for a bad command line or bad input file.</summary>
    public const int UsageStatus = 2;

    private static int Main(string[] args)
    {
        QuitSignals.Unignore(); // before anything registers for SIGINT
        RestoreTiering.ReexecForRestore(args);
        var parser = new Parser(s =>
        {
            s.HelpWriter = null;
            s.CaseSensitive = true;
            s.AutoHelp = true;
            s.AutoVersion = true;
            s.AllowMultiInstance = true; // --initrd, --debugcon and --drive may be repeated
        });
        ParserResult<object> result = parser.ParseArguments<RunOptions, InfoOptions, ListOptions, PerfOptions, KallsymsOptions, SnapshotOptions>(args);
        try
        {
            return result.MapResult(
                (RunOptions o) => RunCommand.Execute(o),
                (InfoOptions _) => InfoCommand.Execute(),
                (ListOptions o) => ListCommand.Execute(o),
                (PerfOptions o) => PerfCommand.Execute(o),
                (KallsymsOptions o) => KallsymsCommand.Execute(o),
                (SnapshotOptions o) => SnapshotCommand.Execute(o),
                errors => CommandLineErrors.Report(result, errors));
        }
        catch (UsageException e)
        {
            return CommandLineErrors.Fail(e.Message, result);
        }
        catch (MachineConfigException e)
        {
            Console.Error.WriteLine($"emu: {e.Message}");
            return UsageStatus;
        }
        catch (SnapshotFileException e)
        {
            Console.Error.WriteLine($"emu: {e.Message}");
            return UsageStatus;
        }
    }
}
