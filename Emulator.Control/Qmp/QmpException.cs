namespace Emulator.Control.Qmp;

/// <summary>
/// A command failed; the client gets <c>{"error": {"class": ..., "desc": ...}}</c> and the connection
/// stays open. The classes are QEMU's (qapi/error.json): GenericError for nearly everything,
/// CommandNotFound for unknown commands and for commands before capabilities negotiation.
/// </summary>
public sealed class QmpException : Exception
{
    /// <summary>QEMU's class for most errors.</summary>
    public const string GenericError = "GenericError";

    /// <summary>QEMU's class for an unknown command (and one sent before <c>qmp_capabilities</c>).</summary>
    public const string CommandNotFound = "CommandNotFound";

    /// <summary>A GenericError with <paramref name="message"/> as its description.</summary>
    public QmpException(string message)
        : this(GenericError, message)
    {
    }

    /// <summary>An error of class <paramref name="errorClass"/>.</summary>
    public QmpException(string errorClass, string message)
        : base(message) => ErrorClass = errorClass;

    /// <summary>An error of class GenericError with a cause.</summary>
    public QmpException(string message, Exception inner)
        : base(message, inner) => ErrorClass = GenericError;

    /// <summary>Creates a GenericError with QEMU's wording for an unknown failure.</summary>
    public QmpException()
        : this("the command failed")
    {
    }

    /// <summary>The error class, e.g. <see cref="GenericError"/>.</summary>
    public string ErrorClass { get; }
}
