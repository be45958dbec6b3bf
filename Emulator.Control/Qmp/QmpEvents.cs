using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp;

/// <summary>Machine events (and others: job status changes) as QMP events: <c>{"timestamp": {"seconds", "microseconds"}, "event": NAME, "data": {...}}</c>.</summary>
internal static class QmpEvents
{
    public static JsonObject ToJson(MachineEvent e, DateTime utcNow) =>
        Event(Name(e.Kind), e.Kind is MachineEventKind.Reset or MachineEventKind.Shutdown
            ? new JsonObject
            {
                ["guest"] = e.Guest,
                ["reason"] = e.Reason ?? (e.Guest ? "guest-reset" : "host-qmp-system-reset"),
            }
            : null, utcNow);

    /// <summary>An event <paramref name="name"/> with <paramref name="data"/> (left out when null), stamped <paramref name="utcNow"/>.</summary>
    public static JsonObject Event(string name, JsonObject? data, DateTime utcNow)
    {
        long micros = (utcNow - DateTime.UnixEpoch).Ticks / 10;
        var json = new JsonObject
        {
            ["timestamp"] = new JsonObject
            {
                ["seconds"] = micros / 1_000_000,
                ["microseconds"] = micros % 1_000_000,
            },
            ["event"] = name,
        };
        if (data is not null)
        {
            json["data"] = data;
        }

        return json;
    }

    private static string Name(MachineEventKind kind) => kind switch
    {
        MachineEventKind.Stop => "STOP",
        MachineEventKind.Resume => "RESUME",
        MachineEventKind.Reset => "RESET",
        MachineEventKind.Powerdown => "POWERDOWN",
        MachineEventKind.Suspend => "SUSPEND",
        MachineEventKind.Wakeup => "WAKEUP",
        _ => "SHUTDOWN",
    };
}
