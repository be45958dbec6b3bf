using System.Diagnostics;
using System.Text.Json.Nodes;
using Emulator.Tests.Display;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// The QMP control socket (--qmp), as a client sees it: the same commands sent to emu and to
/// qemu-system-x86_64 -accel tcg running the same guest (Roms/control/ticker) must give replies and
/// events of the same shape (keys and types); stop and cont must really stop and continue the guest;
/// bad input must get QMP errors and never stall the guest.
/// </summary>
public sealed class QmpTests : IDisposable
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-qmp").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The script sent to both: every command of the issue, errors of every kind, and the events
    // that stop, cont, system_reset, system_powerdown and quit raise.
    private static readonly string[] Script =
    [
        """{"execute":"query-status"}""",
        """{"execute":"qmp_capabilities"}""",
        """{"execute":"qmp_capabilities"}""",
        """{"execute":"query-status"}""",
        """{"execute":"query-version","id":7}""",
        """{"execute":"query-name"}""",
        """{"execute":"query-kvm"}""",
        """{"execute":"query-cpus-fast","id":{"tag":[1,"a"]}}""",
        """{"execute":"no-such-command","id":"x"}""",
        """{"execute":"cont"}""",
        """{"execute":"stop"}""",
        """{"execute":"stop"}""",
        """{"execute":"query-status"}""",
        """{"execute":"human-monitor-command","arguments":{"command-line":"info registers"}}""",
        """{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}""",
        """{"execute":"human-monitor-command","arguments":{"command-line":"no-such-thing"}}""",
        """{"execute":"human-monitor-command"}""",
        """{"execute":"human-monitor-command","arguments":{"command-line":5}}""",
        """{"execute":"stop","arguments":{"x":1}}""",
        """{"foo":1}""",
        """[1,2]""",
        """{"execute": }""",
        """}""",
        "\"just a string\"",
        """{"execute":1}""",
        """{"execute":"query-name","arguments":[]}""",
        """{"arguments":{}}""",
        """{"execute":"screendump","arguments":{"filename":"DUMPS/screen.ppm"}}""",
        """{"execute":"screendump","arguments":{"filename":"DUMPS/screen.png","format":"png"}}""",
        """{"execute":"human-monitor-command","arguments":{"command-line":"screendump DUMPS/hmp.ppm"}}""",
        """{"execute":"screendump","arguments":{"filename":"/nonexistent/screen.ppm"}}""",
        """{"execute":"screendump","arguments":{"filename":"DUMPS/x.ppm","device":"no-such-device"}}""",
        """{"execute":"screendump","arguments":{"filename":"DUMPS/x.ppm","head":1}}""",
        """{"execute":"screendump","arguments":{"filename":"DUMPS/x.ppm","format":"bmp"}}""",
        """{"execute":"screendump"}""",
        """{"execute":"system_reset"}""",
        """{"execute":"system_powerdown"}""",
        """{"execute":"cont"}""",
        """{"execute":"query-status","id":"last"}""",
    ];

    [SkippableFact]
    public void RepliesAndEventsHaveTheShapesQemuGives()
    {
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        string emuSocket = Path.Combine(_dir, "emu.qmp");
        string qemuSocket = Path.Combine(_dir, "qemu.qmp");
        using GuestProcess qemu = GuestProcess.Qemu("-bios", GuestProcess.Ticker, "-vga", "std", "-serial", "null", "-smp", "2", "-name", "shapes", "-S",
            "-qmp", $"unix:{qemuSocket},server,wait=off");
        using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", "null", "--smp", "2",
            "--name", "shapes", "-S", "--qmp", $"unix:{emuSocket},server,wait=off");

        string qemuDumps = Directory.CreateDirectory(Path.Combine(_dir, "qemu")).FullName;
        string emuDumps = Directory.CreateDirectory(Path.Combine(_dir, "emu")).FullName;
        (List<JsonObject> qemuReplies, List<JsonObject> qemuEvents, int? qemuExit) = RunScript(qemuSocket, qemu, qemuDumps);
        (List<JsonObject> emuReplies, List<JsonObject> emuEvents, int? emuExit) = RunScript(emuSocket, emu, emuDumps);

        for (int i = 0; i < qemuReplies.Count; i++)
        {
            string? d = JsonShape.Difference(qemuReplies[i], emuReplies[i]);
            Assert.True(d is null, $"reply to {(i == 0 ? "the greeting" : Script[i - 1])}: {d}\nQEMU: {qemuReplies[i].ToJsonString()}\nemu:  {emuReplies[i].ToJsonString()}");
        }

        string[] qemuNames = [.. qemuEvents.Select(e => e["event"]!.GetValue<string>())];
        string[] emuNames = [.. emuEvents.Select(e => e["event"]!.GetValue<string>())];
        Assert.Equal(["RESUME", "STOP", "RESET", "POWERDOWN", "RESUME", "SHUTDOWN"], qemuNames);
        Assert.Equal(qemuNames, emuNames);
        for (int i = 0; i < qemuEvents.Count; i++)
        {
            string? d = JsonShape.Difference(qemuEvents[i], emuEvents[i]);
            Assert.True(d is null, $"event {qemuNames[i]}: {d}\nQEMU: {qemuEvents[i].ToJsonString()}\nemu:  {emuEvents[i].ToJsonString()}");
        }

        // Values that must agree too: the name, the run states, the CPUs, the error classes.
        Assert.Equal("shapes", emuReplies[6]["return"]!["name"]!.GetValue<string>());
        Assert.Equal("prelaunch", emuReplies[4]["return"]!["status"]!.GetValue<string>());
        Assert.Equal("paused", emuReplies[13]["return"]!["status"]!.GetValue<string>());
        Assert.Equal(2, emuReplies[8]["return"]!.AsArray().Count);
        Assert.Equal("last", emuReplies[^1]["id"]!.GetValue<string>());
        Assert.Equal("running", emuReplies[^1]["return"]!["status"]!.GetValue<string>());
        for (int i = 0; i < qemuReplies.Count; i++)
        {
            Assert.Equal(qemuReplies[i]["error"]?["class"]?.GetValue<string>(), emuReplies[i]["error"]?["class"]?.GetValue<string>());
        }

        Assert.Equal(0, qemuExit);
        Assert.Equal(0, emuExit);

        // The screen dumps of a VGA no firmware has programmed: the size QEMU gives, in the same
        // formats (binary PPM from QMP and from the monitor's command, and PNG). The pixels differ:
        // QEMU draws a cursor on the unprogrammed screen, emu shows a display that is off as black.
        foreach (string ppm in new[] { "screen.ppm", "hmp.ppm" })
        {
            Assert.Equal(Ppm(Path.Combine(qemuDumps, ppm)), Ppm(Path.Combine(emuDumps, ppm)));
        }

        (int width, int height, _) = PngDecoder.Decode(File.ReadAllBytes(Path.Combine(qemuDumps, "screen.png")));
        (int emuWidth, int emuHeight, _) = PngDecoder.Decode(File.ReadAllBytes(Path.Combine(emuDumps, "screen.png")));
        Assert.Equal((width, height), (emuWidth, emuHeight));
        Assert.False(File.Exists(Path.Combine(emuDumps, "x.ppm")), "a refused screendump wrote a file");
    }

    // A binary PPM's header (magic, size, maximum value) and its length.
    private static (string Header, int Length) Ppm(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        int end = 0;
        for (int lines = 0; lines < 3; end++)
        {
            lines += file[end] == '\n' ? 1 : 0;
        }

        return (System.Text.Encoding.ASCII.GetString(file, 0, end), file.Length);
    }

    // The greeting, then the reply to every line of the script (screen dumps go to DUMPS), then quit: replies, events, exit status.
    private static (List<JsonObject> Replies, List<JsonObject> Events, int? Exit) RunScript(string socket, GuestProcess process, string dumps)
    {
        using RawQmp qmp = RawQmp.Connect(socket, Start, () => process.HasExited);
        var replies = new List<JsonObject> { qmp.Greeting };
        foreach (string line in Script)
        {
            replies.Add(qmp.Send(line.Replace("DUMPS", dumps, StringComparison.Ordinal)));
        }

        JsonObject quit = qmp.Send("""{"execute":"quit"}""");
        Assert.True(quit["return"] is JsonObject, $"quit: {quit.ToJsonString()}");
        qmp.ReadUntilClosed();
        return (replies, qmp.Events, process.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void StopAndContReallyStopAndContinueTheGuest()
    {
        string socket = Path.Combine(_dir, "emu.qmp");
        string serial = Path.Combine(_dir, "serial.txt");
        using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", $"file:{serial}",
            "--qmp", $"unix:{socket},server,wait=off");
        using RawQmp qmp = RawQmp.Connect(socket, Start, () => emu.HasExited);
        qmp.Send("""{"execute":"qmp_capabilities"}""");
        WaitForTicks(serial, 3);

        Assert.True(qmp.Send("""{"execute":"stop"}""")["return"] is JsonObject);
        int stoppedAt = Ticks(serial);
        Thread.Sleep(1500);
        // Fifteen lines would have been printed in that time; a line already being written may finish.
        Assert.InRange(Ticks(serial), stoppedAt, stoppedAt + 1);
        JsonObject status = qmp.Send("""{"execute":"query-status"}""");
        Assert.Equal("paused", status["return"]!["status"]!.GetValue<string>());
        Assert.False(status["return"]!["running"]!.GetValue<bool>());

        // The registers of a stopped vCPU can be read, and do not change while it is stopped.
        string first = qmp.Send("""{"execute":"human-monitor-command","arguments":{"command-line":"info registers"}}""")["return"]!.GetValue<string>();
        Thread.Sleep(300);
        string second = qmp.Send("""{"execute":"human-monitor-command","arguments":{"command-line":"info registers"}}""")["return"]!.GetValue<string>();
        Assert.Contains("EIP=", first, StringComparison.Ordinal);
        Assert.Equal(first, second);

        int before = Ticks(serial);
        Assert.True(qmp.Send("""{"execute":"cont"}""")["return"] is JsonObject);
        WaitForTicks(serial, before + 3);
        Assert.Equal(["STOP", "RESUME"], qmp.Events.Select(e => e["event"]!.GetValue<string>()));

        qmp.Send("""{"execute":"quit"}""");
        Assert.Equal(0, emu.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void MalformedHugeAndSlowInputGetsErrorsAndTheGuestKeepsRunning()
    {
        string socket = Path.Combine(_dir, "emu.qmp");
        string serial = Path.Combine(_dir, "serial.txt");
        using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", $"file:{serial}",
            "--qmp", $"unix:{socket},server,wait=off");

        // A client that negotiates and then never reads: events pile up for it.
        using RawQmp silent = RawQmp.Connect(socket, Start, () => emu.HasExited);
        silent.SendRaw("{\"execute\":\"qmp_capabilities\"}\n");
        // A client that connects and sends half a command, then nothing.
        using RawQmp idle = RawQmp.Connect(socket, Start);
        idle.SendRaw("{\"execute\": \"query-");

        using RawQmp qmp = RawQmp.Connect(socket, Start);
        qmp.Send("""{"execute":"qmp_capabilities"}""");
        WaitForTicks(serial, 2);

        foreach (string junk in (string[])["{\"execute\": }", "}", "]]]", "nul", "\u0001\u0002\u00ff", "{\"execute\":\"stop\"} {\"execute\":"])
        {
            JsonObject reply = qmp.Send(junk);
            Assert.True(reply["error"]?["class"]?.GetValue<string>() == "GenericError" || reply["return"] is JsonObject, $"{junk}: {reply.ToJsonString()}");
        }

        // Two commands on a line run one after the other; a command may span lines (the second one
        // above is still open): close it, and it is refused for its argument, as QEMU's parser does.
        Assert.Equal("STOP", qmp.Events[^1]["event"]!.GetValue<string>());
        qmp.SendRaw("\"cont\", \"arguments\": {\"x\": [\n");
        JsonObject closed = qmp.Send("]}}");
        Assert.Equal("Parameter 'x' is unexpected", closed["error"]?["desc"]?.GetValue<string>());
        Assert.True(qmp.Send("""{"execute":"cont"}""")["return"] is JsonObject);

        // 4 MiB on one line: refused with an error, the connection stays usable.
        qmp.SendRaw(new string('x', 4 << 20) + "\n");
        JsonObject huge = qmp.NextReply();
        Assert.Equal("GenericError", huge["error"]?["class"]?.GetValue<string>());
        string deep = new string('[', 100000) + new string(']', 100000);
        JsonObject nested = qmp.Send(deep);
        Assert.Equal("GenericError", nested["error"]?["class"]?.GetValue<string>());

        JsonObject ok = qmp.Send("""{"execute":"query-status","id":1}""");
        Assert.Equal("running", ok["return"]!["status"]!.GetValue<string>());

        // Thousands of events for the silent client: it is dropped, nobody waits for it.
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 3000; i++)
        {
            qmp.Send("""{"execute":"stop"}""");
            qmp.Send("""{"execute":"cont"}""");
        }

        int ticks = Ticks(serial);
        WaitForTicks(serial, ticks + 3);
        Assert.Equal(6000 + 2, qmp.Events.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), $"3000 stop/cont pairs took {watch.Elapsed}");
        Assert.Equal("running", qmp.Send("""{"execute":"query-status"}""")["return"]!["status"]!.GetValue<string>());
        Assert.False(emu.HasExited, emu.Stderr);

        qmp.Send("""{"execute":"quit"}""");
        int? status = emu.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(status == 0, $"exit status {status}: {emu.Stderr}");
    }

    [Fact]
    public void QuitWithClientsMidLineIdleAndBusyExitsCleanly()
    {
        // What quit closes, in every state at once: a client that negotiated and reads nothing, one
        // halfway through a line, one sending stop and cont as fast as it gets replies (so that quit
        // lands during stop/cont). A session's reader that ran after the server had disposed the
        // session ended emu with status 134 (an ObjectDisposedException), on a loaded host 1 run in 20.
        // Several rounds, as the order of the threads is the host's.
        for (int round = 0; round < 3; round++)
        {
            string socket = Path.Combine(_dir, $"emu{round}.qmp");
            using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", "null",
                "--qmp", $"unix:{socket},server,wait=off");
            using RawQmp silent = RawQmp.Connect(socket, Start, () => emu.HasExited);
            silent.SendRaw("{\"execute\":\"qmp_capabilities\"}\n");
            using RawQmp idle = RawQmp.Connect(socket, Start);
            idle.SendRaw("{\"execute\": \"sto");
            using RawQmp busy = RawQmp.Connect(socket, Start);
            busy.Send("""{"execute":"qmp_capabilities"}""");
            using RawQmp qmp = RawQmp.Connect(socket, Start);
            qmp.Send("""{"execute":"qmp_capabilities"}""");

            int pairs = 0;
            var spammer = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        busy.Send("""{"execute":"stop"}""");
                        busy.Send("""{"execute":"cont"}""");
                        pairs++;
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    // emu closed the connection at quit.
                }
            });
            spammer.Start();
            var watch = Stopwatch.StartNew();
            while (Volatile.Read(ref pairs) < 20)
            {
                Assert.True(watch.Elapsed < Start, "stop/cont did not get going");
                Thread.Sleep(10);
            }

            JsonObject quit = qmp.Send("""{"execute":"quit"}""");
            Assert.True(quit["return"] is JsonObject, quit.ToJsonString());
            int? status = emu.WaitForExit(TimeSpan.FromSeconds(30));
            Assert.True(spammer.Join(TimeSpan.FromSeconds(30)), "the busy client was not disconnected");
            Assert.True(status == 0, $"round {round}: exit status {status}: {emu.Stderr}");
            Assert.DoesNotContain("Unhandled", emu.Stderr, StringComparison.Ordinal);
        }
    }

    private static int Ticks(string serial)
    {
        using var stream = new FileStream(serial, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n').Count(l => l.StartsWith("tick ", StringComparison.Ordinal) && l.TrimEnd().Length == 9);
    }

    private static void WaitForTicks(string serial, int count)
    {
        var watch = Stopwatch.StartNew();
        while (!File.Exists(serial) || Ticks(serial) < count)
        {
            Assert.True(watch.Elapsed < Start, $"the guest did not print {count} tick lines within {Start}");
            Thread.Sleep(50);
        }
    }
}
