using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp.Commands;

/// <summary><c>query-cpus-fast</c>: the vCPUs and their host threads.</summary>
internal static class CpuCommands
{
    public static void Register(QmpCommandTable table) =>
        table.Add("query-cpus-fast", [], (c, _) => new JsonArray([.. c.Machine.DescribeVcpus().Select(v => (JsonNode)Describe(v))]));

    // QEMU's CpuInfoFast. Every vCPU is a core of socket 0 with one thread, which is what the MADT
    // and CPUID topology describe; the QOM path is emu's own.
    private static JsonObject Describe(VcpuInfo v) => new()
    {
        ["thread-id"] = v.ThreadId,
        ["props"] = new JsonObject
        {
            ["core-id"] = v.Index,
            ["thread-id"] = 0,
            ["socket-id"] = 0,
        },
        ["qom-path"] = $"/machine/cpu[{v.Index}]",
        ["cpu-index"] = v.Index,
        ["target"] = "x86_64",
    };
}
