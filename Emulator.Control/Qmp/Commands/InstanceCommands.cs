using System.Text.Json.Nodes;

namespace Emulator.Control.Qmp.Commands;

/// <summary>
/// <c>x-emu-query-instance</c>: what <c>emu list</c> shows of one running emu (an extension, hence
/// the <c>x-</c> prefix QEMU uses for its own non-standard commands).
/// </summary>
internal static class InstanceCommands
{
    public static void Register(QmpCommandTable table) => table.Add("x-emu-query-instance", [], (c, _) =>
    {
        var vcpus = new JsonArray([.. c.Machine.DescribeVcpus().Select(v => (JsonNode)new JsonObject
        {
            ["cpu-index"] = v.Index,
            ["thread-id"] = v.ThreadId,
            ["state"] = v.State,
        })]);
        var result = new JsonObject
        {
            ["pid"] = c.Instance.Pid,
            ["backend"] = c.Machine.AcceleratorName,
            ["status"] = StatusCommands.QueryStatus(c.Machine)["status"]!.DeepClone(),
            ["uptime-ms"] = (long)(DateTime.UtcNow - c.Machine.CreatedAt).TotalMilliseconds,
            ["memory-bytes"] = c.Machine.MemoryBytes,
            ["vcpus"] = vcpus,
        };
        if (c.Instance.Name is { } name)
        {
            result["name"] = name;
        }

        return result;
    });
}
