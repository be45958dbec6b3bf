using System.Diagnostics;
using System.Security.Cryptography;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// Bad input files given to `emu run`, as a user meets them: one line naming the option and the file
/// and what is wrong, exit status 2, no stack trace, and every file involved left exactly as it was
/// (same bytes, same modification time).
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly DateTime Stamp = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-badinput-").FullName;

    public void Dispose()
    {
        foreach (string f in Directory.GetFiles(_dir))
        {
            RunTool("chattr", "-i", f);
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void KernelThatIsNotABzImage()
    {
        byte[] text = "#!/bin/sh\necho this is a shell script, not a kernel\n"u8.ToArray();
        string kernel = File(text, "script.sh");

        Check(["--kernel", kernel], $"emu: --kernel {kernel}: neither a Linux bzImage (no \"HdrS\" at offset 0x202) nor a multiboot kernel", kernel);
    }

    [Fact]
    public void BzImageCutOffInsideItsKernel()
    {
        // A header that says 64 KiB of protected-mode kernel follow, and a file that stops at 16 KiB:
        // what an interrupted download of a bzImage looks like.
        byte[] whole = Boot.LinuxLoaderTests.BzImage(kernelBytes: 0x1_0000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(whole.AsSpan(Emulator.Machines.Loaders.Linux.SetupHeader.SysSizeOffset), 0x1_0000 / 16);
        string kernel = File(whole[..(5 * 512 + 0x4000)], "cut.bzImage");

        Check(["--kernel", kernel], $"emu: --kernel {kernel}: truncated: the header's syssize claims 65536 bytes of protected-mode kernel (4096 paragraphs) but the file holds 16384", kernel);
    }

    [Fact]
    public void BzImageCutOffInsideItsHeader()
    {
        string kernel = File(Boot.LinuxLoaderTests.BzImage()[..0x220], "header.bzImage");

        Check(["--kernel", kernel], $"emu: --kernel {kernel}: truncated: the file ends inside the setup header (544 bytes)", kernel);
    }

    [Fact]
    public void InitrdLargerThanGuestRam()
    {
        string kernel = File(Boot.LinuxLoaderTests.BzImage(), "vmlinuz");
        string initrd = Path.Combine(_dir, "big.cpio");
        using (var f = new FileStream(initrd, FileMode.CreateNew))
        {
            f.SetLength(64 << 20); // sparse: 64 MiB for a 32 MiB guest costs no disk
        }

        System.IO.File.SetLastWriteTimeUtc(initrd, Stamp);

        Check(["-m", "32M", "--kernel", kernel, "--initrd", initrd],
            $"emu: --initrd {initrd}: 67108864 bytes is larger than the guest RAM below 4 GiB (0x1fe0000 bytes): give more --memory", kernel, initrd);
    }

    [Fact]
    public void MissingDiskImage()
    {
        string image = Path.Combine(_dir, "absent.img");

        Check(["--drive", $"file={image}"], $"emu: --drive {image}: no such file");
        Assert.False(System.IO.File.Exists(image), "emu created the missing image");
    }

    /// <summary>
    /// Tests run as root, for whom file modes do not stop writes (0444 is still writable by root), so
    /// the image gets the immutable attribute instead (chattr +i, ext4/xfs/btrfs): open(2) for writing
    /// then fails with EPERM even for root, as it would on a read-only mount. DriveOptionTests covers
    /// the mode-bit case by running emu as an unprivileged user.
    /// </summary>
    [SkippableFact]
    public void DiskImageThatCannotBeWrittenWithoutReadOnly()
    {
        string image = File(new byte[64 * 1024], "frozen.img");
        Skip.IfNot(RunTool("chattr", "+i", image), "chattr +i is unavailable here (not root, or a file system without the immutable attribute)");

        Check(["--drive", $"file={image}"], $"emu: --drive {image}: no write permission (add readonly=on to attach it read-only)", image);

        // The demo ROM as firmware: without --bios a drive would boot SeaBIOS, which waits for a boot disk.
        string demo = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin");
        EmuProcess.Result ok = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--bios", demo, "--drive", $"file={image},readonly=on");
        Assert.True(ok.ExitCode == 0, $"readonly=on should attach it: exit {ok.ExitCode}: {ok.Stderr}");
    }

    private string File(byte[] content, string name)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllBytes(path, content);
        System.IO.File.SetLastWriteTimeUtc(path, Stamp);
        return path;
    }

    private static void Check(string[] args, string expectedLine, params string[] untouched)
    {
        var before = untouched.Select(Fingerprint).ToList();

        EmuProcess.Result r = EmuProcess.Run(Timeout, ["run", "--accel", "jit", .. args]);

        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}, expected 2; stderr: {r.Stderr}");
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got:\n{r.Stderr}");
        Assert.StartsWith(expectedLine, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, r.Stdout);
        Assert.Equal(before, untouched.Select(Fingerprint).ToList());
    }

    private static string Fingerprint(string path)
    {
        using FileStream f = System.IO.File.OpenRead(path);
        return $"{Convert.ToHexString(SHA256.HashData(f))} {System.IO.File.GetLastWriteTimeUtc(path):O} {f.Length}";
    }

    private static bool RunTool(string tool, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in args)
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
