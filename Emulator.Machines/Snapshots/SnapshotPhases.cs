using System.Diagnostics;

namespace Emulator.Machines.Snapshots;

/// <summary>
/// With <c>EMU_SNAPSHOT_TRACE=1</c>, how long each phase of a snapshot save or restore took, one line
/// on stderr at the end (for scripts/snapshot-bench.py and for finding where the time goes).
/// </summary>
public sealed class SnapshotPhases
{
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("EMU_SNAPSHOT_TRACE") == "1";
    private readonly string _what;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _marks = [];

    /// <summary>Starts timing <paramref name="what"/> now.</summary>
    public SnapshotPhases(string what)
    {
        _what = what;
        if (Enabled)
        {
            // How long the process ran before this began: the runtime's start-up and option parsing.
            TimeSpan before = DateTime.Now - Process.GetCurrentProcess().StartTime;
            _marks.Add($"(process start {before.TotalMilliseconds:0} ms before)");
        }
    }

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
            Console.Error.WriteLine($"emu: {_what}: {string.Join(", ", _marks)} ms");
        }
    }
}
