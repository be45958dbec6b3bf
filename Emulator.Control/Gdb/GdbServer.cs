using System.Net.Sockets;
using Emulator.Control.Sockets;
using Emulator.Machines.Pc;

namespace Emulator.Control.Gdb;

/// <summary>
/// The gdbstub: listens where <c>--gdb</c> says and serves one debugger at a time (the next may
/// connect after it detaches). Attaching stops the guest; detaching lets it run on.
/// </summary>
public sealed class GdbServer : IDisposable
{
    private readonly PcMachine _machine;
    private readonly Socket _listener;
    private readonly string? _unixPath;
    private readonly Thread _thread;
    private readonly Lock _lock = new();
    private GdbConnection? _current;
    private bool _disposed;

    /// <summary>Binds now (throws <see cref="IOException"/> with one line when it cannot) and starts accepting.</summary>
    public GdbServer(PcMachine machine, GdbEndpoint endpoint)
    {
        _machine = machine;
        if (endpoint.UnixPath is { } path)
        {
            _listener = PrivateUnixSocket.Listen(path);
            _unixPath = Path.GetFullPath(path);
        }
        else
        {
            _listener = new Socket(endpoint.Tcp!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                _listener.Bind(endpoint.Tcp);
                _listener.Listen(1);
            }
            catch (SocketException e)
            {
                _listener.Dispose();
                throw new IOException($"{endpoint.Tcp}: cannot listen there: {e.Message}", e);
            }
        }

        _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "emu-gdbstub" };
        _thread.Start();
    }

    /// <summary>Stops listening and drops the debugger.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _current?.Dispose();
        }

        if (_unixPath is not null)
        {
            PrivateUnixSocket.Remove(_unixPath);
        }

        _listener.Dispose();

        // The session reads guest memory directly (an 'm' packet with registers it already has), and
        // the machine, with its RAM, is disposed right after this server: wait for the session to see
        // its closed connection and end first. Bounded: a session thread is a background thread.
        if (Thread.CurrentThread != _thread && !_thread.Join(TimeSpan.FromSeconds(2)))
        {
            Console.Error.WriteLine("emu: the gdbstub's connection did not end within 2 s of shutdown");
        }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (client.ProtocolType == ProtocolType.Tcp)
            {
                // Packets are small and answered one by one: do not let Nagle's algorithm hold them back.
                client.NoDelay = true;
            }

            var connection = new GdbConnection(client);
            lock (_lock)
            {
                if (_disposed)
                {
                    connection.Dispose();
                    return;
                }

                _current = connection;
            }

            try
            {
                new GdbSession(connection, _machine).Run();
            }
            finally
            {
                lock (_lock)
                {
                    _current = null;
                }

                connection.Dispose();
            }
        }
    }
}
