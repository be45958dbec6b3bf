using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Devices.Diagnostics;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class PostCodePortTests
{
    [Fact]
    public void KeepsTheLastCodeAndReadsItBack()
    {
        var post = new PostCodePort();
        var bus = new IoPortBus(new Lock());
        bus.Register(PostCodePort.DefaultPort, 1, post);

        bus.Write(0x80, 1, 0x12);
        bus.Write(0x80, 1, 0x34);

        Assert.Equal(0x34, post.LastCode);
        Assert.Equal(0x34u, bus.Read(0x80, 1));
        Assert.Equal(new byte[] { 0x12, 0x34 }, post.GetHistory());
    }

    [Fact]
    public void HistoryIsBoundedAndKeepsTheNewestCodes()
    {
        var post = new PostCodePort(historyCapacity: 4);

        for (int code = 1; code <= 10; code++)
        {
            post.Write(0, [(byte)code]);
        }

        Assert.Equal(new byte[] { 7, 8, 9, 10 }, post.GetHistory());
        Assert.Equal(10, post.CodeCount);
    }

    [Fact]
    public void EachCodeIsForwardedToTheCallback()
    {
        var seen = new List<byte>();
        var post = new PostCodePort(seen.Add);
        var bus = new IoPortBus(new Lock());
        bus.Register(0x80, 1, post);

        bus.Write(0x80, 1, 0xaa);
        bus.Write(0x80, 1, 0x55);

        Assert.Equal(new byte[] { 0xaa, 0x55 }, seen);
    }

    [Fact]
    public void WideWriteRecordsOnlyTheLowByte()
    {
        var post = new PostCodePort();
        var bus = new IoPortBus(new Lock());
        bus.Register(0x80, 1, post);

        bus.Write(0x80, 2, 0x9988);

        Assert.Equal(new byte[] { 0x88 }, post.GetHistory());
    }

    [Fact]
    public void ResetClearsTheLastCodeButKeepsHistory()
    {
        var post = new PostCodePort();
        post.Write(0, [0x42]);

        post.Reset();

        Assert.Equal(0, post.LastCode);
        Assert.Equal(new byte[] { 0x42 }, post.GetHistory());
    }

    [Fact]
    public void StateRoundTrips()
    {
        var post = new PostCodePort();
        post.Write(0, [0x77]);
        DeviceState saved = post.Save();
        var other = new PostCodePort();

        other.Restore(saved);

        Assert.Equal(0x77, other.LastCode);
        Assert.Throws<InvalidDataException>(() => other.Restore(saved with { Version = 2 }));
    }
}
