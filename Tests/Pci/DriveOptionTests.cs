using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>`emu run --drive`: bad disk images give one line naming the file, exit status 2, and the file is left as it was.</summary>
public sealed class DriveOptionTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-drive-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertOneLine(EmuProcess.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.Stderr.TrimEnd('\n'));
    }

    private string Image(string name, int length)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, [.. Enumerable.Range(0, length).Select(i => (byte)i)]);
        File.SetLastWriteTimeUtc(path, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return path;
    }

    private static void AssertUntouched(string path, int length)
    {
        Assert.Equal([.. Enumerable.Range(0, length).Select(i => (byte)i)], File.ReadAllBytes(path));
        Assert.Equal(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc), File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void MissingFile()
    {
        string path = Path.Combine(_dir, "nope.img");
        AssertOneLine(EmuProcess.Run(Timeout, "run", "--drive", $"file={path}"), $"emu: --drive {path}: no such file");
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Directory_()
    {
        AssertOneLine(EmuProcess.Run(Timeout, "run", "--drive", $"file={_dir}"), $"emu: --drive {_dir}: is a directory, not a disk image");
    }

    [Fact]
    public void SizeNotAMultipleOf512()
    {
        string path = Image("odd.img", 1000);
        AssertOneLine(
            EmuProcess.Run(Timeout, "run", "--drive", $"file={path}"),
            $"emu: --drive {path}: size 1000 bytes is not a multiple of 512 (a raw disk image holds whole sectors)");
        AssertUntouched(path, 1000);
    }

    [Fact]
    public void EmptyFile()
    {
        string path = Image("empty.img", 0);
        AssertOneLine(EmuProcess.Run(Timeout, "run", "--drive", $"file={path},readonly=on"), $"emu: --drive {path}: is empty (a raw disk image holds whole 512-byte sectors)");
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void NoWritePermissionWithoutReadOnly()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "Unix file modes");
        bool root = Environment.UserName == "root";
        Skip.If(root && !File.Exists("/usr/bin/setpriv"), "root may write any file and setpriv is missing to run emu as another user");
        string path = Image("ro.img", 4096);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);

        AssertOneLine(
            RunUnprivileged(root, "run", "--drive", $"file={path}"),
            $"emu: --drive {path}: no write permission (add readonly=on to attach it read-only)");
        AssertUntouched(path, 4096);

        // The demo ROM as firmware: without --bios a drive would boot SeaBIOS, which waits for a boot disk.
        EmuProcess.Result ok = RunUnprivileged(root, "run", "--accel", "jit", "--bios", DemoRom, "--drive", $"file={path},readonly=on");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        AssertUntouched(path, 4096);
    }

    private static string DemoRom => Path.Combine(EndToEnd.DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin");

    // As root, permissions do not apply: run emu as "nobody" through setpriv instead.
    private static EmuProcess.Result RunUnprivileged(bool root, params string[] args)
    {
        if (!root)
        {
            return EmuProcess.Run(Timeout, args);
        }

        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", Path.Combine(AppContext.BaseDirectory, "emu.dll"), .. args])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["HOME"] = Path.GetTempPath();
        psi.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("emu as nobody did not finish");
        }

        p.WaitForExit();
        return new EmuProcess.Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void TwoGoodDrivesBootTheDemoGuestAndStayUnchanged()
    {
        string a = Image("a.img", 8192);
        string b = Image("b.img", 4096);

        EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--bios", DemoRom, "--drive", $"file={a},format=raw", "--drive", $"file={b},readonly=on");

        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        AssertUntouched(a, 8192);
        AssertUntouched(b, 4096);
    }
}
