using System.Text.Json.Nodes;
using Emulator.Control.Qmp;

namespace Emulator.Cli.Commands;

/// <summary>`emu kallsyms GUEST`: the kernel symbols emu finds in the guest's memory (x-emu-query-kallsyms).</summary>
internal static class KallsymsCommand
{
    public static int Execute(KallsymsOptions o)
    {
        using QmpClient client = GuestConnection.Open(o.Guest, TimeSpan.FromSeconds(60));
        try
        {
            if (o.Name is { } name)
            {
                JsonNode s = client.Execute("x-emu-query-kallsyms", new JsonObject { ["name"] = name });
                Console.WriteLine($"{s["address"]!.GetValue<string>()[2..].PadLeft(16, '0')} {s["type"]} {s["name"]}");
            }
            else
            {
                Console.Write(client.Execute("x-emu-query-kallsyms")["symbols"]!.GetValue<string>());
            }

            return 0;
        }
        catch (QmpException e)
        {
            Console.Error.WriteLine($"emu: {o.Guest}: {e.Message}");
            return 1;
        }
    }
}
