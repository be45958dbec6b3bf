namespace Emulator.Devices.Virtio;

/// <summary>
/// The driver broke the virtio protocol (a malformed descriptor chain, a ring outside RAM, ...).
/// The transport answers by setting DEVICE_NEEDS_RESET (Virtio 1.1 §2.1.1) and stops using the
/// device until the driver resets it; the host never crashes on a guest's mistake.
/// </summary>
public class VirtioProtocolException : Exception
{
    /// <summary>Creates the error with a description of what the driver did wrong.</summary>
    public VirtioProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a description and cause.</summary>
    public VirtioProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Not for use: every error carries a message.</summary>
    public VirtioProtocolException()
    {
    }
}
