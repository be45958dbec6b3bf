namespace Emulator.Backends.Block;

/// <summary>
/// A disk image that cannot be used as given: a corrupt or unsupported header or table, or a format
/// that does not match what the user asked for. The message is one line that says what is wrong
/// (the caller puts the option and file name in front); nothing has been written to the file.
/// </summary>
public sealed class DiskImageException : Exception
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public DiskImageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its one-line message and the failure behind it.</summary>
    public DiskImageException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with no message (for serializers).</summary>
    public DiskImageException()
    {
    }
}
