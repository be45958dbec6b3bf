namespace Emulator.Core.Snapshots;

/// <summary>
/// A snapshot file that cannot be used: not a snapshot, cut short, corrupted, of an unknown format
/// version, or not matching the machine. The message is one line that names the file and says what
/// is wrong, as emu prints it.
/// </summary>
public sealed class SnapshotFileException : Exception
{
    /// <summary>A problem with the file at <paramref name="path"/>.</summary>
    public SnapshotFileException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>A problem with the file at <paramref name="path"/>, caused by <paramref name="inner"/>.</summary>
    public SnapshotFileException(string path, string problem, Exception inner)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public SnapshotFileException()
        : this("snapshot", "unusable")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public SnapshotFileException(string message)
        : this("snapshot", message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public SnapshotFileException(string message, Exception inner)
        : this("snapshot", message, inner)
    {
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
