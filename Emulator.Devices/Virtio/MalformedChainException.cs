namespace Emulator.Devices.Virtio;

/// <summary>
/// One descriptor chain is malformed (it loops, points outside guest RAM, has a bad indirect table,
/// ...) while the rings themselves are sound. The chain has already been taken from the available
/// ring; a device that can carry on (virtio-net drops the chain and counts it) returns
/// <see cref="Head"/> to the used ring with nothing written, and the rest of the queue keeps working.
/// Devices that do not catch it get the transport's answer to any <see cref="VirtioProtocolException"/>.
/// </summary>
public sealed class MalformedChainException : VirtioProtocolException
{
    /// <summary>Creates the error for the chain whose head descriptor is <paramref name="head"/> (null when the head index itself was out of range).</summary>
    public MalformedChainException(ushort? head, string message)
        : base(message)
    {
        Head = head;
    }

    /// <summary>Not for use: every error names its chain.</summary>
    public MalformedChainException()
    {
    }

    /// <summary>Not for use: every error names its chain.</summary>
    public MalformedChainException(string message)
        : base(message)
    {
    }

    /// <summary>Not for use: every error names its chain.</summary>
    public MalformedChainException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The chain's head index, which can go back to the used ring; null when it lies outside the descriptor table.</summary>
    public ushort? Head { get; }
}
