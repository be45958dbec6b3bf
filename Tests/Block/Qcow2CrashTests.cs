using Emulator.Backends.Block;
using Emulator.Backends.Block.Qcow2;
using Xunit;

namespace Emulator.Tests.Block;

/// <summary>
/// A crash at every step: the same workload (writes that allocate L2 tables, refcount blocks and a
/// larger refcount table, copy-on-write over compressed clusters, and guest flushes) is run once per
/// file write, with the file refusing every write from that point on, as a process killed at that
/// moment would leave it. Each time `qemu-img check` must find no corruption (leaked clusters are
/// allowed), and every sector the workload did not touch after its last completed flush must hold
/// what it held at that flush (read back by qemu-img convert, not by emu).
/// </summary>
public sealed class Qcow2CrashTests : IDisposable
{
    private const long Size = 3 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-qcow2-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class SimulatedCrashException : Exception
    {
    }

    /// <summary>Passes writes through until <c>WritesLeft</c> reaches zero, then fails every write, extend and sync.</summary>
    private sealed class CrashingFile(IImageFile inner, long writesLeft) : IImageFile
    {
        public long Writes { get; private set; }

        public string Path => inner.Path;

        public long Length => inner.Length;

        public bool CanWrite => inner.CanWrite;

        public int Read(Span<byte> buffer, long offset) => inner.Read(buffer, offset);

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            Step();
            inner.Write(data, offset);
        }

        public void Extend(long length)
        {
            Step();
            inner.Extend(length);
        }

        public void Sync()
        {
            if (Writes >= writesLeft)
            {
                throw new SimulatedCrashException();
            }

            inner.Sync();
        }

        public void Dispose() => inner.Dispose();

        private void Step()
        {
            if (Writes >= writesLeft)
            {
                throw new SimulatedCrashException();
            }

            Writes++;
        }
    }

    [SkippableTheory]
    [InlineData("cluster_size=512,refcount_bits=64", false)] // a refcount block covers 32 KiB of file: blocks and tables grow
    [InlineData("cluster_size=4096", true)]                  // over compressed clusters: frees after the L2 update
    public void EveryCrashPointLeavesAnImageQemuImgAccepts(string options, bool compressed)
    {
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string pristine = Path.Combine(_dir, "pristine.qcow2");
        byte[] initial = new byte[Size];
        if (compressed)
        {
            for (int i = 0; i < initial.Length; i += 16)
            {
                System.Text.Encoding.ASCII.GetBytes($"{i,15}\n").CopyTo(initial, i);
            }

            string raw = Path.Combine(_dir, "initial.raw");
            File.WriteAllBytes(raw, initial);
            QemuImg.Ok("convert", "-q", "-c", "-f", "raw", "-O", "qcow2", "-o", options, raw, pristine);
        }
        else
        {
            QemuImg.Ok("create", "-q", "-f", "qcow2", "-o", options, pristine, Size.ToString());
        }

        string image = Path.Combine(_dir, "crashed.qcow2");
        File.Copy(pristine, image);
        long total = Run(image, initial, long.MaxValue, out _, out _);
        Assert.True(total > 50, $"the workload made only {total} writes");
        long step = Math.Max(1, total / 150);
        string back = Path.Combine(_dir, "back.raw");
        for (long crashAt = 0; crashAt < total; crashAt += step)
        {
            File.Copy(pristine, image, overwrite: true);
            Run(image, initial, crashAt, out byte[] flushed, out bool[] touched);

            (int check, string output) = QemuImg.Check(image);
            Assert.True(check is 0 or 3, $"crash after {crashAt} of {total} writes: qemu-img check exited {check}:\n{output}");
            QemuImg.Ok("convert", "-q", "-f", "qcow2", "-O", "raw", image, back);
            byte[] got = File.ReadAllBytes(back);
            for (int sector = 0; sector < touched.Length; sector++)
            {
                Assert.True(
                    touched[sector] || got.AsSpan(sector * 512, 512).SequenceEqual(flushed.AsSpan(sector * 512, 512)),
                    $"crash after {crashAt} of {total} writes: sector {sector}, untouched since the last flush, lost its flushed content");
            }
        }
    }

    /// <summary>
    /// Runs the workload over <paramref name="path"/> until the file's <paramref name="crashAt"/>th write.
    /// Returns how many writes reached the file; <paramref name="flushed"/> is the disk as of the last
    /// completed flush and <paramref name="touched"/> the sectors written after it.
    /// </summary>
    private static long Run(string path, byte[] initial, long crashAt, out byte[] flushed, out bool[] touched)
    {
        byte[] current = (byte[])initial.Clone();
        flushed = (byte[])initial.Clone();
        touched = new bool[Size / 512];
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 0, FileOptions.RandomAccess);
        var file = new CrashingFile(new HostImageFile(stream), crashAt);
        Qcow2Image disk = Qcow2Image.Open(file, readOnly: false, depth: 0);
        var random = new Random(11);
        try
        {
            for (int op = 0; op < 120; op++)
            {
                if (op % 15 == 14)
                {
                    disk.Flush();
                    current.CopyTo(flushed, 0);
                    Array.Clear(touched);
                    continue;
                }

                int sectors = random.Next(2) == 0 ? random.Next(1, 16) : 128;
                long start = random.NextInt64(0, (Size / 512) - sectors + 1);
                Span<byte> span = current.AsSpan((int)(start * 512), sectors * 512);
                random.NextBytes(span);
                touched.AsSpan((int)start, sectors).Fill(true);
                disk.Write(span, start * 512);
            }

            disk.Dispose();
            current.CopyTo(flushed, 0);
            Array.Clear(touched);
        }
        catch (SimulatedCrashException)
        {
            // The process is gone: nothing more reaches the file.
            file.Dispose();
        }

        return file.Writes;
    }
}
