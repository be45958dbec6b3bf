namespace Emulator.Core.Time;

/// <summary>Deterministic virtual time: it moves only when told to, so tests see the same timeline every run.</summary>
public sealed class ManualClock : IClock
{
    private long _now;

    /// <inheritdoc/>
    public long NowNanoseconds => Volatile.Read(ref _now);

    /// <summary>Sets the time; time never goes backwards.</summary>
    internal void Set(long nanoseconds)
    {
        if (nanoseconds < _now)
        {
            throw new ArgumentOutOfRangeException(nameof(nanoseconds), "virtual time cannot go backwards");
        }

        Volatile.Write(ref _now, nanoseconds);
    }
}
