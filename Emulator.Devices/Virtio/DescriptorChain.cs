using Emulator.Core.Memory;

namespace Emulator.Devices.Virtio;

/// <summary>One guest buffer of a descriptor chain, already checked to lie in guest RAM.</summary>
/// <param name="Address">Guest physical address.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="DeviceWritable">True for a device-writable buffer (VIRTQ_DESC_F_WRITE).</param>
public readonly record struct VirtqueueBuffer(ulong Address, uint Length, bool DeviceWritable);

/// <summary>
/// A descriptor chain popped from the available ring (Virtio 1.1 §2.6.5): its device-readable
/// buffers followed by its device-writable ones, seen by a device as two byte streams.
/// </summary>
public sealed class DescriptorChain
{
    private readonly AddressSpace _memory;
    private readonly List<VirtqueueBuffer> _buffers;

    internal DescriptorChain(AddressSpace memory, ushort head, List<VirtqueueBuffer> buffers)
    {
        _memory = memory;
        Head = head;
        _buffers = buffers;
        foreach (VirtqueueBuffer b in buffers)
        {
            if (b.DeviceWritable)
            {
                WritableLength += b.Length;
            }
            else
            {
                ReadableLength += b.Length;
            }
        }
    }

    /// <summary>Index of the chain's first descriptor, returned in the used ring.</summary>
    public ushort Head { get; }

    /// <summary>The buffers in chain order.</summary>
    public IReadOnlyList<VirtqueueBuffer> Buffers => _buffers;

    /// <summary>Total bytes the device may read.</summary>
    public ulong ReadableLength { get; }

    /// <summary>Total bytes the device may write.</summary>
    public ulong WritableLength { get; }

    /// <summary>Copies readable bytes from logical offset <paramref name="offset"/> into <paramref name="destination"/>; returns how many were available.</summary>
    public int Read(ulong offset, Span<byte> destination) => Copy(false, offset, destination, default);

    /// <summary>Copies <paramref name="source"/> into the writable bytes at logical offset <paramref name="offset"/>; returns how many fit.</summary>
    public int Write(ulong offset, ReadOnlySpan<byte> source) => Copy(true, offset, default, source);

    private int Copy(bool writable, ulong offset, Span<byte> destination, ReadOnlySpan<byte> source)
    {
        int wanted = writable ? source.Length : destination.Length;
        int done = 0;
        foreach (VirtqueueBuffer b in _buffers)
        {
            if (b.DeviceWritable != writable)
            {
                continue;
            }

            if (offset >= b.Length)
            {
                offset -= b.Length;
                continue;
            }

            int n = (int)Math.Min((ulong)(wanted - done), b.Length - offset);
            var at = new GuestPhysicalAddress(b.Address + offset);
            if (writable)
            {
                _memory.Write(at, source.Slice(done, n));
            }
            else
            {
                _memory.Read(at, destination.Slice(done, n));
            }

            done += n;
            offset = 0;
            if (done == wanted)
            {
                break;
            }
        }

        return done;
    }
}
