using CommandLine;
using CommandLine.Text;

namespace Emulator.Cli;

/// <summary>Turns parser errors into one line naming the option and the problem, then usage; help and version go to stdout.</summary>
internal static class CommandLineErrors
{
    public static int Report(ParserResult<object> result, IEnumerable<Error> errors)
    {
        List<Error> list = [.. errors];
        if (list.Any(e => e is HelpRequestedError or HelpVerbRequestedError))
        {
            Console.Out.WriteLine(HelpText.AutoBuild(result, h => { h.AdditionalNewLineAfterOption = false; h.Heading = "emu - an x86 PC emulator"; h.Copyright = string.Empty; return h; }, e => e, verbsIndex: result.TypeInfo.Current == typeof(NullInstance)));
            return 0;
        }

        if (list.Any(e => e is VersionRequestedError))
        {
            Console.Out.WriteLine($"emu {typeof(Program).Assembly.GetName().Version?.ToString(3)}");
            return 0;
        }

        return Fail(Describe(list[0]), result);
    }

    public static int Fail(string message, ParserResult<object> result)
    {
        Console.Error.WriteLine($"emu: {message}");
        string verb = result.TypeInfo.Current == typeof(NullInstance) ? "<command>" : VerbName(result.TypeInfo.Current);
        Console.Error.WriteLine($"usage: emu {verb} [options]   (emu {(verb == "<command>" ? string.Empty : verb + " ")}--help lists them; commands: run, info, list, perf, kallsyms, snapshot)");
        return Program.UsageStatus;
    }

    private static string VerbName(Type t) =>
        t.GetCustomAttributes(typeof(VerbAttribute), false) is [VerbAttribute v, ..] ? v.Name : t.Name;

    private static string Describe(Error e) => e switch
    {
        UnknownOptionError u => $"unknown option '{Dashes(u.Token)}'",
        MissingValueOptionError m => $"option '{Name(m.NameInfo)}' needs a value",
        BadFormatConversionError b => $"option '{Name(b.NameInfo)}': the value is not valid",
        SequenceOutOfRangeError s => $"option '{Name(s.NameInfo)}': wrong number of values",
        RepeatedOptionError r => $"option '{Name(r.NameInfo)}' was given more than once",
        MissingRequiredOptionError m => $"option '{Name(m.NameInfo)}' is required",
        BadVerbSelectedError v => $"unknown command '{v.Token}'",
        NoVerbSelectedError => "no command given",
        _ => $"bad arguments ({e.Tag})",
    };

    private static string Dashes(string token) => token.Length == 1 ? "-" + token : "--" + token;

    private static string Name(NameInfo n) => string.IsNullOrEmpty(n.LongName) ? "-" + n.ShortName : "--" + n.LongName;
}
