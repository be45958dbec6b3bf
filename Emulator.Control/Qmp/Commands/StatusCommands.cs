using System.Text.Json.Nodes;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp.Commands;

/// <summary><c>query-status</c>, <c>stop</c> and <c>cont</c>: the VM's run state.</summary>
internal static class StatusCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("query-status", [], (c, _) => QueryStatus(c.Machine));
        table.Add("stop", [], (c, _) =>
        {
            c.Machine.Stop(MachineRunState.Paused);
            return new JsonObject();
        });
        table.Add("cont", [], (c, _) =>
        {
            c.Machine.Continue();
            return new JsonObject();
        });
    }

    /// <summary>QEMU's StatusInfo: status, running, and (QEMU 7) singlestep, which emu never does for the whole VM.</summary>
    public static JsonObject QueryStatus(PcMachine machine)
    {
        MachineRunState state = machine.RunState;
        return new JsonObject
        {
            ["status"] = state.QmpName(),
            ["singlestep"] = false,
            ["running"] = state == MachineRunState.Running,
        };
    }
}
