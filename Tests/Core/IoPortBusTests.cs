using Emulator.Core.Devices;
using Emulator.Core.Io;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class IoPortBusTests
{
    private readonly IoPortBus _bus = new(new Lock());

    [Fact]
    public void RegisteredDeviceClaimsItsPorts()
    {
        var device = new RecordingDevice("uart");
        _bus.Register(0x3f8, 8, device);

        Assert.Same(device, _bus.DeviceAt(0x3f8));
        Assert.Same(device, _bus.DeviceAt(0x3ff));
        Assert.Null(_bus.DeviceAt(0x3f7));
        Assert.Null(_bus.DeviceAt(0x400));
    }

    [Fact]
    public void DoubleClaimIsRejected()
    {
        _bus.Register(0x60, 1, new RecordingDevice("a"));
        _bus.Register(0x64, 1, new RecordingDevice("b"));

        Assert.Throws<InvalidOperationException>(() => _bus.Register(0x60, 1, new RecordingDevice("c")));
        Assert.Throws<InvalidOperationException>(() => _bus.Register(0x62, 4, new RecordingDevice("d")));
        Assert.Null(_bus.DeviceAt(0x62));
    }

    [Fact]
    public void UnclaimedPortReadsAllOnesAndDropsWrites()
    {
        Assert.Equal(0xffu, _bus.Read(0x1234, 1));
        Assert.Equal(0xffffu, _bus.Read(0x1234, 2));
        Assert.Equal(0xffff_ffffu, _bus.Read(0x1234, 4));
        _bus.Write(0x1234, 1, 0);

        Assert.Equal(4, _bus.UnclaimedAccesses);
    }

    [Fact]
    public void OffsetsAreRelativeToTheFirstPort()
    {
        var device = new RecordingDevice("pm");
        _bus.Register(0x600, 0x10, device);

        _bus.Write(0x604, 2, 0x3c00);
        uint value = _bus.Read(0x608, 1);

        Assert.Equal((true, 4UL), (device.Accesses[0].IsWrite, device.Accesses[0].Offset));
        Assert.Equal(new byte[] { 0x00, 0x3c }, device.Accesses[0].Data);
        Assert.Equal((false, 8UL), (device.Accesses[1].IsWrite, device.Accesses[1].Offset));
        Assert.Equal(RecordingDevice.PatternAt(8), (byte)value);
    }

    [Fact]
    public void ByteOnlyDeviceSeesAWordInAsTwoBytes()
    {
        var device = new RecordingDevice("bytes", AccessSizes.Byte);
        _bus.Register(0x70, 2, device);

        uint value = _bus.Read(0x70, 2);

        Assert.Equal([0UL, 1UL], device.Accesses.Select(a => a.Offset));
        Assert.Equal((uint)(RecordingDevice.PatternAt(0) | (RecordingDevice.PatternAt(1) << 8)), value);
    }

    [Theory]
    [InlineData(0xffff, 2)]
    [InlineData(0xfff0, 0x11)]
    [InlineData(0x100, 0)]
    [InlineData(0x100, -1)]
    public void OutOfRangeRegistrationIsRejected(int first, int count) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _bus.Register((ushort)first, count, new RecordingDevice("x")));

    [Fact]
    public void LastPortCanBeClaimed()
    {
        var device = new RecordingDevice("top");
        _bus.Register(0xffff, 1, device);

        Assert.Same(device, _bus.DeviceAt(0xffff));
    }
    [Fact]
    public void UnregisteredPortsAreFreeAgainAndOnlyTheOwnerMayRelease()
    {
        var device = new RecordingDevice("bar");
        var other = new RecordingDevice("other");
        _bus.Register(0xc000, 0x20, device);

        Assert.Throws<InvalidOperationException>(() => _bus.Unregister(0xc000, 0x20, other));
        _bus.Unregister(0xc000, 0x20, device);

        Assert.Null(_bus.DeviceAt(0xc000));
        Assert.Equal(0xffu, _bus.Read(0xc010, 1));
        _bus.Register(0xc000, 0x20, other);
    }

    [Fact]
    public void WatchFiresOnceRightAfterTheCountedAccess()
    {
        _bus.Register(0x60, 1, new RecordingDevice("kbd"));
        var seen = new List<long>();
        _bus.WatchAccessCount(3, () => seen.Add(_bus.Accesses));

        _bus.Write(0x60, 1, 1);
        _bus.Read(0x1234, 1); // unclaimed ports count too
        Assert.Empty(seen);
        _bus.Write(0x60, 1, 2);
        _bus.Write(0x60, 1, 3);

        Assert.Equal([3L], seen);
        Assert.Equal(4, _bus.Accesses);
    }
}
