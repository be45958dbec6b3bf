using Emulator.Core.Memory;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class HostMappingTests
{
    [Fact]
    public unsafe void MappingIsPageAlignedAndRoundedUp()
    {
        using var mapping = new HostMapping(5000);

        Assert.Equal(2 * HostMapping.PageSize, mapping.Size);
        Assert.Equal(0UL, (ulong)mapping.Pointer % HostMapping.PageSize);
    }

    [Fact]
    public void MappingStartsZeroed()
    {
        using var mapping = new HostMapping(3 * HostMapping.PageSize);

        Span<byte> all = mapping.AsSpan(0, (int)mapping.Size);
        Assert.Equal(-1, all.IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void SpanOutsideTheMappingIsRejected()
    {
        using var mapping = new HostMapping(HostMapping.PageSize);

        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.AsSpan(HostMapping.PageSize - 1, 2));
    }

    [Fact]
    public void ZeroSizeIsRejected() => Assert.Throws<ArgumentOutOfRangeException>(() => new HostMapping(0));
}
