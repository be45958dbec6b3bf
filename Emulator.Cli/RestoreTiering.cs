using System.Collections;
using System.Runtime.InteropServices;
using System.Text;

namespace Emulator.Cli;

/// <summary>
/// `emu run --restore` starts again, in the same process (execve of /proc/self/exe with the same
/// arguments), with .NET's tier-up delay at 1000 ms instead of the 0 that emu.runtimeconfig.json
/// sets for boots. A restored guest runs hot code at once: with no delay the runtime recompiles its
/// hot methods (instrumented, then optimised) while the guest comes back, on a host of two cores (an
/// earlier measurement: 0.95 s of 2.31 s process CPU on the JIT's thread), and the restore to a running guest took a median 1.24 s here (8 runs at load 6-9);
/// with 1000 ms the ReadyToRun code runs during that second and the median was 0.73 s (5 runs;
/// 3000 ms gave 0.79 s over 8). Boots keep the 0 (ARCHITECTURE "Translation cost"). The runtime reads
/// the knob only at start, and an environment variable overrides the runtimeconfig; a user's own
/// DOTNET_TC_CallCountingDelayMs is left alone, which also ends the loop. execve keeps the pid, so
/// nothing waits on a second process and a kill reaches emu itself.
/// </summary>
internal static partial class RestoreTiering
{
    private const string Variable = "DOTNET_TC_CallCountingDelayMs";
    private const string RestoreDelayMs = "1000";

    /// <summary>Re-executes emu with the restore's delay when <paramref name="args"/> restore a snapshot; returns only when it does not (or cannot).</summary>
    public static void ReexecForRestore(string[] args)
    {
        if (!OperatingSystem.IsLinux() || args.Length == 0 || args[0] != "run"
            || !args.Any(a => a == "--restore" || a.StartsWith("--restore=", StringComparison.Ordinal))
            || Environment.GetEnvironmentVariable(Variable) is not null)
        {
            return;
        }

        string[] argv;
        try
        {
            // The process's own argv (the dotnet host and its options, or the apphost), byte for byte.
            argv = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline")).TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return;
        }

        var environment = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{e.Key}={e.Value}");
        }

        environment.Add($"{Variable}={RestoreDelayMs}");
        Execve("/proc/self/exe", argv, [.. environment]);
    }

    // Returns only when execve fails; emu then restores with the delay it has.
    private static unsafe void Execve(string path, string[] argv, string[] environment)
    {
        nint[] strings = [.. argv.Concat(environment).Select(Marshal.StringToCoTaskMemUTF8)];
        try
        {
            nint[] argvPointers = [.. strings.Take(argv.Length), 0];
            nint[] envPointers = [.. strings.Skip(argv.Length), 0];
            // SAFETY: both arrays are NULL-terminated and pinned for the call, every element a
            // NUL-terminated UTF-8 string that lives until the finally block; on success the call does not return.
            fixed (nint* a = argvPointers)
            fixed (nint* e = envPointers)
            {
                _ = NativeExecve(path, a, e);
            }
        }
        finally
        {
            foreach (nint s in strings)
            {
                Marshal.FreeCoTaskMem(s);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int NativeExecve(string path, nint* argv, nint* envp);
}
