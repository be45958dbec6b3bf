using System.Buffers.Binary;
using System.Security.Cryptography;
using Emulator.Backends.Block;
using Xunit;

namespace Emulator.Tests.Block;

/// <summary>
/// Images emu must refuse: corrupt tables (cut short, pointing outside the file, misaligned) and
/// features it does not implement. Each refusal is one line saying what is wrong, and the file's
/// bytes and modification time are unchanged. The images are made by qemu-img and then damaged
/// at offsets read from their own headers.
/// </summary>
public sealed class Qcow2CorruptImageTests : IDisposable
{
    private static readonly DateTime Stamp = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-qcow2-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A 4 MiB image (64 KiB clusters) with data in its first MiB, so L1 entry 0 names an L2 table.</summary>
    private string ImageWithData(string name = "bad.qcow2", string options = "compat=1.1")
    {
        string path = Path.Combine(_dir, name);
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-o", options, path, "4M");
        (int status, string output) = QemuImg.Io("-f", "qcow2", "-c", "write -P 0x5a 0 1M", path);
        Assert.True(status == 0, output);
        return path;
    }

    private static ulong Field(string path, int offset) => BinaryPrimitives.ReadUInt64BigEndian(File.ReadAllBytes(path).AsSpan(offset));

    private static void Patch(string path, long offset, ulong value, int size = 8)
    {
        byte[] raw = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(raw, value);
        using FileStream f = File.OpenWrite(path);
        f.Position = offset;
        f.Write(raw, 8 - size, size);
    }

    /// <summary>Opens the image through emu, expecting a refusal; returns its message after checking the file is untouched.</summary>
    private static string Refused(string path, bool readOnly = false)
    {
        File.SetLastWriteTimeUtc(path, Stamp);
        byte[] before = SHA256.HashData(File.ReadAllBytes(path));
        DiskImageException e = Assert.Throws<DiskImageException>(() => QemuImg.OpenEmu(path, readOnly).Dispose());
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Equal(Stamp, File.GetLastWriteTimeUtc(path));
        return e.Message;
    }

    [SkippableFact]
    public void CutInTheMiddleOfItsL2Table()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        long l1 = (long)Field(path, 40);
        long l2 = (long)(Field(path, (int)l1) & 0x00FF_FFFF_FFFF_FE00);
        File.SetLastWriteTimeUtc(path, Stamp);
        using (FileStream f = File.OpenWrite(path))
        {
            f.SetLength(l2 + (32 << 10));
        }

        Assert.Equal($"qcow2 L2 table of L1 entry 0 at 0x{l2:x} (65536 bytes) runs past the end of the file ({l2 + (32 << 10)} bytes)", Refused(path));
        Assert.Contains("runs past the end of the file", Refused(path, readOnly: true), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void RefcountTablePointingOutsideTheFile()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        long length = new FileInfo(path).Length;
        long outside = (length + (1 << 20)) & ~0xFFFFL;
        Patch(path, 48, (ulong)outside);
        Assert.Equal($"qcow2 refcount table at 0x{outside:x} (65536 bytes) runs past the end of the file ({length} bytes)", Refused(path));
    }

    [SkippableFact]
    public void RefcountBlockPointingOutsideTheFile()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        long table = (long)Field(path, 48);
        Patch(path, table, 0x7000_0000_0000);
        Assert.Contains("refcount block 0 at 0x700000000000", Refused(path), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void MisalignedL1Table()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        long l1 = (long)Field(path, 40);
        Patch(path, 40, (ulong)(l1 + 8));
        Assert.Equal($"qcow2 L1 table at 0x{l1 + 8:x} is not aligned to the 65536-byte cluster size", Refused(path));
    }

    [SkippableFact]
    public void L2EntryPointingOutsideTheFile()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        long l1 = (long)Field(path, 40);
        long l2 = (long)(Field(path, (int)l1) & 0x00FF_FFFF_FFFF_FE00);
        Patch(path, l2 + 8, 0x8000_0100_0000_0000);
        Assert.Contains($"L2 table at 0x{l2:x}, entry 1", Refused(path), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void HeaderCutShortAndBadFields()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        byte[] all = File.ReadAllBytes(path);
        File.WriteAllBytes(path, all.AsSpan(0, 60).ToArray());
        Assert.Equal("qcow2 header cut short: the file has 60 bytes, a header needs at least 72", Refused(path));

        File.WriteAllBytes(path, all);
        Patch(path, 4, 4, size: 4);
        Assert.Equal("qcow2 version 4 is not supported (versions 2 and 3 are)", Refused(path));

        File.WriteAllBytes(path, all);
        Patch(path, 20, 30, size: 4);
        Assert.Equal("qcow2 cluster_bits 30 is outside 9..21 (512 bytes to 2 MiB clusters)", Refused(path));

        File.WriteAllBytes(path, all);
        Patch(path, 36, 0, size: 4);
        Assert.Equal("qcow2 L1 table has 0 entries, too few for a 4194304-byte disk (needs 1)", Refused(path));
    }

