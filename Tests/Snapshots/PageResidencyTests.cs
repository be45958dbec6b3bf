using Emulator.Core.Memory;
using Emulator.Core.Snapshots;
using Xunit;

namespace Emulator.Tests.Snapshots;

/// <summary>
/// The pages a snapshot skips without reading them: the kernel's page map says which pages of fresh
/// anonymous memory have been written; a RAM section written from such memory holds exactly those.
/// </summary>
public sealed unsafe class PageResidencyTests
{
    [SkippableFact]
    public void OnlyWrittenPagesMayHoldData()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/proc/self/pagemap"), "needs Linux's /proc/self/pagemap");
        using var ram = new HostMapping(64 * 4096);
        ram.Pointer[3 * 4096] = 1;
        ram.Pointer[(10 * 4096) + 100] = 2;
        using PageResidency residency = PageResidency.Open();
        Assert.Equal((1UL << 3) | (1UL << 10), residency.MaybeUsed(ram.Pointer, 64));

        // Not page-aligned: nothing is known, every page may hold data.
        Assert.Equal((1UL << 8) - 1, residency.MaybeUsed(ram.Pointer + 1, 8));
    }

    [Fact]
    public void RamWrittenFromAMappingReadsBackTheSame()
    {
        using var ram = new HostMapping(8UL << 20);
        var random = new Random(5);
        for (int page = 0; page < 2048; page += 37)
        {
            random.NextBytes(new Span<byte>(ram.Pointer + ((long)page * 4096), 4096));
        }

        // A page read but never written stays zero; one written with zeros is stored or skipped alike.
        _ = ram.Pointer[500 * 4096];
        ram.Pointer[600 * 4096] = 0;
        var stream = new MemoryStream();
        RamImageStats stats = RamImage.Encode(ram.Pointer, ram.Size, bytes => stream.Write(bytes));
        Assert.Equal(2048UL - 56, stats.ZeroPages);

        using var back = new HostMapping(8UL << 20);
        RamImage.Decode(stream.ToArray(), back.Pointer, back.Size, clearZeroPages: false);
        Assert.True(new ReadOnlySpan<byte>(ram.Pointer, 8 << 20).SequenceEqual(new ReadOnlySpan<byte>(back.Pointer, 8 << 20)));
    }
}
