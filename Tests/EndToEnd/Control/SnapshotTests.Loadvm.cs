using System.Text.Json.Nodes;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// Loading a snapshot into the running emu, as QEMU users do with <c>loadvm</c> (HMP through
/// <c>human-monitor-command</c>) and emu's <c>x-emu-snapshot-load</c>: the ticker goes back to the
/// tick after the one it printed before the snapshot, not on from where it was; a snapshot of
/// another machine shape or a corrupted file is refused (QEMU's GenericError for QMP, an
/// "Error:" line for HMP) and the guest ticks on untouched.
/// </summary>
public sealed partial class SnapshotTests
{
    [Fact]
    public void LoadvmTakesTheRunningTickerBackToItsSnapshot()
    {
        string file = Path.Combine(_dir, "loadvm.emusnap");
        string serial = Path.Combine(_dir, "loadvm.txt");
        string socket = Path.Combine(_dir, "loadvm.qmp");
        using GuestProcess guest = GuestProcess.Emu(Environment, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", $"file:{serial}",
            "--qmp", $"unix:{socket},server,wait=off");
        WaitUntil(() => Ticks(Read(serial)).Count >= 4, "the guest to tick");
        using RawQmp qmp = RawQmp.Connect(socket, Patience);
        qmp.Send("""{"execute":"qmp_capabilities"}""");

        // The snapshot, taken while stopped so that the last tick before it is known.
        Assert.True(qmp.Send("""{"execute":"stop"}""")["return"] is JsonObject);
        Assert.True(qmp.Send($$$"""{"execute":"x-emu-snapshot-save","arguments":{"file":"{{{file}}}"}}""")["return"] is JsonObject);
        Thread.Sleep(300);
        int saved = Ticks(Read(serial)).Last();
        Assert.True(qmp.Send("""{"execute":"cont"}""")["return"] is JsonObject);
        WaitUntil(() => Ticks(Read(serial)).Last() >= saved + 8, "the guest to tick on past its snapshot");

        // HMP loadvm on a stopped VM: it stays stopped (as QEMU's), and cont runs it from the snapshot.
        Assert.True(qmp.Send("""{"execute":"stop"}""")["return"] is JsonObject);
        Thread.Sleep(300);
        int reached = Ticks(Read(serial)).Last();
        int offset = Read(serial).Length;
        JsonObject hmp = qmp.Send($$$"""{"execute":"human-monitor-command","arguments":{"command-line":"loadvm {{{file}}}"}}""");
        Assert.Equal(string.Empty, hmp["return"]!.GetValue<string>());
        Assert.Equal("paused", qmp.Send("""{"execute":"query-status"}""")["return"]!["status"]!.GetValue<string>());
        Assert.True(qmp.Send("""{"execute":"cont"}""")["return"] is JsonObject);
        WaitUntil(() => Ticks(Read(serial)[offset..]).Count >= 3, "the loaded guest to tick");
        List<int> after = Ticks(Read(serial)[offset..]);
        Assert.True(after[0] == saved + 1 && after[1] == saved + 2 && after[2] == saved + 3,
            $"after loadvm the ticks are {string.Join(' ', after.Select(t => t.ToString("x4", System.Globalization.CultureInfo.InvariantCulture)))}; the snapshot was taken after {saved:x4}, the guest had reached {reached:x4}");

        // x-emu-snapshot-load on the running VM: STOP, the state replaced, RESUME, and the count
        // goes back again (the ticks printed before the load, then the snapshot's next ones).
        WaitUntil(() => Ticks(Read(serial)).Last() >= saved + 8, "the guest to tick on again");
        qmp.Events.Clear();
        offset = Read(serial).Length;
        Assert.True(qmp.Send($$$"""{"execute":"x-emu-snapshot-load","arguments":{"file":"{{{file}}}"}}""")["return"] is JsonObject);
        Assert.Equal("running", qmp.Send("""{"execute":"query-status"}""")["return"]!["status"]!.GetValue<string>());
        Assert.Equal(["STOP", "RESUME"], qmp.Events.Select(e => e["event"]!.GetValue<string>()));
        WaitUntil(() => Ticks(Read(serial)[offset..]).Contains(saved + 3), "the loaded guest to tick from its snapshot");
        List<int> again = Ticks(Read(serial)[offset..]);
        int back = again.IndexOf(saved + 1);
        Assert.True(back >= 0 && again[back + 1] == saved + 2, $"after x-emu-snapshot-load: {string.Join(' ', again)} (saved after {saved})");
        Assert.All(again.Take(back), t => Assert.True(t > saved + 8, $"tick {t} before the load"));
        Assert.False(guest.HasExited, guest.Stderr);
    }

    [Fact]
    public void LoadvmRefusesAnotherMachineShapeAndACorruptedFileAndTheGuestRunsOn()
    {
        // A snapshot of the ticker with 128 MiB (the default), loaded into one with 256 MiB.
        (string small, _) = SaveTicker("small.emusnap");
        string corrupted = Path.Combine(_dir, "corrupted.emusnap");
        byte[] bytes = File.ReadAllBytes(small);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(corrupted, bytes);

        string serial = Path.Combine(_dir, "big.txt");
        string socket = Path.Combine(_dir, "big.qmp");
        using GuestProcess guest = GuestProcess.Emu(Environment, "run", "--accel", "jit", "-m", "256M", "--bios", GuestProcess.Ticker, "--serial", $"file:{serial}",
            "--qmp", $"unix:{socket},server,wait=off");
        WaitUntil(() => Ticks(Read(serial)).Count >= 2, "the guest to tick");
        using RawQmp qmp = RawQmp.Connect(socket, Patience);
        qmp.Send("""{"execute":"qmp_capabilities"}""");

        JsonObject shape = qmp.Send($$$"""{"execute":"x-emu-snapshot-load","arguments":{"file":"{{{small}}}"}}""");
        Assert.Equal("GenericError", shape["error"]?["class"]?.GetValue<string>());
        Assert.Contains("RAM 128 MiB, this one 256 MiB", shape["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);

        JsonObject bad = qmp.Send($$$"""{"execute":"x-emu-snapshot-load","arguments":{"file":"{{{corrupted}}}"}}""");
        Assert.Equal("GenericError", bad["error"]?["class"]?.GetValue<string>());
        Assert.Contains("corrupted", bad["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);

        string hmp = qmp.Send($$$"""{"execute":"human-monitor-command","arguments":{"command-line":"loadvm {{{small}}}"}}""")["return"]!.GetValue<string>();
        Assert.StartsWith("Error: ", hmp, StringComparison.Ordinal);

        // Nothing was stopped or replaced: the count runs on unbroken.
        Assert.DoesNotContain(qmp.Events, e => e["event"]!.GetValue<string>() == "STOP");
        int now = Ticks(Read(serial)).Last();
        WaitUntil(() => Ticks(Read(serial)).Last() >= now + 3, "the guest to tick on");
        List<int> ticks = Ticks(Read(serial));
        for (int i = 1; i < ticks.Count; i++)
        {
            Assert.True(ticks[i] == ticks[i - 1] + 1, $"tick {ticks[i]:x4} follows {ticks[i - 1]:x4}");
        }

        Assert.Equal(bytes, File.ReadAllBytes(corrupted));
    }
}
