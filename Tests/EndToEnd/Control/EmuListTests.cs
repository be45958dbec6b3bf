using System.Diagnostics;
using System.Text.Json.Nodes;
using Emulator.Kvm;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// `emu list`: guests started by the test register in a private runtime directory
/// ($XDG_RUNTIME_DIR/emu) and are listed with their names, backends and vCPUs; one killed with
/// SIGKILL (no clean-up) is forgotten and its socket removed.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EmuListTests : IDisposable
{
    private readonly string _runtime = Directory.CreateTempSubdirectory("emu-xdg").FullName;

    public void Dispose() => Directory.Delete(_runtime, recursive: true);

    private Dictionary<string, string> Environment => new() { ["XDG_RUNTIME_DIR"] = _runtime };

    [Fact]
    public void ListsTwoGuestsAndForgetsOneKilledWithSigkill()
    {
        // One guest per backend where KVM is usable, both on the software CPU otherwise.
        string secondAccel = KvmProbe.Run().Usable ? "kvm" : "jit";
        using GuestProcess first = GuestProcess.Emu(Environment, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", "null",
            "--smp", "2", "--name", "first");
        using GuestProcess second = GuestProcess.Emu(Environment, "run", "--accel", secondAccel, "--bios", GuestProcess.Ticker, "--serial", "null",
            "--name", "second guest");

        JsonArray both = WaitForList(2);
        JsonObject a = Single(both, "first");
        JsonObject b = Single(both, "second guest");
        Assert.Equal(first.Id, a["pid"]!.GetValue<int>());
        Assert.Equal(second.Id, b["pid"]!.GetValue<int>());
        Assert.Equal("jit", a["backend"]!.GetValue<string>());
        Assert.Equal(secondAccel, b["backend"]!.GetValue<string>());
        Assert.Equal(2, a["vcpus"]!.AsArray().Count);
        Assert.Single(b["vcpus"]!.AsArray());
        Assert.Equal("running", a["status"]!.GetValue<string>());
        // The bootstrap processor runs the ticker; the ticker never starts the application processor.
        Assert.Equal("running", a["vcpus"]![0]!["state"]!.GetValue<string>());
        Assert.Equal("waiting", a["vcpus"]![1]!["state"]!.GetValue<string>());

        string dir = Path.Combine(_runtime, "emu");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        string secondSocket = b["socket"]!.GetValue<string>();
        Assert.Equal(Path.Combine(dir, $"{second.Id}.qmp"), secondSocket);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secondSocket));

        string table = RunList();
        Assert.Contains("first", table, StringComparison.Ordinal);
        Assert.Contains("second guest", table, StringComparison.Ordinal);
        Assert.Contains($"{first.Id}", table, StringComparison.Ordinal);

        second.KillHard();
        Assert.True(File.Exists(secondSocket), "SIGKILL leaves the socket behind (nothing cleaned up)");
        JsonArray one = WaitForList(1);
        Assert.Equal("first", one[0]!["name"]!.GetValue<string>());
        Assert.False(File.Exists(secondSocket), "emu list removes the socket of a dead guest");
    }

    [Fact]
    public void ARuntimeDirectoryOthersCanReadIsRefused()
    {
        string dir = Path.Combine(_runtime, "emu");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        using GuestProcess list = GuestProcess.Emu(Environment, "list");
        Assert.Equal(2, list.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal($"emu: runtime directory {dir}: group or others have access (mode 755; 700 expected)", list.Stderr.TrimEnd());

        // A guest still runs; it only is not registered (and says so).
        using GuestProcess emu = GuestProcess.Emu(Environment, "run", "--accel", "jit", "--bios", Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin"));
        Assert.Equal(0, emu.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains($"emu: not registered for `emu list`: {dir}: group or others have access", emu.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir));
    }

    private static JsonObject Single(JsonArray list, string name) =>
        (JsonObject)list.Single(i => i!["name"]?.GetValue<string>() == name)!;

    private JsonArray WaitForList(int count)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var list = (JsonArray)JsonNode.Parse(RunList("--json"))!;
            if (list.Count == count && list.All(i => i!["status"]!.GetValue<string>() == "running"))
            {
                return list;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"emu list did not show {count} running guests: {list.ToJsonString()}");
            Thread.Sleep(300);
        }
    }

    private string RunList(params string[] extra)
    {
        using GuestProcess list = GuestProcess.Emu(Environment, ["list", .. extra]);
        int? status = list.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.True(status == 0, $"emu list exited {status}: {list.Stderr}");
        return list.Stdout;
    }
}
