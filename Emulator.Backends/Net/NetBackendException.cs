namespace Emulator.Backends.Net;

/// <summary>A network backend cannot be set up as the user asked; the message is one line naming the option.</summary>
public sealed class NetBackendException : Exception
{
    /// <summary>Creates the error.</summary>
    public NetBackendException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with its cause.</summary>
    public NetBackendException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Not for use: every error carries a message.</summary>
    public NetBackendException()
    {
    }
}
