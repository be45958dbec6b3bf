using System.Diagnostics;

namespace Emulator.Tests.EndToEnd;

/// <summary>Runs the real `emu` program (emu.dll next to the tests) as a child process.</summary>
internal static class EmuProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(TimeSpan timeout, params string[] args) => RunWith(timeout, null, [], args);

    /// <summary>Runs emu with extra environment variables, and with <paramref name="wrapper"/> (a program and its arguments) in front of dotnet when not empty.</summary>
    public static Result RunWith(TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, string[] wrapper, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "emu.dll");
        var psi = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string w in wrapper.Skip(1).Concat(wrapper.Length > 0 ? ["dotnet"] : []))
        {
            psi.ArgumentList.Add(w);
        }

        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"emu {string.Join(' ', args)} did not finish within {timeout}: stdout so far: {stdout.Result}");
        }

        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
