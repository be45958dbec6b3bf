using Emulator.Core.Devices;

namespace Emulator.Devices.Diagnostics;

/// <summary>
/// The POST diagnostic port (0x80): firmware writes a progress code at each boot step, which a
/// POST card would display. The device keeps the last code, a bounded history for diagnostics,
/// and optionally hands each code to a host callback as it arrives.
/// </summary>
public sealed class PostCodePort : IBusDevice
{
    /// <summary>The PC/AT POST port.</summary>
    public const ushort DefaultPort = 0x80;

    /// <summary>The default number of codes kept in the history.</summary>
    public const int DefaultHistoryCapacity = 4096;

    private const int StateVersion = 1;

    private readonly Action<byte>? _onCode;
    private readonly byte[] _history;
    private readonly Lock _historyLock = new();
    private long _count;

    /// <summary>Creates the port; <paramref name="onCode"/>, if given, sees every code written (under the device lock).</summary>
    public PostCodePort(Action<byte>? onCode = null, int historyCapacity = DefaultHistoryCapacity, ushort port = DefaultPort)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(historyCapacity);
        _onCode = onCode;
        _history = new byte[historyCapacity];
        Name = $"post@0x{port:x}";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Accepts byte accesses; the bus splits wider ones.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>The last code written since reset (0 before any).</summary>
    public byte LastCode { get; private set; }

    /// <summary>The number of codes written since the device was created.</summary>
    public long CodeCount
    {
        get
        {
            lock (_historyLock)
            {
                return _count;
            }
        }
    }

    /// <summary>The most recent codes, oldest first (at most the history capacity; kept across resets).</summary>
    public byte[] GetHistory()
    {
        lock (_historyLock)
        {
            int n = (int)Math.Min(_count, _history.Length);
            var codes = new byte[n];
            long first = _count - n;
            for (int i = 0; i < n; i++)
            {
                codes[i] = _history[(first + i) % _history.Length];
            }

            return codes;
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data) => data.Fill(LastCode);

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        // Only the byte at the port itself is a POST code: the high bytes of a wider OUT belong
        // to the ports after it (0x81 and up are DMA page registers on the PC/AT).
        if (offset != 0)
        {
            return;
        }

        byte code = data[0];
        LastCode = code;
        lock (_historyLock)
        {
            _history[_count % _history.Length] = code;
            _count++;
        }

        _onCode?.Invoke(code);
    }

    /// <summary>Clears the last code; the history is kept so that codes from before a reboot stay visible.</summary>
    public void Reset() => LastCode = 0;

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, StateVersion, [LastCode]);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 1)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        LastCode = state.Data[0];
    }
}
