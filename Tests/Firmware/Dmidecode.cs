using System.Diagnostics;
using Xunit;

namespace Emulator.Tests.Firmware;

/// <summary>
/// Debian's dmidecode as the oracle for SMBIOS tables: it follows DSP0134 and says where an entry
/// point or a structure is out of spec, on its standard error or in its output.
/// </summary>
internal static class Dmidecode
{
    private const string Path = "/usr/sbin/dmidecode";

    // What dmidecode prints about tables it finds wrong.
    private static readonly string[] Complaints = ["OUT OF SPEC", "Invalid", "Wrong DMI", "Bad", "Unknown Type", "checksum"];

    /// <summary>Why dmidecode cannot run here, or null.</summary>
    public static string? Missing => File.Exists(Path) ? null : "dmidecode is not installed (apt-get install dmidecode; .ci/run does)";

    /// <summary>Runs dmidecode with <paramref name="args"/> and returns its output, having checked that it did not complain.</summary>
    public static string Decode(params string[] args)
    {
        using Process p = Process.Start(new ProcessStartInfo(Path, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(string.Empty, stderr.Result);
        foreach (string complaint in Complaints)
        {
            Assert.DoesNotContain(complaint, output, StringComparison.Ordinal);
        }

        return output;
    }
}
