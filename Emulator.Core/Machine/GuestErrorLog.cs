namespace Emulator.Core.Machine;

/// <summary>
/// What the guest did wrong to a device: an access to a register that does not exist, a value the
/// hardware forbids, a DMA address outside RAM, a ring that loops. Real hardware ignores such
/// accesses or misbehaves in its own way; the models keep going, and report each case here so that a
/// guest (or a driver being written) can be debugged. Every report is counted per device; when a
/// sink is set (<c>emu run --guest-errors</c>) each one is also written as one line. The same idea
/// as QEMU's LOG_GUEST_ERROR. Thread-safe.
/// </summary>
public sealed class GuestErrorLog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _byDevice = new(StringComparer.Ordinal);
    private readonly Queue<string> _recent = new();
    private long _count;
    private TextWriter? _sink;

    /// <summary>The most recent reports kept in memory, for <see cref="Recent"/>.</summary>
    public const int RecentCapacity = 64;

    /// <summary>Where each report goes as one line, or null to count only.</summary>
    public TextWriter? Sink
    {
        get
        {
            lock (_lock)
            {
                return _sink;
            }
        }

        set
        {
            lock (_lock)
            {
                _sink = value;
            }
        }
    }

    /// <summary>Reports counted since the machine was built.</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>A snapshot of the counts per device name.</summary>
    public IReadOnlyDictionary<string, long> CountsByDevice
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, long>(_byDevice, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The last <see cref="RecentCapacity"/> report lines, oldest first.</summary>
    public IReadOnlyList<string> Recent
    {
        get
        {
            lock (_lock)
            {
                return [.. _recent];
            }
        }
    }

    /// <summary>Counts one guest error of <paramref name="device"/> and logs <paramref name="message"/> (one line, no device name).</summary>
    public void Report(string device, string message)
    {
        string line = $"guest error: {device}: {message}";
        lock (_lock)
        {
            _count++;
            _byDevice[device] = _byDevice.GetValueOrDefault(device) + 1;
            if (_recent.Count == RecentCapacity)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(line);
            _sink?.WriteLine(line);
        }
    }
}
