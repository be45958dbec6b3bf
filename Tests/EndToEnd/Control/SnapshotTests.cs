using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emulator.Kvm;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// Snapshots of a running guest (the ticker ROM: "tick NNNN" ten times a second on COM1) taken over
/// QMP, the emu that took them killed with SIGKILL, and `emu run --restore` continuing the guest:
/// the ticks before the snapshot and after the restore form one unbroken count. A cut, corrupted or
/// foreign file, a disk changed since the snapshot and machine options given with --restore are
/// refused with one line naming the file or option, exit status 2, and the file is left as it was.
/// </summary>
public sealed partial class SnapshotTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-snapshot").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Dictionary<string, string> Environment => new() { ["XDG_RUNTIME_DIR"] = _dir, ["XDG_DATA_HOME"] = _dir };

    [Fact]
    public void TickerContinuesFromItsSnapshotAfterEmuIsKilled()
    {
        (string file, string before) = SaveTicker("tick.emusnap");
        string after = RunRestored(file, ticks: 5);

        List<int> ticks = Ticks(before + after);
        Assert.True(Ticks(after).Count >= 5, $"the restored guest printed too little: {after}");
        for (int i = 1; i < ticks.Count; i++)
        {
            Assert.True(ticks[i] == ticks[i - 1] + 1, $"tick {ticks[i]:x4} follows {ticks[i - 1]:x4}\nbefore:\n{before}\nafter:\n{after}");
        }
    }

    // `emu run --restore` starts again in its own process (execve: the same pid) with .NET's tier-up
    // delay for restores (RestoreTiering); the kernel's /proc shows the environment it runs with. A
    // delay the user set is kept.
    [SkippableFact]
    public void ARestoreRunsWithTheRestoresTierUpDelayInTheSameProcess()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        (string file, _) = SaveTicker("tiering.emusnap");
        foreach ((string? given, string expected) in (ReadOnlySpan<(string?, string)>)[(null, "1000"), ("250", "250")])
        {
            string serial = Path.Combine(_dir, $"tiering-{expected}.txt");
            Dictionary<string, string> environment = Environment;
            if (given is not null)
            {
                environment["DOTNET_TC_CallCountingDelayMs"] = given;
            }

            using GuestProcess guest = GuestProcess.Emu(environment, "run", "--restore", file, "--serial", $"file:{serial}");
            WaitUntil(() => Ticks(Read(serial)).Count >= 2 || guest.HasExited, "the restored guest to tick");
            Assert.False(guest.HasExited, guest.Stderr);
            string[] variables = File.ReadAllText($"/proc/{guest.Id}/environ").Split('\0');
            Assert.Equal([$"DOTNET_TC_CallCountingDelayMs={expected}"], variables.Where(v => v.StartsWith("DOTNET_TC_CallCountingDelayMs=", StringComparison.Ordinal)));
        }
    }

    [SkippableTheory]
    [InlineData("kvm", "jit")]
    [InlineData("jit", "kvm")]
    public void ASnapshotMovesBetweenBackends(string saveUnder, string restoreUnder)
    {
        Skip.IfNot(KvmProbe.Run().Usable, $"KVM is unusable here ({KvmProbe.Run().Reason}): a snapshot cannot move between backends");
        (string file, string before) = SaveTickerUnder(saveUnder, $"{saveUnder}.emusnap");
        string after = RunRestored(file, ticks: 5, accel: restoreUnder);
        List<int> ticks = Ticks(before + after);
        for (int i = 1; i < ticks.Count; i++)
        {
            Assert.True(ticks[i] == ticks[i - 1] + 1, $"tick {ticks[i]:x4} follows {ticks[i - 1]:x4} (saved under {saveUnder}, restored under {restoreUnder})");
        }
    }

    [Fact]
    public void SnapshotByNameGoesToTheSnapshotDirectoryAndInfoChecksIt()
    {
        string qmp = Path.Combine(_dir, "name.qmp");
        using (GuestProcess guest = GuestProcess.Emu(Environment, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", "null", "--name", "ticker"))
        {
            WaitUntil(() => Directory.Exists(Path.Combine(_dir, "emu")) && Directory.EnumerateFiles(Path.Combine(_dir, "emu"), "*.qmp").Any(), "the guest to register");
            EmuProcess.Result save = EmuProcess.RunWith(Patience, Environment, [], "snapshot", "save", "ticker", "base");
            Assert.True(save.ExitCode == 0, save.Stdout + save.Stderr);
            Assert.Contains(Path.Combine(_dir, "emu", "snapshots", "base.emusnap"), save.Stdout, StringComparison.Ordinal);
        }

        EmuProcess.Result info = EmuProcess.RunWith(Patience, Environment, [], "snapshot", "info", "base", "--json");
        Assert.True(info.ExitCode == 0, info.Stdout + info.Stderr);
        JsonObject json = JsonNode.Parse(info.Stdout)!.AsObject();
        Assert.Equal(128UL << 20, json["machine"]!["memory"]!.GetValue<ulong>());
        Assert.Contains(json["sections"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "cpu/0");
        Assert.Contains(json["sections"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "device/pit8254");
    }

    [Fact]
    public void CutAndCorruptedFilesAreRefusedWithOneLine()
    {
        (string file, _) = SaveTicker("good.emusnap");
        byte[] good = File.ReadAllBytes(file);

        string cut = Path.Combine(_dir, "cut.emusnap");
        File.WriteAllBytes(cut, good.AsSpan(0, good.Length * 2 / 3).ToArray());
        AssertRefused(cut, "cut short");

        string corrupted = Path.Combine(_dir, "corrupted.emusnap");
        byte[] flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x40;
        File.WriteAllBytes(corrupted, flipped);
        AssertRefused(corrupted, "corrupted");

        string foreign = Path.Combine(_dir, "foreign.emusnap");
        File.WriteAllText(foreign, "not a snapshot at all\n");
        AssertRefused(foreign, "not an emu snapshot");
    }

    [Fact]
    public void ADiskChangedSinceTheSnapshotIsRefused()
    {
        string disk = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        (string file, _) = SaveTicker("disk.emusnap", "--drive", $"file={disk},format=raw");

        // Same size, one byte different: written after the snapshot.
        using (var stream = new FileStream(disk, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 300_000;
            stream.WriteByte(1);
        }

        AssertRefused(file, disk, "written after the snapshot");

        // Another size.
        File.WriteAllBytes(disk, new byte[2 << 20]);
        AssertRefused(file, disk, "size changed");
    }

    [Fact]
    public void MachineOptionsWithRestoreAreRefused()
    {
        EmuProcess.Result r = EmuProcess.RunWith(Patience, Environment, [], "run", "--restore", Path.Combine(_dir, "x.emusnap"), "-m", "256M");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--restore and --memory", r.Stderr, StringComparison.Ordinal);
    }

    // Runs the ticker until it has printed a few ticks, stops it and saves it over QMP, then kills
    // emu with SIGKILL; returns the file and everything the guest printed before the snapshot.
    private (string File, string Before) SaveTicker(string name, params string[] extra) => SaveTickerUnder("jit", name, extra);

    private (string File, string Before) SaveTickerUnder(string accel, string name, params string[] extra)
    {
        string file = Path.Combine(_dir, name);
        string serial = Path.Combine(_dir, name + ".before.txt");
        string socket = Path.Combine(_dir, name + ".qmp");
        using GuestProcess guest = GuestProcess.Emu(Environment, ["run", "--accel", accel, "--bios", GuestProcess.Ticker, "--serial", $"file:{serial}",
            "--qmp", $"unix:{socket},server,wait=off", .. extra]);
        WaitUntil(() => Ticks(Read(serial)).Count >= 4, "the guest to tick");
        using (RawQmp qmp = RawQmp.Connect(socket, Patience))
        {
            qmp.Send("""{"execute":"qmp_capabilities"}""");
            Assert.True(qmp.Send("""{"execute":"stop"}""")["return"] is JsonObject);
            JsonObject reply = qmp.Send($$$"""{"execute":"x-emu-snapshot-save","arguments":{"file":"{{{file}}}"}}""");
            Assert.True(reply["return"] is JsonObject, reply.ToJsonString());
            Assert.Equal(file, reply["return"]!["file"]!.GetValue<string>());
            Assert.Equal(new FileInfo(file).Length, reply["return"]!["bytes"]!.GetValue<long>());
        }

        guest.KillHard();
        return (file, Read(serial));
    }

    private string RunRestored(string file, int ticks, string accel = "jit")
    {
        string serial = Path.Combine(_dir, Path.GetFileName(file) + ".after.txt");
        using GuestProcess guest = GuestProcess.Emu(Environment, "run", "--restore", file, "--accel", accel, "--serial", $"file:{serial}");
        WaitUntil(() => Ticks(Read(serial)).Count >= ticks || guest.HasExited, "the restored guest to tick");
        Assert.False(guest.HasExited, $"the restored emu exited: {guest.Stderr}");
        return Read(serial);
    }

    private void AssertRefused(string file, params string[] expected)
    {
        byte[] before = File.ReadAllBytes(file);
        EmuProcess.Result r = EmuProcess.RunWith(Patience, Environment, [], "run", "--restore", file, "--serial", "null");
        Assert.Equal(2, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string refusal = Assert.Single(lines, l => !l.StartsWith("emu: using", StringComparison.Ordinal));
        Assert.StartsWith($"emu: {file}: ", refusal, StringComparison.Ordinal);
        foreach (string text in expected)
        {
            Assert.Contains(text, refusal, StringComparison.Ordinal);
        }

        Assert.Equal(before, File.ReadAllBytes(file));
    }

    private static List<int> Ticks(string text) =>
        [.. Tick().Matches(text).Select(m => int.Parse(m.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture))];

    private static string Read(string path)
    {
        if (!File.Exists(path))
        {
            return string.Empty;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    private static void WaitUntil(Func<bool> done, string what)
    {
        DateTime end = DateTime.UtcNow + Patience;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < end, $"timed out waiting for {what}");
            Thread.Sleep(100);
        }
    }

    [GeneratedRegex("tick ([0-9a-f]{4})\r\n")]
    private static partial Regex Tick();
}
