using Emulator.Core.Devices;

namespace Emulator.Core.Io;

/// <summary>
/// The x86 port I/O space (0x0000-0xFFFF). Devices claim port ranges; an access to an unclaimed port
/// reads all ones and drops writes, as an ISA bus with no responder does.
/// </summary>
public sealed class IoPortBus
{
    private const int PortCount = 0x10000;
    private readonly PortClaim?[] _ports = new PortClaim?[PortCount];
    private readonly Lock _deviceLock;
    private long _accesses;
    private long _watchAt = long.MaxValue;
    private Action? _watch;

    /// <summary>Creates an empty bus whose dispatch is serialized by <paramref name="deviceLock"/>.</summary>
    public IoPortBus(Lock deviceLock) => _deviceLock = deviceLock;

    /// <summary>Number of accesses to unclaimed ports (for diagnostics).</summary>
    public long UnclaimedAccesses { get; private set; }

    /// <summary>Port accesses so far (each element of a string I/O counts once).</summary>
    public long Accesses => Interlocked.Read(ref _accesses);

    /// <summary>
    /// Calls <paramref name="action"/> once, on the accessing vCPU's thread, right after access number
    /// <paramref name="count"/> (counting from 1) has been dispatched. Port I/O happens at the same
    /// points of a guest's execution whichever backend runs it, so this marks a deterministic point.
    /// </summary>
    public void WatchAccessCount(long count, Action action)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _watch = action;
        Volatile.Write(ref _watchAt, count);
    }

    /// <summary>
    /// Gives ports [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) to
    /// <paramref name="device"/>, which sees them at offsets starting from <paramref name="deviceOffset"/>.
    /// A device on scattered ports (the i8042 at 0x60 and 0x64) registers each range with its own offset.
    /// </summary>
    public void Register(ushort first, int count, IBusDevice device, ulong deviceOffset = 0)
    {
        if (count <= 0 || first + count > PortCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"ports {first:x}+{count} do not fit in the I/O space");
        }

        for (int p = first; p < first + count; p++)
        {
            if (_ports[p] is { } other)
            {
                throw new InvalidOperationException($"port 0x{p:x} of {device.Name} is already claimed by {other.Device.Name}");
            }
        }

        var claim = new PortClaim(device, first, deviceOffset);
        for (int p = first; p < first + count; p++)
        {
            _ports[p] = claim;
        }
    }

    /// <summary>Releases ports [<paramref name="first"/>, +<paramref name="count"/>) claimed by <paramref name="device"/> (a PCI I/O BAR moved or was disabled).</summary>
    public void Unregister(ushort first, int count, IBusDevice device)
    {
        if (count <= 0 || first + count > PortCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"ports {first:x}+{count} do not fit in the I/O space");
        }

        for (int p = first; p < first + count; p++)
        {
            if (_ports[p]?.Device != device)
            {
                throw new InvalidOperationException($"port 0x{p:x} is not claimed by {device.Name}");
            }
        }

        Array.Fill(_ports, null, first, count);
    }

    /// <summary>The device that claims <paramref name="port"/>, or null.</summary>
    public IBusDevice? DeviceAt(ushort port) => _ports[port]?.Device;

    /// <summary>An IN of <c>data.Length</c> (1, 2 or 4) bytes.</summary>
    public void Read(ushort port, Span<byte> data)
    {
        PortClaim? claim = _ports[port];
        if (claim is null)
        {
            UnclaimedAccesses++;
            data.Fill(0xff);
        }
        else
        {
            lock (_deviceLock)
            {
                BusAccess.Read(claim.Device, claim.Offset + (ulong)(port - claim.First), data);
            }
        }

        Counted();
    }

    /// <summary>An OUT of <c>data.Length</c> (1, 2 or 4) bytes.</summary>
    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        PortClaim? claim = _ports[port];
        if (claim is null)
        {
            UnclaimedAccesses++;
        }
        else
        {
            lock (_deviceLock)
            {
                BusAccess.Write(claim.Device, claim.Offset + (ulong)(port - claim.First), data);
            }
        }

        Counted();
    }

    /// <summary>An IN returning the value zero-extended.</summary>
    public uint Read(ushort port, int size)
    {
        Span<byte> b = stackalloc byte[4];
        b.Clear();
        Read(port, b[..size]);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>An OUT of the low <paramref name="size"/> bytes of <paramref name="value"/>.</summary>
    public void Write(ushort port, int size, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Write(port, b[..size]);
    }

    private void Counted()
    {
        if (Interlocked.Increment(ref _accesses) == Volatile.Read(ref _watchAt))
        {
            _watch!();
        }
    }

    private sealed record PortClaim(IBusDevice Device, ushort First, ulong Offset);
}
