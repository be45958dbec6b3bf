using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp;

/// <summary>Machine events as QMP events: <c>{"timestamp": {"seconds", "microseconds"}, "event": NAME, "data": {...}}</c>.</summary>
internal static class QmpEvents
{
    public static JsonObject ToJson(MachineEvent e, DateTime utcNow)
    {
        long micros = (utcNow - DateTime.UnixEpoch).Ticks / 10;
        var json = new JsonObject
        {
            ["timestamp"] = new JsonObject
            {
                ["seconds"] = micros / 1_000_000,
                ["microseconds"] = micros % 1_000_000,
            },
            ["event"] = Name(e.Kind),
        };
        if (e.Kind is MachineEventKind.Reset or MachineEventKind.Shutdown)
        {
            json["data"] = new JsonObject
            {
                ["guest"] = e.Guest,
                ["reason"] = e.Reason ?? (e.Guest ? "guest-reset" : "host-qmp-system-reset"),
            };
        }

        return json;
    }

    private static string Name(MachineEventKind kind) => kind switch
    {
        MachineEventKind.Stop => "STOP",
        MachineEventKind.Resume => "RESUME",
        MachineEventKind.Reset => "RESET",
        MachineEventKind.Powerdown => "POWERDOWN",
        _ => "SHUTDOWN",
    };
}
