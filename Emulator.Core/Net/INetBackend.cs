namespace Emulator.Core.Net;

/// <summary>
/// The network card as its backend sees it: where the frames for the guest go. Taking a frame and
/// delivering it are two steps so that a backend can hand over frames while it holds its own locks
/// (taking one is cheap and never waits for the machine) and deliver a whole batch with one
/// interrupt afterwards (delivering takes the machine's device lock).
/// </summary>
public interface INetReceiver
{
    /// <summary>
    /// Takes one Ethernet frame (destination MAC first, no virtio header) for the guest; the card
    /// copies it (the span is only valid during the call) or drops and counts it. Thread-safe; never
    /// takes the machine's device lock.
    /// </summary>
    void Receive(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Delivers the frames taken so far into the guest's receive buffers and interrupts the guest.
    /// Takes the machine's device lock, so a backend calls it with none of its own locks held, and
    /// not from inside <see cref="INetBackend.Send"/>: frames a backend produces while Send runs are
    /// delivered by the card when its transmit batch ends.
    /// </summary>
    void Deliver();
}

/// <summary>
/// The host end of a network card: where the frames a guest transmits go and where the frames it
/// receives come from (user-mode networking through libslirp, a tap device). The device model and
/// the backend meet here, as a disk model and its image meet at <see cref="Block.IBlockBackend"/>.
/// </summary>
public interface INetBackend : IDisposable
{
    /// <summary>How the user named the backend, for messages (e.g. "user", "tap emu0").</summary>
    string Name { get; }

    /// <summary>
    /// Starts the host side. From now on every frame for the guest is handed to
    /// <paramref name="receiver"/>: from the backend's own thread (each batch followed by
    /// <see cref="INetReceiver.Deliver"/>), and, for a backend that answers at once, from inside
    /// <see cref="Send"/> on the caller's thread (no Deliver: the card delivers those itself).
    /// </summary>
    void Start(INetReceiver receiver);

    /// <summary>
    /// Sends one frame the guest transmitted. Called on a vCPU thread under the machine's device
    /// lock. The backend copies or consumes the frame and returns without waiting for the host (it
    /// may process it at once, and hand the answers it has ready to the receiver before returning).
    /// Returns false when the frame was dropped (the backend's queue is full).
    /// </summary>
    bool Send(ReadOnlySpan<byte> frame);
}
