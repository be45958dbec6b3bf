using System.Net.Sockets;

namespace Emulator.Control.Sockets;

/// <summary>
/// A listening Unix socket only its owner can connect to (mode 0600). It is bound under a temporary
/// name, restricted, and only then renamed to its path, so there is no moment at which another user
/// could connect. An existing socket at the path is replaced only when nothing listens on it any
/// more (a crashed emu's leftover); any other file there is refused, never removed.
/// </summary>
internal static class PrivateUnixSocket
{
    // sun_path holds 108 bytes including the terminating NUL (unix(7)).
    private const int MaxPathBytes = 107;

    /// <summary>Binds and listens on <paramref name="path"/>; throws <see cref="IOException"/> with one line naming the problem.</summary>
    public static Socket Listen(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new IOException($"{path}: control sockets need a POSIX host (Unix socket permissions)");
        }

        string full = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory))
        {
            throw new IOException($"{path}: the directory does not exist");
        }

        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Random.Shared.Next():x8}");
        if (System.Text.Encoding.UTF8.GetByteCount(temporary) > MaxPathBytes)
        {
            throw new IOException($"{path}: too long for a Unix socket path ({MaxPathBytes} bytes at most, with emu's temporary name)");
        }

        CheckTarget(path, full);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(temporary));
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(16);
            File.Move(temporary, full, overwrite: true);
            return socket;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            File.Delete(temporary);
            throw new IOException($"{path}: cannot listen there: {e.Message}", e);
        }
    }

    /// <summary>Removes the socket file at <paramref name="path"/> (when the instance exits).</summary>
    public static void Remove(string path)
    {
        try
        {
            if (IsSocket(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone or not ours to remove: nothing to clean up.
        }
    }

    /// <summary>True when a process accepts connections at <paramref name="path"/>.</summary>
    public static bool IsListening(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static bool IsSocket(string path) => PosixFileStatus.Of(path) is { IsSocket: true };

    private static void CheckTarget(string path, string full)
    {
        if (PosixFileStatus.Of(full) is not { } status)
        {
            return;
        }

        if (!status.IsSocket)
        {
            throw new IOException($"{path}: exists and is not a socket (emu leaves it alone)");
        }

        if (IsListening(full))
        {
            throw new IOException($"{path}: another process is already listening there");
        }
    }
}
