using System.Text.Json.Nodes;

namespace Emulator.Control.Qmp.Commands;

/// <summary><c>system_reset</c>, <c>system_powerdown</c>, <c>system_wakeup</c> and <c>quit</c>.</summary>
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
        table.Add("system_wakeup", [], (c, _) =>
        {
            // QEMU's wording when the guest is not in S3.
            if (!c.Machine.WakeFromHost())
            {
                throw new QmpException("Unable to wake up: guest is not in suspended state");
            }

            return new JsonObject();
        });
        table.Add("quit", [], (c, _) =>
        {
            c.Machine.Quit("host-qmp-quit");
            return new JsonObject();
        });
    }
}
