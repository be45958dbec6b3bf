namespace Emulator.Core.Net;

/// <summary>Takes one Ethernet frame (destination MAC first, no virtio header) that arrived from the host side.</summary>
/// <param name="frame">The frame; only valid during the call.</param>
public delegate void FrameReceiver(ReadOnlySpan<byte> frame);

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
    /// <paramref name="receiver"/> on the backend's own thread, one at a time.
    /// </summary>
    void Start(FrameReceiver receiver);

    /// <summary>
    /// Sends one frame the guest transmitted. Called on a vCPU thread under the machine's device
    /// lock: the backend copies the frame and returns without waiting for the host. Returns false
    /// when the frame was dropped (the backend's queue is full).
    /// </summary>
    bool Send(ReadOnlySpan<byte> frame);
}
