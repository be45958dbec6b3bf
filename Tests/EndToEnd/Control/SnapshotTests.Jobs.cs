using System.Text.Json.Nodes;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// QEMU's job form of the snapshot commands (snapshot-save, snapshot-load, snapshot-delete with
/// job-id, tag, vmstate, devices; query-jobs; job-dismiss), sent to emu and to qemu-system-x86_64
/// -accel tcg running the ticker with a qcow2 disk: the replies have QEMU's shapes and error
/// classes, and each job goes through the same JOB_STATUS_CHANGE states, a failing one included.
/// </summary>
public sealed partial class SnapshotTests
{
    // The script: a line to send and, for a job, its id, whose "concluded" event is waited for.
    private static readonly (string Line, string? Job)[] JobScript =
    [
        ("""{"execute":"snapshot-save","arguments":{"job-id":"s1","tag":"TAG","vmstate":"disk0","devices":["disk0"]}}""", "s1"),
        ("""{"execute":"query-jobs"}""", null),
        ("""{"execute":"snapshot-save","arguments":{"job-id":"s1","tag":"TAG","vmstate":"disk0","devices":["disk0"]}}""", null),
        ("""{"execute":"job-dismiss","arguments":{"id":"no-such-job"}}""", null),
        ("""{"execute":"job-dismiss","arguments":{"id":"s1"}}""", null),
        ("""{"execute":"query-jobs"}""", null),
        ("""{"execute":"snapshot-load","arguments":{"job-id":"l1","tag":"TAG","vmstate":"disk0","devices":["disk0"]}}""", "l1"),
        ("""{"execute":"query-jobs"}""", null),
        ("""{"execute":"job-dismiss","arguments":{"id":"l1"}}""", null),
        ("""{"execute":"snapshot-load","arguments":{"job-id":"l2","tag":"TAG-missing","vmstate":"disk0","devices":["disk0"]}}""", "l2"),
        ("""{"execute":"query-jobs"}""", null),
        ("""{"execute":"job-dismiss","arguments":{"id":"l2"}}""", null),
        ("""{"execute":"snapshot-save","arguments":{"job-id":"s3","tag":"TAG"}}""", null),
        ("""{"execute":"job-dismiss","arguments":{}}""", null),
        ("""{"execute":"snapshot-delete","arguments":{"job-id":"d1","tag":"TAG","devices":["disk0"]}}""", "d1"),
        ("""{"execute":"query-jobs"}""", null),
        ("""{"execute":"job-dismiss","arguments":{"id":"d1"}}""", null),
        ("""{"execute":"query-jobs"}""", null),
    ];

