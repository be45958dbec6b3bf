using System.Net.Sockets;
using Emulator.Control.Sockets;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp;

/// <summary>
/// The machine's control sockets: Unix sockets speaking QMP (QEMU's Machine Protocol), any number of
/// them (the per-user registration socket that <c>emu list</c> finds, and <c>--qmp</c>), each accepting
/// up to <see cref="MaxClients"/> clients at once. Machine events go to every negotiated client.
/// </summary>
public sealed class QmpServer : IDisposable
{
    /// <summary>Clients served at once per server; further connections are closed at once.</summary>
    public const int MaxClients = 16;

    private readonly QmpContext _context;
    private readonly Lock _lock = new();
    private readonly List<QmpSession> _sessions = [];
    private readonly List<(Socket Socket, string Path, Thread Acceptor)> _listeners = [];
    private readonly ManualResetEventSlim _firstClient = new(false);
    private bool _disposed;

    /// <summary>Serves <paramref name="machine"/>; <paramref name="instance"/> answers query-name, query-version, query-kvm.</summary>
    public QmpServer(PcMachine machine, InstanceFacts instance)
    {
        _context = new QmpContext(machine, instance, QmpCommandTable.Standard(), new Guest.KernelSymbolCache(machine), new QmpJobs(Broadcast));
        machine.EventRaised += Broadcast;
    }

    /// <summary>Listens on a new socket at <paramref name="path"/> (mode 0600); throws <see cref="IOException"/> with one line when it cannot.</summary>
    public void Listen(string path)
    {
        Socket socket = PrivateUnixSocket.Listen(path);
        var acceptor = new Thread(() => AcceptLoop(socket)) { IsBackground = true, Name = "emu-qmp-accept" };
        lock (_lock)
        {
            _listeners.Add((socket, Path.GetFullPath(path), acceptor));
        }

        acceptor.Start();
    }

    /// <summary>Set once a client has connected to any of the sockets (QEMU's <c>wait=on</c> waits for it).</summary>
    public WaitHandle ClientConnected => _firstClient.WaitHandle;

    /// <summary>Stops listening and removes the socket files, sends what clients still have queued (the SHUTDOWN event, a quit's reply), then closes them.</summary>
    public void Dispose()
    {
        List<QmpSession> sessions;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sessions = [.. _sessions];
            _sessions.Clear();
        }

        _context.Machine.EventRaised -= Broadcast;
        foreach ((Socket socket, string path, _) in _listeners)
        {
            PrivateUnixSocket.Remove(path);
            socket.Dispose();
        }

        foreach (QmpSession s in sessions)
        {
            s.Close(TimeSpan.FromSeconds(1));
            s.Dispose();
        }

        _firstClient.Set();
        _firstClient.Dispose();
    }

    private void AcceptLoop(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var session = new QmpSession(client, _context, Forget);
            lock (_lock)
            {
                if (_disposed || _sessions.Count >= MaxClients)
                {
                    session.Dispose();
                    continue;
                }

                // Started under the lock (it only queues the greeting and starts two threads): Dispose
                // then either sees a started session or none. Started after the lock, a session that
                // Dispose had just closed and disposed would run its threads on a disposed outbox.
                _sessions.Add(session);
                session.Start();
                _firstClient.Set();
            }
        }
    }

    private void Forget(QmpSession session)
    {
        lock (_lock)
        {
            if (_disposed || !_sessions.Remove(session))
            {
                return;
            }
        }

        session.Close(TimeSpan.Zero);
        session.Dispose();
    }

    // On the machine's thread: only queues, never waits for a client.
    private void Broadcast(MachineEvent e) => Broadcast(QmpEvents.ToJson(e, DateTime.UtcNow));

    private void Broadcast(System.Text.Json.Nodes.JsonObject json)
    {
        lock (_lock)
        {
            foreach (QmpSession s in _sessions)
            {
                s.PostEvent((System.Text.Json.Nodes.JsonObject)json.DeepClone());
            }
        }
    }
}
