using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emulator.Tests.EndToEnd.Terminal;

/// <summary>
/// A program run on a pseudo-terminal whose output is shown by pyte, a VT100/xterm emulator written
/// by others (Debian's python3-pyte), through pty_screen.py: what a user's terminal would show.
/// </summary>
internal static class PtyScreen
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Why the terminal tests cannot run here, or null.</summary>
    public static string? Missing { get; } = Probe();

    /// <summary>One screen as pyte shows it: per cell the colors (names, or hex RGB for 38;5 and 48;5), bold (pyte's mark of the bright 90-97) and blink.</summary>
    public sealed record Dump(string[] Lines, string[][] Foreground, string[][] Background, int CursorX, int CursorY, bool CursorHidden, bool[][] Bold, bool[][] Blink);

    /// <summary>What a run recorded.</summary>
    public sealed record Result(IReadOnlyDictionary<string, Dump> Dumps, IReadOnlyDictionary<string, string> Stty, int? Status, string? Error, string Stderr);

    /// <summary>Runs <paramref name="program"/> on an 80x25 terminal through <paramref name="steps"/> (see pty_screen.py).</summary>
    public static Result Run(JsonArray steps, IReadOnlyDictionary<string, string> environment, params string[] program)
    {
        string dir = Directory.CreateTempSubdirectory("emu-pty").FullName;
        try
        {
            string stepsFile = Path.Combine(dir, "steps.json"), stderr = Path.Combine(dir, "stderr");
            File.WriteAllText(stepsFile, steps.ToJsonString());
            string script = Path.Combine(DemoGuestTests.RepositoryRoot(), "Tests", "EndToEnd", "Terminal", "pty_screen.py");
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in (string[])[script, stepsFile, "80", "25", "--", .. program])
            {
                psi.ArgumentList.Add(a);
            }

            psi.Environment["PTY_SCREEN_STDERR"] = stderr;
            foreach ((string key, string value) in environment)
            {
                psi.Environment[key] = value;
            }

            using Process p = Process.Start(psi)!;
            Task<string> errors = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"pty_screen.py failed: {errors.Result}");
            }

            JsonNode json = JsonNode.Parse(output)!;
            var dumps = new Dictionary<string, Dump>();
            foreach ((string name, JsonNode? d) in json["dumps"]!.AsObject())
            {
                JsonNode cursor = d!["cursor"]!;
                dumps[name] = new Dump(
                    d["lines"]!.Deserialize<string[]>()!,
                    d["fg"]!.Deserialize<string[][]>()!,
                    d["bg"]!.Deserialize<string[][]>()!,
                    cursor["x"]!.GetValue<int>(),
                    cursor["y"]!.GetValue<int>(),
                    cursor["hidden"]!.GetValue<bool>(),
                    d["bold"]!.Deserialize<bool[][]>()!,
                    d["blink"]!.Deserialize<bool[][]>()!);
            }

            return new Result(
                dumps,
                json["stty"]!.Deserialize<Dictionary<string, string>>()!,
                json["status"]?.GetValue<int>(),
                json["error"]?.GetValue<string>(),
                File.Exists(stderr) ? File.ReadAllText(stderr) : "");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string? Probe()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is missing";
        }

        using Process p = Process.Start(new ProcessStartInfo(Python, ["-c", "import pyte"]) { RedirectStandardError = true })!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : "python3-pyte is missing (apt-get install python3-pyte; .ci/run does)";
    }
}
