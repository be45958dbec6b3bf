using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// A real Linux-boot-protocol image that is not Linux: memtest86+ (Debian package memtest86+,
/// installed by .ci/run), whose syssize rounds its size up to a whole paragraph. `emu run --kernel`
/// must boot it as GRUB and QEMU do: its own screen arrives on COM1 (console=ttyS0) and it starts
/// its first test without reporting errors.
/// </summary>
public sealed class MemtestBootTests : IDisposable
{
    private const string Memtest = "/boot/memtest86+x64.bin";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly string _serial = Path.Combine(Path.GetTempPath(), $"emu-memtest-{Guid.NewGuid():n}.out");

    public void Dispose() => File.Delete(_serial);

    [SkippableFact]
    public void MemtestBootsAndStartsTestingOverTheSerialConsole()
    {
        Skip.IfNot(File.Exists(Memtest), $"{Memtest} is not installed (apt-get install memtest86+; .ci/run does)");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", "--accel", "jit", "-m", "64M",
            "--kernel", Memtest, "--append", "console=ttyS0,115200", "--serial", $"file:{_serial}"])
        {
            psi.ArgumentList.Add(a);
        }

        using Process emu = Process.Start(psi)!;
        Task<string> stderr = emu.StandardError.ReadToEndAsync();
        Task<string> stdout = emu.StandardOutput.ReadToEndAsync();
        string console = "";
        var watch = Stopwatch.StartNew();
        try
        {
            while (watch.Elapsed < Timeout && !emu.HasExited && !console.Contains("Address test", StringComparison.Ordinal))
            {
                Thread.Sleep(200);
                console = ReadShared(_serial);
            }
        }
        finally
        {
            if (!emu.HasExited)
            {
                emu.Kill(entireProcessTree: true);
            }

            emu.WaitForExit();
        }

        string why = $"after {watch.Elapsed.TotalSeconds:0} s; stderr: {stderr.Result} {stdout.Result}\nserial: {console[..Math.Min(console.Length, 2000)]}";
        Assert.Contains("Memtest86+ v", console, StringComparison.Ordinal);
        Assert.True(console.Contains("Address test", StringComparison.Ordinal), $"memtest86+ did not start its first test {why}");
        string[] errors = [.. Regex.Matches(console, @"Errors:\s+(\d+)").Select(m => m.Groups[1].Value)];
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Equal("0", e));
    }

    private static string ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(f);
        return r.ReadToEnd();
    }
}
