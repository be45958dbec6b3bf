using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The stock Debian 12 kernel and a busybox initramfs (scripts/guest-images.sh, cached outside the
/// repository) booted in the software CPU, driven over the serial console as a user would: the
/// oracles are the kernel package's own version string, the CPU model emu advertises, and the
/// host's SHA-256 of the same bytes the guest hashes.
/// </summary>
public sealed class LinuxBootTests
{
    private static readonly string Cache = Environment.GetEnvironmentVariable("EMU_GUEST_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "emu", "guest");

    [SkippableFact]
    public void DebianKernelBootsToTheBusyboxShellAndPowersOff()
    {
        string kernel = Path.Combine(Cache, "vmlinuz"), initrd = Path.Combine(Cache, "initramfs.gz");
        Skip.If(!File.Exists(kernel) || !File.Exists(initrd), $"no guest images in {Cache} (scripts/guest-images.sh builds them; .ci/run does)");
        string version = File.ReadAllText(Path.Combine(Cache, "kernel-version")).Trim();

        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", "--accel", "jit", "-m", "512M", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0" })
        {
            psi.ArgumentList.Add(a);
        }

        using var emu = Process.Start(psi)!;
        var console = new StringBuilder();
        var reader = new Thread(() =>
        {
            int c;
            while ((c = emu.StandardOutput.Read()) >= 0)
            {
                lock (console)
                {
                    console.Append((char)c);
                }
            }
        }) { IsBackground = true };
        reader.Start();
        _ = emu.StandardError.ReadToEndAsync();
        try
        {
            int from = WaitFor(console, "/ # ", 0, TimeSpan.FromMinutes(12));
            from = Command(emu, console, "uname -r", version, from);
            from = Command(emu, console, "grep -m1 'model name' /proc/cpuinfo", Emulator.Core.Cpu.CpuModel.Brand, from);

            // 1,000,000 bytes of "emu\n" repeated, hashed in the guest by busybox and here by .NET.
            byte[] data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("emu\n", 250_000)));
            string expected = Convert.ToHexStringLower(SHA256.HashData(data));
            from = Command(emu, console, "yes emu | head -c 1000000 | sha256sum", expected, from);

            emu.StandardInput.Write("poweroff -f\n");
            emu.StandardInput.Flush();
            Assert.True(emu.WaitForExit(TimeSpan.FromMinutes(2)), "emu did not exit after poweroff -f");
            Assert.Equal(0, emu.ExitCode);
        }
        finally
        {
            if (!emu.HasExited)
            {
                emu.Kill(entireProcessTree: true);
            }
        }
    }

    private static int Command(Process emu, StringBuilder console, string command, string expected, int from)
    {
        emu.StandardInput.Write(command + "\n");
        emu.StandardInput.Flush();
        int at = WaitFor(console, expected, from, TimeSpan.FromMinutes(3));
        return WaitFor(console, "/ # ", at, TimeSpan.FromMinutes(3));
    }

    private static int WaitFor(StringBuilder console, string text, int from, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            lock (console)
            {
                int i = console.ToString().IndexOf(text, from, StringComparison.Ordinal);
                if (i >= 0)
                {
                    return i + text.Length;
                }
            }

            Thread.Sleep(200);
        }

        string tail;
        lock (console)
        {
            string all = console.ToString();
            tail = all[Math.Max(0, all.Length - 2000)..];
        }

        throw new TimeoutException($"'{text}' did not appear on the console within {timeout}; last output:\n{tail}");
    }
}
