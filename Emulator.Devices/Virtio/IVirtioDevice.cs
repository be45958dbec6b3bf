namespace Emulator.Devices.Virtio;

/// <summary>
/// A virtio device type (block, entropy, ...) independent of its transport (Virtio 1.1 §5). The
/// transport (<see cref="VirtioPci"/>) owns feature negotiation, status, queues and interrupts;
/// the device describes itself and services its queues.
/// </summary>
public interface IVirtioDevice : IDisposable
{
    /// <summary>Virtio device ID (§5: 2 block, 4 entropy source).</summary>
    int DeviceType { get; }

    /// <summary>PCI class code (base &lt;&lt; 16 | sub &lt;&lt; 8 | interface) the transport shows.</summary>
    uint PciClassCode { get; }

    /// <summary>Device-type feature bits offered (transport bits such as VIRTIO_F_VERSION_1 are added by the transport).</summary>
    ulong Features { get; }

    /// <summary>Number of virtqueues.</summary>
    int QueueCount { get; }

    /// <summary>Size in bytes of the device configuration structure.</summary>
    int ConfigSize { get; }

    /// <summary>Reads the device configuration structure at <paramref name="offset"/> (within <see cref="ConfigSize"/>).</summary>
    void ReadConfig(int offset, Span<byte> data);

    /// <summary>Writes the device configuration structure at <paramref name="offset"/>; read-only fields ignore it.</summary>
    void WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>
    /// Services every available chain of queue <paramref name="index"/>, pushing each to the used
    /// ring. Throws <see cref="VirtioProtocolException"/> on a malformed request.
    /// </summary>
    void ProcessQueue(int index, Virtqueue queue, ulong negotiatedFeatures);

    /// <summary>The driver reset the device (status 0) or the machine reset.</summary>
    void Reset();

    /// <summary>Makes everything written so far durable (called at machine exit).</summary>
    void Flush();

    /// <summary>The version of what <see cref="SaveState"/> writes.</summary>
    int StateVersion { get; }

    /// <summary>
    /// Writes the device type's own state for a snapshot (the transport saves features, status and
    /// the queues' positions): work the device holds between notifications, such as receive buffers
    /// it took from the driver and frames waiting for them. Called under the device lock.
    /// </summary>
    void SaveState(BinaryWriter writer);

    /// <summary>
    /// Reads what <see cref="SaveState"/> wrote (of <paramref name="version"/>), after guest RAM and
    /// the transport's <paramref name="queues"/> have been restored; throws
    /// <see cref="InvalidDataException"/> for an unknown version or state that does not fit.
    /// </summary>
    void RestoreState(BinaryReader reader, int version, IReadOnlyList<Virtqueue> queues);
}
