using System.Diagnostics;

namespace Emulator.Core.Time;

/// <summary>Virtual time that follows the host's monotonic clock.</summary>
public sealed class HostClock : IClock
{
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <inheritdoc/>
    public long NowNanoseconds => (long)((Stopwatch.GetTimestamp() - _origin) * (1_000_000_000.0 / Stopwatch.Frequency));
}
