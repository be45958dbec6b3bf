using System.Globalization;
using System.Text.Json.Nodes;
using Emulator.Control.Guest;
using Emulator.Control.Qmp;

namespace Emulator.Cli.Commands;

/// <summary>
/// `emu kallsyms GUEST`: the kernel symbols emu finds in the guest's memory, or in its bzImage with
/// --from-kernel (x-emu-query-kallsyms); `emu kallsyms --kernel FILE`: a bzImage's symbols at their
/// link-time addresses, read here without a guest.
/// </summary>
internal static class KallsymsCommand
{
    public static int Execute(KallsymsOptions o)
    {
        if (o.Kernel is { } kernel)
        {
            return o.Guest is null && !o.FromKernel
                ? FromImage(kernel, o.Name)
                : throw new UsageException($"--kernel {kernel}: reads a bzImage without a guest; give either GUEST or --kernel");
        }

        if (o.Guest is not { } guest)
        {
            throw new UsageException("kallsyms: which guest? (its --name or pid, see `emu list`), or --kernel FILE");
        }

        using QmpClient client = GuestConnection.Open(guest, TimeSpan.FromSeconds(60));
        var args = new JsonObject { ["kallsyms-source"] = o.FromKernel ? "kernel" : "memory" };
        try
        {
            if (o.Name is { } name)
            {
                args["name"] = name;
                JsonNode s = client.Execute("x-emu-query-kallsyms", args);
                Console.WriteLine($"{s["address"]!.GetValue<string>()[2..].PadLeft(16, '0')} {s["type"]} {s["name"]}");
            }
            else
            {
                Console.Write(client.Execute("x-emu-query-kallsyms", args)["symbols"]!.GetValue<string>());
            }

            return 0;
        }
        catch (QmpException e)
        {
            Console.Error.WriteLine($"emu: {guest}: {e.Message}");
            return 1;
        }
    }

    private static int FromImage(string path, string? name)
    {
        KernelSymbols symbols;
        try
        {
            symbols = KernelImageSymbols.Read(path).Linked;
        }
        catch (InvalidDataException e)
        {
            Console.Error.WriteLine($"emu: --kernel {e.Message}");
            return 1;
        }

        if (name is null)
        {
            using var output = new StreamWriter(Console.OpenStandardOutput());
            symbols.Write(output);
            return 0;
        }

        if (symbols.All.FirstOrDefault(s => s.Name == name) is not { Name: not null } symbol)
        {
            Console.Error.WriteLine($"emu: --kernel {path}: no kernel symbol '{name}'");
            return 1;
        }

        Console.WriteLine($"{symbol.Address.ToString("x16", CultureInfo.InvariantCulture)} {symbol.Type} {symbol.Name}");
        return 0;
    }
}
