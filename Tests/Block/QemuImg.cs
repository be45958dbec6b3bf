using System.Diagnostics;
using System.Text;
using Emulator.Backends.Block.Qcow2;

namespace Emulator.Tests.Block;

/// <summary>
/// QEMU's own image tools (Debian's qemu-utils, installed by .ci/run) as the oracle for qcow2:
/// qemu-img makes the images and judges what emu wrote (check, compare), qemu-io writes
/// patterns emu then reads.
/// </summary>
internal static class QemuImg
{
    /// <summary>Null when qemu-img and qemu-io are installed, else why the test skips.</summary>
    public static string? Missing { get; } = File.Exists("/usr/bin/qemu-img") && File.Exists("/usr/bin/qemu-io")
        ? null
        : "qemu-img and qemu-io (Debian's qemu-utils) are needed as the qcow2 oracle; .ci/run installs them";

    /// <summary>Runs qemu-img; returns its exit status and its stdout followed by its stderr.</summary>
    public static (int Status, string Output) Run(params string[] args) => Tool("/usr/bin/qemu-img", args);

    /// <summary>Runs qemu-io.</summary>
    public static (int Status, string Output) Io(params string[] args) => Tool("/usr/bin/qemu-io", args);

    /// <summary>Runs qemu-img and fails the test unless it exits 0.</summary>
    public static string Ok(params string[] args)
    {
        (int status, string output) = Run(args);
        if (status != 0)
        {
            throw new InvalidOperationException($"qemu-img {string.Join(' ', args)} exited {status}: {output}");
        }

        return output;
    }

    /// <summary>`qemu-img check`: exit 0 means no errors and no leaks; 3 means leaked clusters only; 2 corruption.</summary>
    public static (int Status, string Output) Check(string image) => Run("check", "-f", "qcow2", image);

    /// <summary>`qemu-img compare` of a qcow2 image against a raw file: 0 means identical content.</summary>
    public static (int Status, string Output) CompareWithRaw(string image, string raw) => Run("compare", "-f", "qcow2", "-F", "raw", image, raw);

    /// <summary>Opens an image through emu's backend (which then owns the file; on a refusal the file is closed here).</summary>
    public static Qcow2Image OpenEmu(string path, bool readOnly = false)
    {
        var stream = new FileStream(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read, 0, FileOptions.RandomAccess);
        try
        {
            return Qcow2Image.Open(stream, readOnly);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static (int Status, string Output) Tool(string tool, string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, new StringBuilder(stdout).Append(stderr.Result).ToString());
    }
}
