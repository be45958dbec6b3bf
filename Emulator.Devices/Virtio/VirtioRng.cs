using System.Security.Cryptography;

namespace Emulator.Devices.Virtio;

/// <summary>
/// A virtio entropy device (Virtio 1.1 §5.4, device type 4): every device-writable buffer on its
/// one queue is filled from the host's cryptographic random number generator. At most 64 KiB are
/// supplied per request, which the spec allows (the used length says how much was written).
/// </summary>
public sealed class VirtioRng : IVirtioDevice
{
    private const int MaxPerRequest = 64 * 1024;
    private readonly byte[] _buffer = new byte[MaxPerRequest];

    /// <inheritdoc/>
    public int DeviceType => 4;

    /// <inheritdoc/>
    public uint PciClassCode => 0xff_00_00; // device does not fit a defined class, as QEMU shows virtio-rng

    /// <inheritdoc/>
    public ulong Features => 0;

    /// <inheritdoc/>
    public int QueueCount => 1;

    /// <inheritdoc/>
    public int ConfigSize => 0;

    /// <inheritdoc/>
    public void ReadConfig(int offset, Span<byte> data) => data.Clear();

    /// <inheritdoc/>
    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
    }

    /// <inheritdoc/>
    public void ProcessQueue(int index, Virtqueue queue, ulong negotiatedFeatures)
    {
        while (queue.Pop() is { } chain)
        {
            int n = (int)Math.Min(chain.WritableLength, MaxPerRequest);
            Span<byte> random = _buffer.AsSpan(0, n);
            RandomNumberGenerator.Fill(random);
            chain.Write(0, random);
            queue.PushUsed(chain.Head, (uint)n);
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <inheritdoc/>
    /// <remarks>Nothing: every buffer is filled within the notification that offered it.</remarks>
    public void SaveState(BinaryWriter writer)
    {
    }

    /// <inheritdoc/>
    public void RestoreState(BinaryReader reader, int version, IReadOnlyList<Virtqueue> queues)
    {
        if (version != StateVersion)
        {
            throw new InvalidDataException($"virtio-rng: state version {version} is not supported (expected {StateVersion})");
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
