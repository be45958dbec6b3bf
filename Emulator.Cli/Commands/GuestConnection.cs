using System.Net.Sockets;
using Emulator.Control.Instances;
using Emulator.Control.Qmp;

namespace Emulator.Cli.Commands;

/// <summary>Connects a tool command (perf, kallsyms) to a running guest named by --name or pid.</summary>
internal static class GuestConnection
{
    public static QmpClient Open(string guest, TimeSpan timeout)
    {
        InstanceInfo instance;
        try
        {
            instance = InstanceRegistry.Find(guest) ?? throw new UsageException($"{guest}: no running emu with that name or pid (emu list shows them)");
        }
        catch (IOException e)
        {
            throw new UsageException($"runtime directory {e.Message}", e);
        }

        try
        {
            return QmpClient.Connect(instance.Socket, timeout);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw new UsageException($"{guest}: cannot reach its control socket {instance.Socket}: {e.Message}", e);
        }
    }
}
