using System.Text.Json.Nodes;

namespace Emulator.Control.Instances;

/// <summary>One running emu as <c>emu list</c> shows it.</summary>
/// <param name="Pid">Its process id.</param>
/// <param name="Name">--name, or null.</param>
/// <param name="Backend">jit or kvm.</param>
/// <param name="Status">QMP's run state: running, paused, prelaunch, debug.</param>
/// <param name="Uptime">Time since the machine was built.</param>
/// <param name="Vcpus">Each vCPU's state (running, paused, halted, waiting, stopped).</param>
/// <param name="Socket">The registration socket.</param>
public sealed record InstanceInfo(int Pid, string? Name, string Backend, string Status, TimeSpan Uptime, IReadOnlyList<string> Vcpus, string Socket)
{
    /// <summary>Reads the reply of <c>x-emu-query-instance</c>; throws <see cref="InvalidDataException"/> when it lacks a member.</summary>
    public static InstanceInfo FromQmp(JsonNode reply, string socket) => new(
        Member(reply, "pid").GetValue<int>(),
        reply["name"]?.GetValue<string>(),
        Member(reply, "backend").GetValue<string>(),
        Member(reply, "status").GetValue<string>(),
        TimeSpan.FromMilliseconds(Member(reply, "uptime-ms").GetValue<long>()),
        [.. Member(reply, "vcpus").AsArray().Select(v => Member(v!, "state").GetValue<string>())],
        socket);

    /// <summary>The JSON object <c>emu list --json</c> prints for this instance.</summary>
    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["pid"] = Pid,
        ["backend"] = Backend,
        ["status"] = Status,
        ["uptime-seconds"] = Math.Round(Uptime.TotalSeconds, 1),
        ["vcpus"] = new JsonArray([.. Vcpus.Select((s, i) => (JsonNode)new JsonObject { ["cpu-index"] = i, ["state"] = s })]),
        ["socket"] = Socket,
    };

    private static JsonNode Member(JsonNode node, string name) =>
        node[name] ?? throw new InvalidDataException($"x-emu-query-instance: no '{name}' in the reply");
}
