using System.Net.Sockets;
using System.Runtime.InteropServices;
using Emulator.Core.Chardev;

namespace Emulator.Backends.Chardev;

/// <summary>
/// A serial line served on a Unix domain socket: one client at a time is connected to the guest
/// (for example <c>socat - UNIX-CONNECT:PATH</c>). Output while no client is connected is dropped;
/// the next client is accepted when the current one hangs up. A client that stops reading holds up
/// the guest's output, as a line with flow control would.
/// </summary>
public sealed partial class UnixSocketSerialBackend : ISerialBackend
{
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxType = 0x1;
    private const int SocketFileType = 0xC000, FileTypeMask = 0xF000;

    private readonly Socket _listener;
    private readonly Lock _clientLock = new();
    private Socket? _client;
    private Thread? _thread;
    private volatile bool _disposed;

    /// <summary>Listens on <paramref name="path"/>, replacing a socket file left there by an earlier run.</summary>
    /// <exception cref="IOException"><paramref name="path"/> exists and is not a socket.</exception>
    /// <exception cref="SocketException">The socket cannot be bound.</exception>
    public UnixSocketSerialBackend(string path)
    {
        Path = path;
        RemoveStaleSocket(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(1);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>True while a client is connected.</summary>
    public bool HasClient
    {
        get
        {
            lock (_clientLock)
            {
                return _client is not null;
            }
        }
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_clientLock)
        {
            if (_client is null)
            {
                return;
            }

            try
            {
                while (!data.IsEmpty)
                {
                    data = data[_client.Send(data)..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                DropClient();
            }
        }
    }

    /// <inheritdoc/>
    public void Start(Action<ReadOnlySpan<byte>> onInput)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException($"the serial socket {Path} is already started");
        }

        _thread = new Thread(() => Serve(onInput)) { IsBackground = true, Name = "emu-serial-unix" };
        _thread.Start();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _listener.Dispose();
        lock (_clientLock)
        {
            DropClient();
        }

        // The reader may be held up by a guest that is not reading; it is a background thread.
        _thread?.Join(TimeSpan.FromSeconds(1));
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Someone else's file now: leave it.
        }
    }

    private void Serve(Action<ReadOnlySpan<byte>> onInput)
    {
        byte[] buffer = new byte[4096];
        while (!_disposed)
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

            lock (_clientLock)
            {
                _client = client;
            }

            try
            {
                int n;
                while ((n = client.Receive(buffer)) > 0)
                {
                    onInput(buffer.AsSpan(0, n));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The client went away abruptly; accept the next one.
            }

            lock (_clientLock)
            {
                if (_client == client)
                {
                    DropClient();
                }
            }

            client.Dispose();
        }
    }

    private void DropClient()
    {
        _client?.Dispose();
        _client = null;
    }

    private static void RemoveStaleSocket(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            File.Delete(path);
            return;
        }

        Span<byte> statx = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(statx)) != 0)
        {
            return; // Nothing there (or unreadable): bind reports any real problem.
        }

        // struct statx: stx_mode is the 16-bit field at byte 28 (linux/stat.h).
        int mode = BitConverter.ToUInt16(statx[28..30]);
        if ((mode & FileTypeMask) != SocketFileType)
        {
            throw new IOException($"{path} exists and is not a socket");
        }

        File.Delete(path);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, ref byte statxBuffer);
}
