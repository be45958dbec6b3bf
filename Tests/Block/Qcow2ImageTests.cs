using System.Buffers.Binary;
using Emulator.Backends.Block.Qcow2;
using Xunit;

namespace Emulator.Tests.Block;

/// <summary>
/// emu's qcow2 backend against QEMU's tools: images made by qemu-img (several cluster sizes, refcount
/// widths, versions 2 and 3, backing files raw and qcow2, compressed clusters, zero clusters, an
/// internal snapshot) are written and read through the backend while a plain byte array keeps what
/// the disk must hold; then `qemu-img check` must find no errors and no leaks, and `qemu-img compare`
/// must find the image identical to that array written out as a raw file.
/// </summary>
public sealed class Qcow2ImageTests : IDisposable
{
    private const long Size = 8 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-qcow2-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [SkippableTheory]
    [InlineData("compat=1.1")]                                   // QEMU's default: version 3, 64 KiB clusters, 16-bit refcounts
    [InlineData("compat=0.10")]                                  // version 2
    [InlineData("cluster_size=512")]                             // many L2 tables; the refcount table must grow
    [InlineData("cluster_size=512,refcount_bits=1")]             // sub-byte refcounts
    [InlineData("cluster_size=4096,refcount_bits=64")]
    [InlineData("cluster_size=2M")]                              // the largest cluster QEMU opens
    [InlineData("cluster_size=1024,refcount_bits=4,compat=1.1")]
    public void RandomWritesGiveAnImageQemuImgChecksAndFindsIdentical(string options)
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = PathOf("disk.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-o", options, image, Size.ToString());
        byte[] expected = new byte[Size];

        using (Qcow2Image disk = QemuImg.OpenEmu(image))
        {
            Assert.Equal(Size, disk.Length);
            RandomWorkload(disk, expected, seed: 1, operations: 300);
        }

