using System.Text.Json;
using System.Text.Json.Nodes;
using Emulator.Core.Snapshots;
using Emulator.Machines.Pc;
using Emulator.Machines.Snapshots;

namespace Emulator.Control.Qmp.Commands;

/// <summary>
/// <c>x-emu-snapshot-save</c>: writes a snapshot of the whole machine to a file of its own and
/// returns when the file is complete. QEMU has no command of this shape: its <c>snapshot-save</c> is
/// a background job that stores an internal snapshot inside qcow2 images (with <c>job-id</c>,
/// <c>tag</c>, <c>vmstate</c> and <c>devices</c>), and its <c>migrate</c> to a file leaves the VM
/// paused for an incoming side. emu writes one file beside the disks, so the command is an
/// extension (QEMU's <c>x-</c> prefix), synchronous, and the VM runs again afterwards as it does
/// after QEMU's <c>savevm</c> (STOP and RESUME events around it). <c>human-monitor-command</c>'s
/// <c>savevm NAME|FILE</c> does the same. <c>x-emu-snapshot-load</c> and <c>loadvm NAME|FILE</c>
/// are the way back, as QEMU's <c>loadvm</c> (its <c>snapshot-load</c> job reads internal qcow2
/// snapshots, which emu does not write): the running machine takes the snapshot's RAM, devices and
/// vCPUs, with STOP and RESUME events around it.
/// <para>
/// QEMU's job forms (6.0+) are here too, so that clients written for them work: <c>snapshot-save</c>,
/// <c>snapshot-load</c> and <c>snapshot-delete</c> take <c>job-id</c>, <c>tag</c>, <c>vmstate</c> (not
/// for delete) and <c>devices</c>, return <c>{}</c> and run as a <see cref="QmpJobs"/> job. The tag
/// is what savevm's NAME|FILE is (a NAME in the snapshot directory); deviation: QEMU stores the
/// state inside the qcow2 node <c>vmstate</c> names and an internal snapshot in each of
/// <c>devices</c>, emu keeps everything in the tag's one file and records the identity of every
/// disk, so it takes both arguments for their shape (a string, a list of strings) and does not look
/// the names up. A failed load leaves the guest running where emu can tell before it stops it (a
/// missing or damaged file, another machine's shape); QEMU's leaves it stopped.
/// </para>
/// </summary>
internal static class SnapshotCommands
{
    public static void Register(QmpCommandTable table)
    {
        QmpParameter jobId = new("job-id", JsonValueKind.String), tag = new("tag", JsonValueKind.String),
            vmstate = new("vmstate", JsonValueKind.String), devices = new("devices", JsonValueKind.Array);
        table.Add("snapshot-save", [jobId, tag, vmstate, devices], (c, args) => StartJob(c, args, "snapshot-save", file => Save(c.Machine, file)));
        table.Add("snapshot-load", [jobId, tag, vmstate, devices], (c, args) => StartJob(c, args, "snapshot-load", file => Load(c.Machine, file)));
        table.Add("snapshot-delete", [jobId, tag, devices], (c, args) => StartJob(c, args, "snapshot-delete", Delete));
        table.Add("x-emu-snapshot-save", [new QmpParameter("file", JsonValueKind.String)], (c, args) => Save(c.Machine, args["file"]!.GetValue<string>()));
        table.Add("x-emu-snapshot-load", [new QmpParameter("file", JsonValueKind.String)], (c, args) =>
        {
            Load(c.Machine, args["file"]!.GetValue<string>());
            return new JsonObject();
        });
    }

    // The job forms: arguments checked as QEMU does before the job exists, the work on the job's thread.
    private static JsonObject StartJob(QmpContext c, JsonObject args, string type, Action<string> work)
    {
        if (args["devices"]!.AsArray().Any(d => d?.GetValueKind() != JsonValueKind.String))
        {
            throw new QmpException("Invalid parameter type for 'devices[0]', expected: string");
        }

        string tag = args["tag"]!.GetValue<string>();
        c.Jobs.Start(args["job-id"]!.GetValue<string>(), type, () => work(tag));
        return new JsonObject();
    }

    /// <summary>
    /// Deletes the snapshot <paramref name="nameOrFile"/> stands for. As QEMU's snapshot-delete, a tag
    /// with no snapshot is no error; a file that is not an emu snapshot is refused, never deleted.
    /// </summary>
    public static void Delete(string nameOrFile)
    {
        try
        {
            string path = SnapshotStore.Resolve(nameOrFile);
            if (!File.Exists(path))
            {
                return;
            }

            Span<byte> magic = stackalloc byte[SnapshotFormat.Magic.Length];
            using (FileStream f = File.OpenRead(path))
            {
                if (f.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) != magic.Length || !magic.SequenceEqual(SnapshotFormat.Magic))
                {
                    throw new QmpException($"snapshot-delete {nameOrFile}: {path} is not an emu snapshot; not deleted");
                }
            }

            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new QmpException($"snapshot-delete {nameOrFile}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads <paramref name="nameOrFile"/> into the running machine (see <see cref="PcMachine.LoadSnapshot"/>).
    /// A file that is cut or corrupted, of another machine's shape or over changed disks is refused
    /// with a <see cref="QmpException"/> (GenericError) and the guest runs on untouched.
    /// </summary>
    public static void Load(PcMachine machine, string nameOrFile)
    {
        try
        {
            using SnapshotReader snapshot = SnapshotReader.Open(SnapshotStore.Resolve(nameOrFile));
            machine.LoadSnapshot(snapshot);
        }
        catch (SnapshotFileException e)
        {
            throw new QmpException($"loadvm: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new QmpException($"loadvm {nameOrFile}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Saves to <paramref name="nameOrFile"/> (a NAME in the snapshot directory, or a path relative to
    /// emu's working directory) and describes the result: the file, its size, the RAM pages and how
    /// many were all zeros, and how long the guest was stopped.
    /// </summary>
    public static JsonObject Save(PcMachine machine, string nameOrFile)
    {
        SnapshotSaveResult result;
        try
        {
            result = machine.SaveSnapshot(SnapshotStore.ResolveForWriting(nameOrFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            throw new QmpException($"snapshot {nameOrFile}: {e.Message}", e);
        }

        return new JsonObject
        {
            ["file"] = result.Path,
            ["bytes"] = result.Bytes,
            ["ram-pages"] = result.Ram.Pages,
            ["zero-pages"] = result.Ram.ZeroPages,
            ["ram-bytes-stored"] = result.Ram.StoredBytes,
            ["paused-ms"] = Math.Round(result.Paused.TotalMilliseconds, 1),
        };
    }
}
