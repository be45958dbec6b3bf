using System.Security.Cryptography;
using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Block;

/// <summary>`emu run --drive` with qcow2 images: the format comes from the header, format= checks it, a bad image is one line and exit 2 with the file untouched.</summary>
public sealed class Qcow2DriveOptionTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly DateTime Stamp = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-qcow2-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Qcow2(string name)
    {
        string path = Path.Combine(_dir, name);
        QemuImg.Ok("create", "-q", "-f", "qcow2", path, "4M");
        Assert.Equal(0, QemuImg.Io("-f", "qcow2", "-c", "write -P 0x77 0 1M", path).Status);
        File.SetLastWriteTimeUtc(path, Stamp);
        return path;
    }

    // The file's content hash and modification time, as one comparable string.
    private static string Snapshot(string path) => $"{Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))} {File.GetLastWriteTimeUtc(path):O}";

    private static void AssertOneLine(EmuProcess.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.Stderr.TrimEnd('\n'));
    }

    [SkippableFact]
    public void AQcow2ImageIsDetectedAndAttachedAndAnIdleRunLeavesItUnchanged()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = Qcow2("good.qcow2");
        var before = Snapshot(image);
        foreach (string spec in new[] { $"file={image}", $"file={image},format=qcow2", $"file={image},format=qcow2,readonly=on" })
        {
            // The demo ROM as firmware: without --bios a drive would boot SeaBIOS, which waits for a boot disk.
            string demo = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin");
            EmuProcess.Result r = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--bios", demo, "--drive", spec);
            Assert.True(r.ExitCode == 0, $"{spec}: exit {r.ExitCode}: {r.Stderr}");
            Assert.Equal(before, Snapshot(image));
        }
    }

    [SkippableFact]
    public void FormatMismatchesAreOneLine()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = Qcow2("q.qcow2");
        string raw = Path.Combine(_dir, "r.img");
        File.WriteAllBytes(raw, new byte[4096]);
        File.SetLastWriteTimeUtc(raw, Stamp);
        var qBefore = Snapshot(image);
        var rBefore = Snapshot(raw);

        AssertOneLine(
            EmuProcess.Run(Timeout, "run", "--drive", $"file={image},format=raw"),
            $"emu: --drive {image}: format=raw given but the file is a qcow2 image (use format=qcow2 or leave format= out)");
        AssertOneLine(
            EmuProcess.Run(Timeout, "run", "--drive", $"file={raw},format=qcow2"),
            $"emu: --drive {raw}: format=qcow2 given but the file is not a qcow2 image (no QFI\\xfb magic)");
        Assert.Equal(qBefore, Snapshot(image));
        Assert.Equal(rBefore, Snapshot(raw));
    }

    [SkippableFact]
    public void AnImageCutInItsL2TableIsRefusedUntouched()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = Qcow2("cut.qcow2");
        byte[] all = File.ReadAllBytes(image);
        long l1 = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(all.AsSpan(40));
        long l2 = (long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(all.AsSpan((int)l1)) & 0x00FF_FFFF_FFFF_FE00);
        File.WriteAllBytes(image, all.AsSpan(0, (int)l2 + 4096).ToArray());
        File.SetLastWriteTimeUtc(image, Stamp);
        var before = Snapshot(image);

        AssertOneLine(
            EmuProcess.Run(Timeout, "run", "--drive", $"file={image}"),
            $"emu: --drive {image}: qcow2 L2 table of L1 entry 0 at 0x{l2:x} (65536 bytes) runs past the end of the file ({l2 + 4096} bytes)");
        Assert.Equal(before, Snapshot(image));
    }

    [SkippableFact]
    public void AMissingBackingFileIsNamed()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string top = Path.Combine(_dir, "top.qcow2");
        QemuImg.Ok("create", "-q", "-u", "-f", "qcow2", "-b", "/nonexistent/base.raw", "-F", "raw", top, "4M");
        AssertOneLine(
            EmuProcess.Run(Timeout, "run", "--drive", $"file={top}"),
            $"emu: --drive {top}: backing file /nonexistent/base.raw: no such file");
    }
}