    [SkippableFact]
    public void SnapshotJobsGoThroughTheStatesQemusDo()
    {
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        string disk = Path.Combine(_dir, "disk.qcow2");
        (int status, string output) = Emulator.Tests.Block.QemuImg.Run("create", "-q", "-f", "qcow2", disk, "16M");
        Assert.True(status == 0, output);
        string qemuSocket = Path.Combine(_dir, "qemu.qmp");
        string emuSocket = Path.Combine(_dir, "emu.qmp");
        string tag = Path.Combine(_dir, "job.emusnap");
        using GuestProcess qemu = GuestProcess.Qemu("-bios", GuestProcess.Ticker, "-serial", "null",
            "-drive", $"file={disk},if=none,id=drive0,node-name=disk0,format=qcow2", "-device", "ide-hd,drive=drive0",
            "-qmp", $"unix:{qemuSocket},server,wait=off");
        using GuestProcess emu = GuestProcess.Emu(Environment, "run", "--accel", "jit", "--bios", GuestProcess.Ticker, "--serial", "null",
            "--qmp", $"unix:{emuSocket},server,wait=off");

        (List<JsonObject> qemuReplies, List<JsonObject> qemuEvents) = RunJobScript(qemuSocket, qemu, tag, () => { });
        bool savedFile = false;
        (List<JsonObject> emuReplies, List<JsonObject> emuEvents) = RunJobScript(emuSocket, emu, tag, () => savedFile |= File.Exists(tag));
        Assert.True(savedFile, "snapshot-save made no file");
        Assert.False(File.Exists(tag), "snapshot-delete left the file");

        for (int i = 0; i < qemuReplies.Count; i++)
        {
            string what = $"reply to {JobScript[i].Line}";
            Assert.True(JsonShape.Difference(qemuReplies[i], emuReplies[i]) is null,
                $"{what}: {JsonShape.Difference(qemuReplies[i], emuReplies[i])}\nQEMU: {qemuReplies[i].ToJsonString()}\nemu:  {emuReplies[i].ToJsonString()}");
            Assert.Equal(qemuReplies[i]["error"]?["class"]?.GetValue<string>(), emuReplies[i]["error"]?["class"]?.GetValue<string>());
        }

        // The failed load's job carries an error, in both; the concluded jobs' statuses agree.
        Assert.NotNull(qemuReplies[10]["return"]![0]!["error"]);
        Assert.Contains("job.emusnap-missing", emuReplies[10]["return"]![0]!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("concluded", emuReplies[1]["return"]![0]!["status"]!.GetValue<string>());
        Assert.Empty(emuReplies[^1]["return"]!.AsArray());

        // Every job's states, in order, as QEMU's; every event of the same shape as QEMU's.
        Assert.Equal(JobStates(qemuEvents), JobStates(emuEvents));
        Assert.Contains("l2: created running aborting concluded null", JobStates(emuEvents));
        foreach (JsonObject e in emuEvents)
        {
            JsonObject like = qemuEvents.First(q => q["event"]!.GetValue<string>() == e["event"]!.GetValue<string>());
            Assert.True(JsonShape.Difference(like, e) is null, $"{e.ToJsonString()} against QEMU's {like.ToJsonString()}");
        }

        // The save and the load stop and resume the running guest. Deviation: a load emu refuses
        // before it stops the guest (no such file) leaves it running; QEMU's stops it for good.
        string[] pauses = [.. emuEvents.Select(e => e["event"]!.GetValue<string>()).Where(n => n is "STOP" or "RESUME")];
        Assert.Equal(["STOP", "RESUME", "STOP", "RESUME"], pauses);
        Assert.Equal(["STOP", "RESUME", "STOP", "RESUME", "STOP"], qemuEvents.Select(e => e["event"]!.GetValue<string>()).Where(n => n is "STOP" or "RESUME"));

        // emu's own: a file that is not a snapshot is not deleted; the job says why.
        string notes = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notes, "not a snapshot");
        using (RawQmp qmp = RawQmp.Connect(emuSocket, Patience))
        {
            qmp.Send("""{"execute":"qmp_capabilities"}""");
            Assert.True(qmp.Send($$$"""{"execute":"snapshot-delete","arguments":{"job-id":"d2","tag":"{{{notes}}}","devices":[]}}""")["return"] is JsonObject);
            qmp.WaitForEvent(e => IsStatus(e, "d2", "concluded"));
            Assert.Contains("is not an emu snapshot", qmp.Send("""{"execute":"query-jobs"}""")["return"]![0]!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.True(File.Exists(notes));
        Assert.False(emu.HasExited, emu.Stderr);
    }

    private static (List<JsonObject> Replies, List<JsonObject> Events) RunJobScript(string socket, GuestProcess process, string tag, Action afterEach)
    {
        using RawQmp qmp = RawQmp.Connect(socket, Patience, () => process.HasExited);
        qmp.Send("""{"execute":"qmp_capabilities"}""");
        var replies = new List<JsonObject>();
        foreach ((string line, string? job) in JobScript)
        {
            replies.Add(qmp.Send(line.Replace("TAG", tag, StringComparison.Ordinal)));
            if (job is not null)
            {
                qmp.WaitForEvent(e => IsStatus(e, job, "concluded"));
            }

            afterEach();
        }

        // job-dismiss's "null" comes before its reply; nothing is left to wait for.
        return (replies, qmp.Events);
    }

    private static bool IsStatus(JsonObject e, string job, string status) =>
        e["event"]!.GetValue<string>() == "JOB_STATUS_CHANGE" && e["data"]!["id"]!.GetValue<string>() == job && e["data"]!["status"]!.GetValue<string>() == status;

    // "id: status status ..." per job, in the order the jobs began.
    private static List<string> JobStates(List<JsonObject> events) =>
        [.. events.Where(e => e["event"]!.GetValue<string>() == "JOB_STATUS_CHANGE")
            .GroupBy(e => e["data"]!["id"]!.GetValue<string>())
            .Select(g => $"{g.Key}: {string.Join(' ', g.Select(e => e["data"]!["status"]!.GetValue<string>()))}")];
}
