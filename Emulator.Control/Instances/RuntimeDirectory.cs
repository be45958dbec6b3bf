using Emulator.Control.Sockets;

namespace Emulator.Control.Instances;

/// <summary>
/// The per-user directory where every running emu registers its control socket:
/// <c>$XDG_RUNTIME_DIR/emu</c>, or <c>/tmp/emu-UID</c> when XDG_RUNTIME_DIR is unset. Mode 0700 and
/// owned by the user, checked every time (a directory under /tmp could have been made by someone
/// else, or be a symbolic link): other users can neither list the guests nor reach their sockets.
/// </summary>
public static class RuntimeDirectory
{
    /// <summary>The file name suffix of a registered control socket (<c>PID.qmp</c>).</summary>
    public const string SocketSuffix = ".qmp";

    /// <summary>Where this user's emu instances register, from the environment.</summary>
    public static string PathForUser()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathRooted(xdg)
            ? System.IO.Path.Combine(xdg, "emu")
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"emu-{PosixFileStatus.CurrentUid()}");
    }

    /// <summary>Creates the directory if needed and checks it is private to this user; throws <see cref="IOException"/> with the reason otherwise.</summary>
    public static string Ensure()
    {
        string path = PathForUser();
        if (OperatingSystem.IsWindows())
        {
            throw new IOException("the per-user runtime directory needs a POSIX host");
        }

        if (PosixFileStatus.Of(path) is null)
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Check(path);
        return path;
    }

    /// <summary>Checks an existing directory: a real directory (not a link), owned by this user, no access for group or others.</summary>
    public static void Check(string path)
    {
        PosixFileStatus status = PosixFileStatus.Of(path) ?? throw new IOException($"{path}: does not exist");
        if (!status.IsDirectory)
        {
            throw new IOException($"{path}: not a directory (a symbolic link or file is not accepted)");
        }

        if (status.Uid != PosixFileStatus.CurrentUid())
        {
            throw new IOException($"{path}: owned by uid {status.Uid}, not by this user");
        }

        if ((status.Permissions & 0x3F) != 0)
        {
            throw new IOException($"{path}: group or others have access (mode {Convert.ToString(status.Permissions, 8)}; 700 expected)");
        }
    }

    /// <summary>The registration socket of process <paramref name="pid"/>.</summary>
    public static string SocketPath(string directory, int pid) => System.IO.Path.Combine(directory, pid + SocketSuffix);
}
