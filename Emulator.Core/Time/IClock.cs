namespace Emulator.Core.Time;

/// <summary>The machine's virtual time in nanoseconds since power-on.</summary>
public interface IClock
{
    /// <summary>Nanoseconds of virtual time elapsed since the clock started.</summary>
    long NowNanoseconds { get; }
}
