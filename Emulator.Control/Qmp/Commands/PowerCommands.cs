using System.Text.Json.Nodes;

namespace Emulator.Control.Qmp.Commands;

/// <summary><c>system_reset</c>, <c>system_powerdown</c> and <c>quit</c>.</summary>
internal static class PowerCommands
{
    public static void Register(QmpCommandTable table)
    {
        table.Add("system_reset", [], (c, _) =>
        {
            c.Machine.ResetFromHost();
            return new JsonObject();
        });
        table.Add("system_powerdown", [], (c, _) =>
        {
            // The ACPI power button: the guest's OS decides whether and how to shut down.
            c.Machine.PressPowerButton();
            return new JsonObject();
        });
        table.Add("quit", [], (c, _) =>
        {
            c.Machine.Quit("host-qmp-quit");
            return new JsonObject();
        });
    }
}
