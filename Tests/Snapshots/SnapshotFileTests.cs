using System.Runtime.InteropServices;
using Emulator.Core.Snapshots;
using Xunit;

namespace Emulator.Tests.Snapshots;

/// <summary>
/// The snapshot file (Emulator.Core/Snapshots): what is written reads back byte for byte, RAM's
/// all-zero pages take no room, and every way a file can be cut or damaged is found when the file is
/// opened, before any section is handed out, with one line naming the file.
/// </summary>
public sealed unsafe class SnapshotFileTests : IDisposable
{
    private const ulong RamSize = (4UL << 20) + (3 * 4096); // a partial last chunk
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-snapfile").FullName;
    private readonly byte* _ram = (byte*)NativeMemory.AllocZeroed((nuint)RamSize);

    public SnapshotFileTests()
    {
        // Every fifth page random, one page with a single byte set at its end, the rest zeros.
        var random = new Random(7);
        for (ulong page = 0; page < RamSize / 4096; page += 5)
        {
            random.NextBytes(new Span<byte>(_ram + (page * 4096), 4096));
        }

        _ram[(6 * 4096) + 4095] = 0x5a;
    }

    public void Dispose()
    {
        NativeMemory.Free(_ram);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void SectionsAndRamReadBackAsWritten()
    {
        string file = Write("a.emusnap", out RamImageStats stats);
        ulong pages = RamSize / 4096;
        ulong stored = (pages + 4) / 5 + 1;
        Assert.Equal(pages, stats.Pages);
        Assert.Equal(pages - stored, stats.ZeroPages);

        using SnapshotReader r = SnapshotReader.Open(file);
        Assert.Equal(["text", "raw", "ram"], r.Sections.Select(s => s.Name));
        Assert.Equal("hello, snapshot"u8.ToArray(), r.Read("text"));
        Assert.Equal(7, r.Get("text").Version);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (byte)i), r.Read("raw"));
        byte* back = (byte*)NativeMemory.AllocZeroed((nuint)RamSize);
        try
        {
            r.ReadRam(r.Get("ram"), back, RamSize, clearZeroPages: false);
            Assert.True(new ReadOnlySpan<byte>(back, (int)RamSize).SequenceEqual(new ReadOnlySpan<byte>(_ram, (int)RamSize)));

            // Into RAM that held something: the zero pages are cleared only when asked.
            new Span<byte>(back, (int)RamSize).Fill(0xee);
            r.ReadRam(r.Get("ram"), back, RamSize, clearZeroPages: true);
            Assert.True(new ReadOnlySpan<byte>(back, (int)RamSize).SequenceEqual(new ReadOnlySpan<byte>(_ram, (int)RamSize)));
        }
        finally
        {
            NativeMemory.Free(back);
        }
    }

    [Fact]
    public void EveryCutIsRefused()
    {
        byte[] good = File.ReadAllBytes(Write("good.emusnap", out _));
        string cut = Path.Combine(_dir, "cut.emusnap");

        // Every length from the empty file to one byte short, in steps that land in every part.
        for (int length = 0; length < good.Length; length += length < 200 ? 1 : 997)
        {
            File.WriteAllBytes(cut, good.AsSpan(0, length).ToArray());
            SnapshotFileException e = Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(cut).Dispose());
            Assert.StartsWith(cut + ": ", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
            Assert.True(length == 0 ? e.Message.Contains("empty", StringComparison.Ordinal) : e.Message.Contains("cut short", StringComparison.Ordinal), $"{length}: {e.Message}");
        }

        File.WriteAllBytes(cut, good.AsSpan(0, good.Length - 1).ToArray());
        Assert.Contains("cut short", Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(cut)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryFlippedByteIsFound()
    {
        byte[] good = File.ReadAllBytes(Write("good.emusnap", out _));
        string bad = Path.Combine(_dir, "bad.emusnap");
        var random = new Random(3);

        // The first 200 bytes (header, section headers, the small sections) one by one, then samples through RAM.
        IEnumerable<int> positions = Enumerable.Range(0, 200).Concat(Enumerable.Range(0, 200).Select(_ => random.Next(good.Length)));
        foreach (int at in positions)
        {
            byte[] copy = (byte[])good.Clone();
            copy[at] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(bad, copy);
            SnapshotFileException e = Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(bad).Dispose());
            Assert.StartsWith(bad + ": ", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void ForeignFilesTrailingBytesAndOtherFormatVersionsAreRefused()
    {
        string file = Write("v.emusnap", out _);
        byte[] good = File.ReadAllBytes(file);

        File.WriteAllBytes(file, [.. good, 0]);
        Assert.Contains("follow the end marker", Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(file)).Message, StringComparison.Ordinal);

        File.WriteAllText(file, "#!/bin/sh\necho this is no snapshot, but it is long enough to hold a header\n");
        Assert.Contains("not an emu snapshot", Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(file)).Message, StringComparison.Ordinal);

        // Format version 2 with a header checksum that matches: a newer emu's file.
        byte[] newer = (byte[])good.Clone();
        newer[8] = 2;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(newer.AsSpan(24), System.IO.Hashing.XxHash3.HashToUInt64(newer.AsSpan(0, 24)));
        File.WriteAllBytes(file, newer);
        Assert.Contains("format version 2 is not supported", Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(file)).Message, StringComparison.Ordinal);

        Assert.Contains("no such file", Assert.Throws<SnapshotFileException>(() => SnapshotReader.Open(Path.Combine(_dir, "missing"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUncommittedWriterLeavesNoFile()
    {
        string file = Path.Combine(_dir, "never.emusnap");
        using (var w = new SnapshotWriter(file))
        {
            w.Add("text", 1, "x"u8);
        }

        Assert.Empty(Directory.EnumerateFiles(_dir));
    }

    private string Write(string name, out RamImageStats stats)
    {
        string file = Path.Combine(_dir, name);
        using var w = new SnapshotWriter(file);
        w.Add("text", 7, "hello, snapshot"u8);
        w.Add("raw", 1, [.. Enumerable.Range(0, 300).Select(i => (byte)i)], compress: false);
        stats = w.AddRam("ram", 1, _ram, RamSize);
        w.Commit();
        return file;
    }
}
