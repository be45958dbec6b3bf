namespace Emulator.Devices.Virtio;

/// <summary>
/// What a transport offers a device whose work does not only start with a driver notification:
/// a network card receives frames from the host at any time and must fill its receive queue and
/// interrupt the guest then. Every member is called with the machine's device lock held.
/// </summary>
public interface IVirtioTransport
{
    /// <summary>
    /// Services queue <paramref name="index"/> now, as if the driver had notified it: calls the
    /// device's <see cref="IVirtioDevice.ProcessQueue"/> when the driver has the device and the queue
    /// running, then interrupts the guest if the driver wants a used-buffer notification.
    /// </summary>
    void ServiceQueue(int index);

    /// <summary>
    /// Ends a hold the device put on queue <paramref name="index"/>'s used-buffer notification
    /// (<see cref="Virtqueue.NotificationHeld"/>): interrupts the guest now if the driver wants a
    /// notification for anything published since the last check (§2.6.7).
    /// </summary>
    void NotifyUsed(int index);

    /// <summary>The device configuration changed (e.g. link status): a new config_generation and a configuration change interrupt (Virtio 1.1 §2.4, §4.1.4.3).</summary>
    void ConfigurationChanged();
}

/// <summary>A device that needs its transport after construction (see <see cref="IVirtioTransport"/>).</summary>
public interface IVirtioTransportAware
{
    /// <summary>Called once by the transport that owns the device.</summary>
    void Attach(IVirtioTransport transport);
}
