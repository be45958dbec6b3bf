namespace Emulator.Machines.Snapshots;

/// <summary>
/// Where named snapshots live: a NAME (no '/') is the file NAME.emusnap in the user's snapshot
/// directory, <c>$XDG_DATA_HOME/emu/snapshots</c> (or <c>~/.local/share/emu/snapshots</c>);
/// anything with a '/' is a file path (<c>./snap</c> for one in the current directory).
/// </summary>
public static class SnapshotStore
{
    /// <summary>The extension of named snapshots.</summary>
    public const string Extension = ".emusnap";

    /// <summary>The user's snapshot directory (not created).</summary>
    public static string Directory
    {
        get
        {
            string? data = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            if (string.IsNullOrEmpty(data))
            {
                data = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            }

            return Path.Combine(data, "emu", "snapshots");
        }
    }

    /// <summary>True when <paramref name="nameOrFile"/> names a snapshot in <see cref="Directory"/> rather than a file.</summary>
    public static bool IsName(string nameOrFile) => !nameOrFile.Contains('/', StringComparison.Ordinal);

    /// <summary>The file <paramref name="nameOrFile"/> stands for, as an absolute path.</summary>
    public static string Resolve(string nameOrFile)
    {
        if (nameOrFile.Length == 0 || nameOrFile is "." or "..")
        {
            throw new ArgumentException($"'{nameOrFile}' is neither a snapshot name nor a file", nameof(nameOrFile));
        }

        return IsName(nameOrFile) ? Path.Combine(Directory, nameOrFile + Extension) : Path.GetFullPath(nameOrFile);
    }

    /// <summary>As <see cref="Resolve"/>, creating the snapshot directory (mode 0700) for a name.</summary>
    public static string ResolveForWriting(string nameOrFile)
    {
        string path = Resolve(nameOrFile);
        if (IsName(nameOrFile) && OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else if (IsName(nameOrFile))
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }
}
