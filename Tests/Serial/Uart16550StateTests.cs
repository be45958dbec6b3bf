using Emulator.Core.Devices;
using Xunit;

namespace Emulator.Tests.Serial;

/// <summary>Save/restore and the host input queue.</summary>
public sealed class Uart16550StateTests
{
    [Fact]
    public void SaveRestoreRoundTripsRegistersFifoAndPendingInput()
    {
        var source = new Com1();
        source.Out(Com1.Lcr, 0x80);
        source.Out(Com1.Dll, 0x03);
        source.Out(Com1.Dlm, 0x01);
        source.Out(Com1.Lcr, 0x1B);
        source.Out(Com1.Ier, 0x05);
        source.Out(Com1.Fcr, 0xC1); // FIFO, trigger 14
        source.Out(Com1.Mcr, 0x0B);
        source.Out(Com1.Scr, 0x42);
        byte[] input = [.. Enumerable.Range(0, 20).Select(i => (byte)(0x60 + i))];
        source.Uart.Receive(input); // 16 in the FIFO, 4 waiting on the host side
        source.In(Com1.Rbr);
        source.In(Com1.Rbr);

        DeviceState state = source.Uart.Save();
        var target = new Com1();
        target.Uart.Restore(state);

        Assert.Equal(state.Name, target.Uart.Name);
        Assert.True(target.Line.Level); // OUT2 set and 16 characters >= trigger 14
        Assert.Equal(0x1B, target.In(Com1.Lcr));
        Assert.Equal(0x05, target.In(Com1.Ier));
        Assert.Equal(0x0B, target.In(Com1.Mcr));
        Assert.Equal(0x42, target.In(Com1.Scr));
        Assert.Equal(0xC4, target.In(Com1.Iir));
        target.Out(Com1.Lcr, 0x9B);
        Assert.Equal(0x03, target.In(Com1.Dll));
        Assert.Equal(0x01, target.In(Com1.Dlm));
        target.Out(Com1.Lcr, 0x1B);
        foreach (byte expected in input[2..])
        {
            Assert.Equal(expected, target.In(Com1.Rbr));
        }

        Assert.Equal(0x60, target.In(Com1.Lsr));
    }

    [Fact]
    public void RestoreKeepsMsrDeltasAndLineErrors()
    {
        var source = new Com1();
        source.Out(Com1.Mcr, 0x10);
        source.Out(Com1.Thr, 1);
        source.Out(Com1.Thr, 2);

        var target = new Com1();
        target.Uart.Restore(source.Uart.Save());

        Assert.Equal(0x63, target.In(Com1.Lsr));
        Assert.Equal(0x0B, target.In(Com1.Msr));
    }

    [Fact]
    public void RestoreRejectsAnUnknownVersion()
    {
        var com = new Com1();
        DeviceState state = com.Uart.Save();

        Assert.Throws<InvalidDataException>(() => com.Uart.Restore(state with { Version = state.Version + 1 }));
    }

    [Fact]
    public void RestoreRejectsTruncatedState()
    {
        var com = new Com1();
        DeviceState state = com.Uart.Save();

        Assert.Throws<InvalidDataException>(() => com.Uart.Restore(state with { Data = state.Data[..5] }));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    public void HundredBytesAreAllReadInOrder(byte fcr)
    {
        var com = new Com1();
        com.Out(Com1.Fcr, fcr);
        byte[] input = [.. Enumerable.Range(0, 100).Select(i => (byte)i)];

        com.Uart.Receive(input);

        foreach (byte expected in input)
        {
            Assert.Equal(0x01, com.In(Com1.Lsr) & 0x01);
            Assert.Equal(expected, com.In(Com1.Rbr));
        }

        Assert.Equal(0x00, com.In(Com1.Lsr) & 0x01);
        Assert.Equal(0x00, com.In(Com1.Lsr) & 0x02); // nothing overran
    }

    [Fact]
    public void AFullInputQueueBlocksTheSenderInsteadOfDropping()
    {
        var com = new Com1(inputQueueCapacity: 8);
        byte[] input = [.. Enumerable.Range(0, 1000).Select(i => (byte)(i * 7))];
        var sender = new Thread(() => com.Uart.Receive(input)) { IsBackground = true };
        sender.Start();

        var read = new List<byte>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (read.Count < input.Length && DateTime.UtcNow < deadline)
        {
            if ((com.In(Com1.Lsr) & 0x01) != 0)
            {
                read.Add(com.In(Com1.Rbr));
            }
            else
            {
                Thread.Yield();
            }
        }

        Assert.True(sender.Join(TimeSpan.FromSeconds(5)));
        Assert.Equal(input, read);
    }

    [Fact]
    public void QueuedHostInputSurvivesAReset()
    {
        var com = new Com1();
        com.Uart.Receive("ab"u8);

        com.Uart.Reset();

        Assert.Equal((byte)'b', com.In(Com1.Rbr));
    }
}
