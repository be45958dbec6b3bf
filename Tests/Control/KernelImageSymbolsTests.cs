using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Emulator.Control.Guest;
using Emulator.Tests.EndToEnd;
using Emulator.Tests.EndToEnd.Control;
using Xunit;

namespace Emulator.Tests.Control;

/// <summary>
/// Symbols out of the stock Debian bzImage (scripts/guest-images.sh): the payload decompresses to
/// what the host's own xz makes of it, the same vmlinux recompressed by the host's gzip, zstd and
/// bzip2 decompresses to the same bytes, and the kallsyms decoded from it are the build's System.map
/// (from the kernel's -dbg package, `guest-images.sh --system-map`), address for address.
/// </summary>
public sealed class KernelImageSymbolsTests : IDisposable
{
    private const int PayloadOffsetField = 0x248, PayloadLengthField = 0x24c;

    private readonly string _dir = Directory.CreateTempSubdirectory("emu-kernel-image").FullName;

    private static string SystemMap => Path.Combine(GuestConsole.Cache, "System.map");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void TheBzImagesKallsymsAreTheBuildsSystemMap()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        Skip.If(!File.Exists(SystemMap), $"no {SystemMap} (scripts/guest-images.sh --system-map fetches it; .ci/run does)");
        var map = new Dictionary<string, List<(ulong Address, char Type)>>();
        foreach (string line in File.ReadLines(SystemMap))
        {
            string[] f = line.Split(' ');
            Entries(map, f[2]).Add((ulong.Parse(f[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture), f[1][0]));
        }

        KernelImageSymbols image = KernelImageSymbols.Read(GuestConsole.Kernel);
        IReadOnlyList<KernelSymbol> all = image.Linked.All;
        Assert.True(all.Count > 90_000, $"{all.Count} symbols");

        // Every symbol is in System.map at the same address. The type letters agree but for the
        // per-CPU symbols, which scripts/kallsyms.c makes absolute ('A') under
        // CONFIG_KALLSYMS_ABSOLUTE_PERCPU where the linker called them data.
        foreach (KernelSymbol s in all)
        {
            Assert.True(map.TryGetValue(s.Name, out var entries), $"{s.Name} is not in System.map");
            Assert.Contains(entries, e => e.Address == s.Address && (e.Type == s.Type || (s.Type == 'A' && s.Address < 0x10_0000 && e.Type is 'd' or 'D')));
        }

        // And System.map has no symbol the table lacks but the kallsyms tables' own and linker constants.
        HashSet<string> names = [.. all.Select(s => s.Name)];
        string[] missing = [.. map.Keys.Where(n => !names.Contains(n) && !n.StartsWith("kallsyms_", StringComparison.Ordinal) && map[n].All(e => e.Type != 'T' && e.Type != 't'))];
        Assert.True(missing.Length < 20, string.Join(' ', missing));
        Assert.DoesNotContain(map.Keys, n => !names.Contains(n) && map[n].Any(e => e.Type is 'T' or 't'));
        Assert.StartsWith("Linux version ", image.Banner, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ThePayloadIsWhatTheHostsDecompressorsMakeOfIt()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        byte[] bzImage = File.ReadAllBytes(GuestConsole.Kernel);
        (int start, int length) = Payload(bzImage);
        string xz = Path.Combine(_dir, "payload");
        File.WriteAllBytes(xz, bzImage.AsSpan(start, length - 4).ToArray());

        // Debian's kernel is xz; the host's xz is the oracle for the decompressed vmlinux.
        Skip.If(!bzImage.AsSpan(start).StartsWith((byte[])[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), "the kernel's payload is not xz");
        byte[] vmlinux = KernelImagePayload.Decompress(GuestConsole.Kernel);
        Assert.Equal(Host("xz", "--decompress", "--stdout", "--single-stream", xz), vmlinux);
        Assert.True(vmlinux.AsSpan().StartsWith("\u007fELF"u8));

        // The same kernel in the other formats the kernel's decompressor knows and emu reads.
        string raw = Path.Combine(_dir, "vmlinux");
        File.WriteAllBytes(raw, vmlinux);
        foreach ((string tool, string[] args) in (ReadOnlySpan<(string, string[])>)[("gzip", ["-1", "-c"]), ("zstd", ["-1", "-q", "-c"]), ("bzip2", ["-1", "-c"])])
        {
            Skip.If(!OnPath(tool), $"{tool} is not installed");
            string other = Path.Combine(_dir, $"vmlinuz.{tool}");
            File.WriteAllBytes(other, WithPayload(bzImage, Host(tool, [.. args, raw]), (uint)vmlinux.Length));
            Assert.Equal(vmlinux, KernelImagePayload.Decompress(other));
        }
    }

    [SkippableFact]
    public void ADamagedOrUnknownPayloadIsOneLineNamingTheFile()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        byte[] bzImage = File.ReadAllBytes(GuestConsole.Kernel);
        (int start, int length) = Payload(bzImage);

        string cut = Path.Combine(_dir, "cut");
        File.WriteAllBytes(cut, WithPayload(bzImage, bzImage.AsSpan(start, length / 2).ToArray(), BinaryPrimitives.ReadUInt32LittleEndian(bzImage.AsSpan(start + length - 4))));
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => KernelImagePayload.Decompress(cut));
        Assert.StartsWith($"{cut}: the xz payload does not decompress", e.Message, StringComparison.Ordinal);

        string lz4 = Path.Combine(_dir, "lz4");
        File.WriteAllBytes(lz4, WithPayload(bzImage, [0x02, 0x21, 0x4c, 0x18, 1, 2, 3, 4], 100));
        e = Assert.Throws<InvalidDataException>(() => KernelImagePayload.Decompress(lz4));
        Assert.Equal($"{lz4}: the kernel is compressed with lz4, which emu cannot decompress (gzip, xz, zstd and bzip2 it can)", e.Message);

        string outside = Path.Combine(_dir, "outside");
        byte[] copy = (byte[])bzImage.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(PayloadLengthField), (uint)copy.Length);
        File.WriteAllBytes(outside, copy);
        e = Assert.Throws<InvalidDataException>(() => KernelImagePayload.Decompress(outside));
        Assert.Contains("does not lie inside the file", e.Message, StringComparison.Ordinal);

