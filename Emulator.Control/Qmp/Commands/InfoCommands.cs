using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp.Commands;

/// <summary><c>query-version</c>, <c>query-name</c>, <c>query-kvm</c> and <c>query-commands</c>.</summary>
internal static class InfoCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("query-version", [], (c, _) => Version(c.Instance));
        table.Add("query-name", [], (c, _) => c.Instance.Name is { } name ? new JsonObject { ["name"] = name } : new JsonObject());
        table.Add("query-kvm", [], (c, _) => new JsonObject
        {
            ["enabled"] = c.Machine.AcceleratorKind == AcceleratorKind.Kvm,
            ["present"] = c.Instance.KvmPresent,
        });
        table.Add("query-commands", [], (c, _) => new JsonArray([.. c.Commands.Names.Append("qmp_capabilities").Order(StringComparer.Ordinal).Select(n => (JsonNode)new JsonObject { ["name"] = n })]));
    }

    /// <summary>QEMU's VersionInfo with emu's own version in it: clients read the same keys, and the package says it is emu.</summary>
    public static JsonObject Version(InstanceFacts instance) => new()
    {
        ["qemu"] = new JsonObject
        {
            ["micro"] = Math.Max(0, instance.Version.Build),
            ["minor"] = instance.Version.Minor,
            ["major"] = instance.Version.Major,
        },
        ["package"] = $"emu {instance.Version.Major}.{instance.Version.Minor}.{Math.Max(0, instance.Version.Build)}",
    };
}