    [SkippableTheory]
    [InlineData(0, "the dirty bit is set (lazy_refcounts left the refcounts stale); repair it with qemu-img check -r all")]
    [InlineData(1, "QEMU marked it corrupt; repair it with qemu-img check -r all, or attach it with readonly=on")]
    [InlineData(10, "unsupported qcow2 feature: unknown (incompatible feature bit 10)")]
    public void IncompatibleFeatureBits(int bit, string expected)
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        Patch(path, 72, 1UL << bit);
        Assert.Equal(expected, Refused(path));
    }

    [SkippableFact]
    public void ACorruptMarkedImageStillOpensReadOnly()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData();
        Patch(path, 72, 1UL << 1);
        using var disk = QemuImg.OpenEmu(path, readOnly: true);
        byte[] sector = new byte[512];
        disk.Read(sector, 0);
        Assert.All(sector, b => Assert.Equal(0x5a, b));
    }

    [SkippableTheory]
    [InlineData("extended_l2=on", "unsupported qcow2 feature: extended L2 entries (subclusters)")]
    [InlineData("compression_type=zstd", "unsupported qcow2 feature: compression type zstd (only zlib is supported)")]
    [InlineData("data_file=ext.raw", "unsupported qcow2 feature: external data file")]
    public void FeaturesQemuImgCanCreate(string option, string expected)
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = Path.Combine(_dir, "feature.qcow2");
        (int status, string output) = QemuImg.Run("create", "-q", "-f", "qcow2", "-o", option, path, "4M");
        Skip.If(status != 0 && option.StartsWith("compression_type", StringComparison.Ordinal), $"this qemu-img cannot make {option}: {output}");
        Assert.True(status == 0, output);
        Assert.Equal(expected, Refused(path));
    }

    [SkippableFact]
    public void EncryptedImage()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = Path.Combine(_dir, "secret.qcow2");
        // qemu-img times its LUKS key derivation with the thread's CPU clock; on a loaded host that
        // measurement can come back empty ("Unable to get accurate CPU usage"), so try a few times.
        (int status, string output) = (1, string.Empty);
        for (int attempt = 0; attempt < 5 && status != 0; attempt++)
        {
            (status, output) = QemuImg.Run("create", "-q", "--object", "secret,id=sec0,data=emu", "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", path, "4M");
            Assert.True(status == 0 || output.Contains("Unable to get accurate CPU usage", StringComparison.Ordinal), output);
        }

        Assert.True(status == 0, output);
        Assert.Equal("encrypted qcow2 images are not supported (crypt_method 2: LUKS)", Refused(path));
    }

    [SkippableFact]
    public void LazyRefcountsOnACleanImageIsWrittenWithEagerRefcounts()
    {
        // compatible_features bit 0 only allows a writer to defer refcounts (marking the image dirty);
        // emu never defers, so the image stays clean and QEMU finds nothing to repair.
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string path = ImageWithData(options: "lazy_refcounts=on");
        using (var disk = QemuImg.OpenEmu(path))
        {
            disk.Write(new byte[4096], 2 << 20);
        }

        Assert.Equal(0UL, Field(path, 72));
        (int check, string output) = QemuImg.Check(path);
        Assert.True(check == 0, output);
    }

    [SkippableFact]
    public void MissingBackingFileNamesIt()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string backing = Path.Combine(_dir, "base.raw");
        File.WriteAllBytes(backing, new byte[1 << 20]);
        string top = Path.Combine(_dir, "top.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", top, "4M");
        File.Delete(backing);
        Assert.Equal($"backing file {backing}: no such file", Refused(top));
    }

    [SkippableFact]
    public void ABackingChainThatLoops()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string a = Path.Combine(_dir, "a.qcow2"), b = Path.Combine(_dir, "b.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", a, "4M");
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b, "4M");
        QemuImg.Ok("rebase", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", a);
        Assert.Contains("the backing chain is deeper than 16 files (a loop?)", Refused(b), StringComparison.Ordinal);
    }
}
