namespace Emulator.Machines;

/// <summary>A problem with what the user asked for (a file, a size, an option): reported as one line, never a stack trace.</summary>
public sealed class MachineConfigException : Exception
{
    /// <summary>Creates the error with its one-line message.</summary>
    public MachineConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with its one-line message and cause.</summary>
    public MachineConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Not for use: every error carries a message.</summary>
    public MachineConfigException()
    {
    }
}
