using System.Text.Json.Nodes;

namespace Emulator.Control.Qmp;

/// <summary>
/// QEMU's job model for the commands that run in the background (qapi/job.json): a command creates a
/// job under a client-chosen <c>job-id</c> and returns <c>{}</c>; the job then goes
/// created -> running -> waiting -> pending -> concluded (or running -> aborting -> concluded with an
/// error), each step a <c>JOB_STATUS_CHANGE</c> event to every client; <c>query-jobs</c> lists the jobs
/// (newest first) and <c>job-dismiss</c> removes a concluded one (status <c>null</c>), as QEMU's
/// snapshot jobs need (they are created with manual dismiss). A job id stays taken until dismissed.
/// </summary>
internal sealed class QmpJobs(Action<JsonObject> publish)
{
    private readonly Lock _lock = new();
    // Newest first, as QEMU lists them.
    private readonly List<Job> _jobs = [];

    /// <summary>Registers query-jobs and job-dismiss.</summary>
    public static void Register(QmpCommandTable table)
    {
        table.Add("query-jobs", [], (c, _) => c.Jobs.Query());
        table.Add("job-dismiss", [new QmpParameter("id", System.Text.Json.JsonValueKind.String)], (c, args) =>
        {
            c.Jobs.Dismiss(args["id"]!.GetValue<string>());
            return new JsonObject();
        });
    }

    /// <summary>
    /// Creates job <paramref name="id"/> of <paramref name="type"/> (created, running) and runs
    /// <paramref name="work"/> on a thread of its own; an exception it throws is the job's error.
    /// </summary>
    public void Start(string id, string type, Action work)
    {
        var job = new Job(id, type);
        lock (_lock)
        {
            if (_jobs.Any(j => j.Id == id))
            {
                throw new QmpException($"Job ID '{id}' already in use");
            }

            _jobs.Insert(0, job);
            Change(job, "created");
            Change(job, "running");
        }

        var thread = new Thread(() => Run(job, work)) { IsBackground = true, Name = $"emu-job-{type}" };
        thread.Start();
    }

    private void Run(Job job, Action work)
    {
        string? error = null;
        try
        {
            work();
        }
        catch (Exception e)
        {
            // The work's own failures are QmpExceptions with QEMU-like messages; anything else still
            // ends the job, not emu (the thread is the job's own).
            error = e.Message;
        }

        lock (_lock)
        {
            job.Progress = 1;
            if (error is null)
            {
                Change(job, "waiting");
                Change(job, "pending");
            }
            else
            {
                job.Error = error;
                Change(job, "aborting");
            }

            Change(job, "concluded");
        }
    }

    private JsonArray Query()
    {
        lock (_lock)
        {
            return [.. _jobs.Select(j => (JsonNode)j.ToJson())];
        }
    }

    private void Dismiss(string id)
    {
        lock (_lock)
        {
            Job job = _jobs.FirstOrDefault(j => j.Id == id) ?? throw new QmpException("Job not found");
            if (job.Status != "concluded")
            {
                throw new QmpException($"Job '{id}' in state '{job.Status}' cannot accept command verb 'dismiss'");
            }

            _jobs.Remove(job);
            Change(job, "null");
        }
    }

    // Under the lock, so that every client sees one job's changes in order.
    private void Change(Job job, string status)
    {
        job.Status = status;
        publish(QmpEvents.Event("JOB_STATUS_CHANGE", new JsonObject { ["status"] = status, ["id"] = job.Id }, DateTime.UtcNow));
    }

    private sealed class Job(string id, string type)
    {
        public string Id { get; } = id;

        public string Type { get; } = type;

        public string Status { get; set; } = "undefined";

        public int Progress { get; set; }

        public string? Error { get; set; }

        // QEMU's JobInfo: progress counts what is done of the total (one step here).
        public JsonObject ToJson()
        {
            var json = new JsonObject
            {
                ["current-progress"] = Progress,
                ["status"] = Status,
                ["total-progress"] = 1,
                ["type"] = Type,
                ["id"] = Id,
            };
            if (Error is not null)
            {
                json["error"] = Error;
            }

            return json;
        }
    }
}
