using System.Globalization;
using System.Text;

namespace Emulator.Fuzzing;

/// <summary>An exception that escaped a device: where in the run, and what the last access was.</summary>
/// <param name="Operation">The operation's number (0-based) in the seeded sequence.</param>
/// <param name="Target">The target that made it.</param>
/// <param name="LastAccess">The access that was being made.</param>
/// <param name="Exception">The exception, with its stack trace.</param>
public sealed record DeviceFuzzFailure(long Operation, string Target, string LastAccess, string Exception);

/// <summary>What one fuzzing run found.</summary>
public sealed class DeviceFuzzReport
{
    /// <summary>The seed.</summary>
    public int Seed { get; init; }

    /// <summary>Operations made.</summary>
    public long Operations { get; set; }

    /// <summary>Port and memory accesses made.</summary>
    public long Accesses { get; set; }

    /// <summary>Operations per target.</summary>
    public Dictionary<string, long> OperationsByTarget { get; } = new(StringComparer.Ordinal);

    /// <summary>Exceptions that escaped a device (must be none).</summary>
    public List<DeviceFuzzFailure> Exceptions { get; } = [];

    /// <summary>The operation that never finished, or null.</summary>
    public string? Hang { get; set; }

    /// <summary>Guest errors the devices counted.</summary>
    public long GuestErrors { get; set; }

    /// <summary>Guest errors per device.</summary>
    public IReadOnlyDictionary<string, long> GuestErrorsByDevice { get; set; } = new Dictionary<string, long>();

    /// <summary>The last guest error lines.</summary>
    public IReadOnlyList<string> RecentGuestErrors { get; set; } = [];

    /// <summary>Machine requests the guest made (resets, power-offs, debug exits), carried out or noted.</summary>
    public Dictionary<string, long> Requests { get; } = new(StringComparer.Ordinal);

    /// <summary>The known program's exit status after the fuzzing, or null when it did not finish.</summary>
    public int? KnownProgramStatus { get; set; }

    /// <summary>The status it should give.</summary>
    public int KnownProgramExpected { get; set; }

    /// <summary>What it printed on COM1.</summary>
    public string KnownProgramOutput { get; set; } = "";

    /// <summary>Wall-clock time of the fuzzing part.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>No exception, no hang, and the known program ran to its status.</summary>
    public bool Passed => Exceptions.Count == 0 && Hang is null && KnownProgramStatus == KnownProgramExpected;

    /// <summary>A few lines for a terminal or a test failure message.</summary>
    public string Summary()
    {
        var s = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        s.AppendLine(c, $"seed {Seed}: {Operations} operations, {Accesses} accesses in {Elapsed.TotalSeconds:F1} s");
        s.AppendLine(c, $"  operations: {string.Join(", ", OperationsByTarget.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))}");
        s.AppendLine(c, $"  guest requests: {(Requests.Count == 0 ? "none" : string.Join(", ", Requests.Select(p => $"{p.Key} {p.Value}")))}");
        s.AppendLine(c, $"  guest errors logged: {GuestErrors}{(GuestErrors == 0 ? "" : " (" + string.Join(", ", GuestErrorsByDevice.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")) + ")")}");
        s.AppendLine(c, $"  exceptions escaping a device: {Exceptions.Count}");
        foreach (DeviceFuzzFailure f in Exceptions.Take(5))
        {
            s.AppendLine(c, $"    op {f.Operation} ({f.Target}, last access: {f.LastAccess}): {f.Exception}");
        }

        s.AppendLine(c, $"  hang: {Hang ?? "none"}");
        s.Append(c, $"  known program after reset: exit status {(KnownProgramStatus is int st ? st.ToString(c) : "none (did not finish)")}, expected {KnownProgramExpected}");
        return s.ToString();
    }
}