        string notKernel = Path.Combine(_dir, "zeros");
        File.WriteAllBytes(notKernel, new byte[4096]);
        e = Assert.Throws<InvalidDataException>(() => KernelImageSymbols.Read(notKernel));
        Assert.Contains(notKernel, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    // Before the kernel has run (-S: the bzImage is still compressed in guest RAM and LSTAR is 0)
    // neither source has symbols, and the reply says why for each; an unknown source is refused.
    [SkippableFact]
    public void BeforeTheKernelRunsEachSourceSaysWhyItHasNoSymbols()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string socket = Path.Combine(_dir, "qmp.sock");
        using GuestProcess emu = GuestProcess.Emu(null, "run", "--accel", "jit", "-m", "512M", "--kernel", GuestConsole.Kernel, "--initrd", GuestConsole.Initrd,
            "--append", "console=ttyS0", "-S", "--serial", "null", "--qmp", $"unix:{socket},server,wait=off");
        using RawQmp qmp = RawQmp.Connect(socket, TimeSpan.FromSeconds(60), () => emu.HasExited);
        qmp.Send("""{"execute":"qmp_capabilities"}""");
        string auto = qmp.Send("""{"execute":"x-emu-query-kallsyms","arguments":{"name":"_text"}}""")["error"]!["desc"]!.GetValue<string>();
        Assert.Contains("no kallsyms token table in guest RAM", auto, StringComparison.Ordinal);
        Assert.Contains("LSTAR is 0", auto, StringComparison.Ordinal);
        string kernel = qmp.Send("""{"execute":"x-emu-query-kallsyms","arguments":{"kallsyms-source":"kernel"}}""")["error"]!["desc"]!.GetValue<string>();
        Assert.Equal("no kernel symbols: the guest kernel has not set up SYSCALL yet (LSTAR is 0), so its KASLR offset is unknown", kernel);
        Assert.Equal("GenericError", qmp.Send("""{"execute":"x-emu-query-kallsyms","arguments":{"kallsyms-source":"bogus"}}""")["error"]!["class"]!.GetValue<string>());
        Assert.False(emu.HasExited, emu.Stderr);
    }

    private static List<(ulong, char)> Entries(Dictionary<string, List<(ulong, char)>> map, string name) =>
        map.TryGetValue(name, out var list) ? list : map[name] = [];

    // Where the payload lies in the file (boot.rst: payload_offset counts from the protected-mode code).
    private static (int Start, int Length) Payload(byte[] bzImage)
    {
        int kernel = (bzImage[0x1f1] + 1) * 512;
        return (kernel + (int)BinaryPrimitives.ReadUInt32LittleEndian(bzImage.AsSpan(PayloadOffsetField)),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(bzImage.AsSpan(PayloadLengthField)));
    }

    // The bzImage with another payload appended (and the build's trailing size), the header pointing at it.
    private static byte[] WithPayload(byte[] bzImage, byte[] compressed, uint size)
    {
        int kernel = (bzImage[0x1f1] + 1) * 512;
        byte[] result = [.. bzImage, .. compressed, 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(result.Length - 4), size);
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(PayloadOffsetField), (uint)(bzImage.Length - kernel));
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(PayloadLengthField), (uint)(compressed.Length + 4));
        return result;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    private static byte[] Host(string tool, params string[] args)
    {
        using Process p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = new MemoryStream();
        Task copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        copy.Wait();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)}: {errors}");
        return output.ToArray();
    }
}
