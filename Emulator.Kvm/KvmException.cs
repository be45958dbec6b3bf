using System.Runtime.InteropServices;

namespace Emulator.Kvm;

/// <summary>A KVM call failed; the message names the call and the error in words.</summary>
public sealed class KvmException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public KvmException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public KvmException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates an exception with no message (for serializers and analyzers).</summary>
    public KvmException()
    {
    }

    /// <summary>The errno of the failed call, or 0.</summary>
    public int Errno { get; private init; }

    /// <summary>An exception for the call <paramref name="what"/> that failed with <paramref name="errno"/>.</summary>
    internal static KvmException FromErrno(string what, int errno) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})") { Errno = errno };

    /// <summary>An exception for the call <paramref name="what"/> that just failed, with the thread's last errno.</summary>
    internal static KvmException LastError(string what) => FromErrno(what, Marshal.GetLastPInvokeError());
}
