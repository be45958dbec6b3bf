using System.Text;
using Emulator.Core.Io;
using Emulator.Devices.Diagnostics;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class DebugConsoleTests
{
    private sealed class FlushCountingStream : MemoryStream
    {
        public int Flushes { get; private set; }

        public override void Flush()
        {
            Flushes++;
            base.Flush();
        }
    }

    [Fact]
    public void BytesWrittenReachTheSinkAndAreFlushed()
    {
        using var sink = new FlushCountingStream();
        var bus = new IoPortBus(new Lock());
        bus.Register(DebugConsole.DefaultPort, 1, new DebugConsole(sink));

        foreach (byte b in "hi\n"u8)
        {
            bus.Write(DebugConsole.DefaultPort, 1, b);
        }

        Assert.Equal("hi\n", Encoding.ASCII.GetString(sink.ToArray()));
        Assert.Equal(3, sink.Flushes);
    }

    [Fact]
    public void WordWriteSendsBothBytesLowFirst()
    {
        using var sink = new MemoryStream();
        var bus = new IoPortBus(new Lock());
        bus.Register(0x402, 1, new DebugConsole(sink, 0x402));

        bus.Write(0x402, 2, 'O' | ('K' << 8));

        Assert.Equal("OK", Encoding.ASCII.GetString(sink.ToArray()));
    }

    [Fact]
    public void ReadReturnsTheBochsSignature()
    {
        using var sink = new MemoryStream();
        var bus = new IoPortBus(new Lock());
        bus.Register(0x190, 1, new DebugConsole(sink, 0x190));

        Assert.Equal(0xe9u, bus.Read(0x190, 1));
        Assert.Equal(0, sink.Length);
    }
}
