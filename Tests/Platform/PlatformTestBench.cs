using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Time;

namespace Emulator.Tests.Platform;

/// <summary>A machine platform on deterministic time with port helpers, for driving devices as a guest would.</summary>
internal sealed class PlatformTestBench : IDisposable
{
    public MachinePlatform Platform { get; } = new(deterministicTime: true);

    public long Now => Platform.Timers.Clock.NowNanoseconds;

    public void Out(ushort port, byte value) => Platform.Io.Write(port, 1, value);

    public byte In(ushort port) => (byte)Platform.Io.Read(port, 1);

    /// <summary>Moves virtual time forward by <paramref name="nanoseconds"/>, firing due timers.</summary>
    public void Advance(long nanoseconds) => Platform.Timers.AdvanceTo(Now + nanoseconds);

    public void AdvanceTo(long nanoseconds) => Platform.Timers.AdvanceTo(nanoseconds);

    public RecordingLine Line() => new(Platform.Timers.Clock);

    public void Dispose() => Platform.Dispose();
}

/// <summary>An interrupt wire that remembers its level and when it rose.</summary>
internal sealed class RecordingLine(IClock clock) : IInterruptLine
{
    public bool Level { get; private set; }

    public List<long> RisingEdges { get; } = [];

    public void Set(bool asserted)
    {
        if (asserted && !Level)
        {
            RisingEdges.Add(clock.NowNanoseconds);
        }

        Level = asserted;
    }
}