        AssertQemuAgrees(image, expected);
        AssertEmuReads(image, expected);
    }

    [SkippableFact]
    public void AnImageWrittenPastItsRefcountTableStaysConsistentAcrossReopens()
    {
        // 512-byte clusters with 16-bit refcounts: one refcount block covers 128 KiB and the first
        // table 8 MiB of file, so filling 24 MiB grows the table (and the header changes) several times.
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = PathOf("grow.qcow2");
        const long size = 24 << 20;
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", image, size.ToString());
        byte[] expected = new byte[size];
        var random = new Random(7);
        for (int pass = 0; pass < 2; pass++)
        {
            using Qcow2Image disk = QemuImg.OpenEmu(image);
            for (long at = pass * 512; at + (64 << 10) <= size; at += 2 * (64 << 10))
            {
                random.NextBytes(expected.AsSpan((int)at, 64 << 10));
                disk.Write(expected.AsSpan((int)at, 64 << 10), at);
            }
        }

        AssertQemuAgrees(image, expected);
        AssertEmuReads(image, expected);
    }

    [SkippableTheory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    public void WritesOverABackingFileKeepTheRestOfEachClusterFromIt(string backingFormat)
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        byte[] expected = new byte[Size];
        new Random(3).NextBytes(expected.AsSpan(0, (int)(Size / 2))); // the backing file is half the size
        string baseRaw = PathOf("base.raw");
        File.WriteAllBytes(baseRaw, expected.AsSpan(0, (int)(Size / 2)).ToArray());
        string backing = baseRaw;
        if (backingFormat == "qcow2")
        {
            backing = PathOf("base.qcow2");
            QemuImg.Ok("convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096", baseRaw, backing);
        }

        string top = PathOf("top.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-b", Path.GetFileName(backing), "-F", backingFormat, top, Size.ToString());
        byte[] backingBefore = File.ReadAllBytes(backing);

        using (Qcow2Image disk = QemuImg.OpenEmu(top))
        {
            // Reads before any write come from the backing file, zeros past its end.
            AssertReads(disk, expected);
            RandomWorkload(disk, expected, seed: 2, operations: 200);
        }

        AssertQemuAgrees(top, expected);
        AssertEmuReads(top, expected);
        Assert.Equal(backingBefore, File.ReadAllBytes(backing));
    }

    [SkippableFact]
    public void CompressedClustersReadAndRewrite()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);

        // Compressible but not trivial: lines of text with numbers, so every cluster differs.
        byte[] expected = new byte[Size];
        var random = new Random(5);
        for (int i = 0; i + 32 <= expected.Length; i += 32)
        {
            System.Text.Encoding.ASCII.GetBytes($"line {i / 32,10} {random.Next(1000),5}      \n").CopyTo(expected, i);
        }

        string raw = PathOf("plain.raw");
        File.WriteAllBytes(raw, expected);
        string image = PathOf("packed.qcow2");
        QemuImg.Ok("convert", "-q", "-c", "-f", "raw", "-O", "qcow2", raw, image);
        Assert.True(new FileInfo(image).Length < Size / 3, "qemu-img convert -c did not compress");

        AssertEmuReads(image, expected);
        using (Qcow2Image disk = QemuImg.OpenEmu(image))
        {
            RandomWorkload(disk, expected, seed: 6, operations: 100);
        }

        AssertQemuAgrees(image, expected);
        AssertEmuReads(image, expected);
    }

    [SkippableFact]
    public void ZeroClustersReadAsZerosOverABackingFileAndCanBeWritten()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        byte[] expected = new byte[Size];
        new Random(8).NextBytes(expected);
        string baseRaw = PathOf("base.raw");
        File.WriteAllBytes(baseRaw, expected);
        string top = PathOf("top.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-b", baseRaw, "-F", "raw", top, Size.ToString());

        // qemu-io's write -z over a backing file leaves L2 entries with the zero flag (qcow2.txt bit 0).
        (int status, string output) = QemuImg.Io("-f", "qcow2", "-c", "write -z 64k 256k", "-c", "write -z 1M 64k", top);
        Assert.True(status == 0, output);
        expected.AsSpan(64 << 10, 256 << 10).Clear();
        expected.AsSpan(1 << 20, 64 << 10).Clear();
        AssertEmuReads(top, expected);

        using (Qcow2Image disk = QemuImg.OpenEmu(top))
        {
            byte[] piece = [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7))];
            foreach (long at in new long[] { (64 << 10) + 512, 1 << 20 })
            {
                disk.Write(piece, at);
                piece.CopyTo(expected, at);
            }
        }

        AssertQemuAgrees(top, expected);
        AssertEmuReads(top, expected);
    }

    [SkippableFact]
    public void AnInternalSnapshotKeepsItsContentWhileTheActiveImageIsWritten()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        byte[] expected = new byte[Size];
        new Random(9).NextBytes(expected.AsSpan(0, (int)(Size / 2)));
        string raw = PathOf("before.raw");
        File.WriteAllBytes(raw, expected);
        string image = PathOf("snap.qcow2");
        QemuImg.Ok("convert", "-q", "-f", "raw", "-O", "qcow2", raw, image);
        QemuImg.Ok("snapshot", "-c", "before", image);

        using (Qcow2Image disk = QemuImg.OpenEmu(image))
        {
            RandomWorkload(disk, expected, seed: 10, operations: 150);
        }

        AssertQemuAgrees(image, expected);
        string snapshot = PathOf("snapshot.raw");
        QemuImg.Ok("convert", "-q", "-f", "qcow2", "-O", "raw", "-l", "snapshot.name=before", image, snapshot);
        Assert.True(File.ReadAllBytes(raw).AsSpan().SequenceEqual(File.ReadAllBytes(snapshot)), "the snapshot changed");
    }

    [SkippableFact]
    public void QemuWrittenDataReadsBack()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = PathOf("io.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", image, Size.ToString());
        (int status, string output) = QemuImg.Io("-f", "qcow2", "-c", "write -P 0xa5 4096 100000", "-c", "write -P 0x3c 3M 1M", image);
        Assert.True(status == 0, output);
        byte[] expected = new byte[Size];
        expected.AsSpan(4096, 100000).Fill(0xa5);
        expected.AsSpan(3 << 20, 1 << 20).Fill(0x3c);
        AssertEmuReads(image, expected);
    }

    [SkippableFact]
    public void AReadOnlyOpenWritesNothingAndAnIdleWritableOpenChangesNothing()
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = PathOf("ro.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", image, Size.ToString());
        Assert.Equal(0, QemuImg.Io("-f", "qcow2", "-c", "write -P 0x11 0 1M", image).Status);
        byte[] before = File.ReadAllBytes(image);
        DateTime stamp = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(image, stamp);

        using (Qcow2Image disk = QemuImg.OpenEmu(image, readOnly: true))
        {
            Assert.True(disk.ReadOnly);
            byte[] all = new byte[Size];
            disk.Read(all, 0);
            Assert.Throws<IOException>(() => disk.Write(new byte[512], 0));
            disk.Flush();
        }

        using (QemuImg.OpenEmu(image))
        {
        }

        Assert.Equal(before, File.ReadAllBytes(image));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(image));
    }

    [SkippableFact]
    public void AutoclearBitsAreClearedBeforeTheFirstWrite()
    {
        // qcow2.txt: a writer must clear autoclear bits it does not implement before writing.
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string image = PathOf("bitmap.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", image, Size.ToString());
        QemuImg.Ok("bitmap", "--add", image, "dirty0");
        Assert.NotEqual(0UL, ReadAutoclear(image));

        byte[] expected = new byte[Size];
        using (Qcow2Image disk = QemuImg.OpenEmu(image))
        {
            expected.AsSpan(0, 4096).Fill(0x42);
            disk.Write(expected.AsSpan(0, 4096), 0);
        }

        Assert.Equal(0UL, ReadAutoclear(image));
        AssertQemuAgrees(image, expected, allowLeaks: true);
    }

    private static ulong ReadAutoclear(string image) => BinaryPrimitives.ReadUInt64BigEndian(File.ReadAllBytes(image).AsSpan(88));

    /// <summary>Writes and reads at random places, each write mirrored into <paramref name="expected"/>; flushes now and then.</summary>
    internal static void RandomWorkload(Qcow2Image disk, byte[] expected, int seed, int operations)
    {
        var random = new Random(seed);
        long sectors = disk.Length / 512;
        for (int op = 0; op < operations; op++)
        {
            int lengthSectors = random.Next(4) switch
            {
                0 => 1,
                1 => random.Next(1, 9),
                2 => 128, // 64 KiB, the chunk VirtioBlk passes on
                _ => random.Next(1, 400),
            };
            long start = random.NextInt64(0, sectors - lengthSectors + 1);
            if (random.Next(3) == 0)
            {
                start &= ~127L; // cluster-aligned for 64 KiB clusters
            }

            Span<byte> span = expected.AsSpan((int)(start * 512), lengthSectors * 512);
            if (random.Next(4) == 0)
            {
                byte[] got = new byte[span.Length];
                disk.Read(got, start * 512);
                Assert.True(span.SequenceEqual(got), $"read at sector {start} differs (operation {op})");
                continue;
            }

            random.NextBytes(span);
            disk.Write(span, start * 512);
            if (random.Next(20) == 0)
            {
                disk.Flush();
            }
        }
    }

    internal void AssertQemuAgrees(string image, byte[] expected, bool allowLeaks = false)
    {
        (int check, string checkOut) = QemuImg.Check(image);
        Assert.True(check == 0 || (allowLeaks && check == 3), $"qemu-img check exited {check}:\n{checkOut}");
        string raw = PathOf("expected.raw");
        File.WriteAllBytes(raw, expected);
        (int compare, string compareOut) = QemuImg.CompareWithRaw(image, raw);
        Assert.True(compare == 0, $"qemu-img compare exited {compare}:\n{compareOut}");
    }

    private static void AssertEmuReads(string image, byte[] expected)
    {
        using Qcow2Image disk = QemuImg.OpenEmu(image, readOnly: true);
        AssertReads(disk, expected);
    }

    private static void AssertReads(Qcow2Image disk, byte[] expected)
    {
        byte[] got = new byte[expected.Length];
        for (int at = 0; at < got.Length; at += 192 << 10)
        {
            int n = Math.Min(192 << 10, got.Length - at);
            disk.Read(got.AsSpan(at, n), at);
        }

        for (int at = 0; at < got.Length; at += 512)
        {
            Assert.True(expected.AsSpan(at, 512).SequenceEqual(got.AsSpan(at, 512)), $"sector {at / 512} differs");
        }
    }
}
