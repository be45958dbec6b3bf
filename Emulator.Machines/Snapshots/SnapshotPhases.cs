using System.Diagnostics;

namespace Emulator.Machines.Snapshots;

/// <summary>
/// With <c>EMU_SNAPSHOT_TRACE=1</c>, how long each phase of a snapshot save or restore took, one line
/// on stderr at the end (for scripts/snapshot-bench.py and for finding where the time goes).
/// </summary>
internal sealed class SnapshotPhases(string what)
{
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("EMU_SNAPSHOT_TRACE") == "1";
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _marks = [];

    /// <summary>Notes that <paramref name="phase"/> ended now.</summary>
    public void Mark(string phase)
    {
        if (Enabled)
        {
            _marks.Add($"{phase} {_clock.Elapsed.TotalMilliseconds:0}");
        }
    }

    /// <summary>Prints the phases (milliseconds since the start) when tracing is on.</summary>
    public void Report()
    {
        if (Enabled)
        {
            Console.Error.WriteLine($"emu: {what}: {string.Join(", ", _marks)} ms");
        }
    }
}
