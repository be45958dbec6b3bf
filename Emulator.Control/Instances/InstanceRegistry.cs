using System.Net.Sockets;
using Emulator.Control.Qmp;
using Emulator.Control.Sockets;

namespace Emulator.Control.Instances;

/// <summary>
/// Finds this user's running emu instances through their registration sockets in the
/// <see cref="RuntimeDirectory"/>, asks each for its state over QMP, and removes the sockets of
/// instances that died without cleaning up (SIGKILL, a crash): a socket nobody listens on.
/// </summary>
public static class InstanceRegistry
{
    /// <summary>How long one instance may take to answer before it is listed as not responding.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The instances, by pid; instances that do not answer in time are listed with status "not responding".</summary>
    public static List<InstanceInfo> List()
    {
        string directory = RuntimeDirectory.PathForUser();
        var found = new List<InstanceInfo>();
        if (PosixFileStatus.Of(directory) is null)
        {
            return found;
        }

        RuntimeDirectory.Check(directory);
        foreach (string socket in Directory.EnumerateFiles(directory, "*" + RuntimeDirectory.SocketSuffix))
        {
            if (!int.TryParse(Path.GetFileNameWithoutExtension(socket), out int pid) || PosixFileStatus.Of(socket) is not { IsSocket: true })
            {
                continue;
            }

            if (Query(socket, pid) is { } info)
            {
                found.Add(info);
            }
        }

        return [.. found.OrderBy(i => i.Pid)];
    }

    /// <summary>Finds one instance by --name or pid; null when none matches.</summary>
    public static InstanceInfo? Find(string nameOrPid)
    {
        List<InstanceInfo> all = List();
        return all.FirstOrDefault(i => i.Name == nameOrPid) ?? all.FirstOrDefault(i => i.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) == nameOrPid);
    }

    private static InstanceInfo? Query(string socket, int pid)
    {
        try
        {
            using QmpClient client = QmpClient.Connect(socket, AnswerTimeout);
            return InstanceInfo.FromQmp(client.Execute("x-emu-query-instance"), socket);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            // Nobody listens: the process is gone (a live emu keeps accepting until it exits).
            PrivateUnixSocket.Remove(socket);
            return null;
        }
        catch (Exception e) when (e is IOException or SocketException or QmpException or InvalidDataException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return new InstanceInfo(pid, null, "?", "not responding", TimeSpan.Zero, [], socket);
        }
    }
}
