using Xunit;

namespace Emulator.Tests.Serial;

/// <summary>Register behaviour of the PC16550D as its datasheet describes it.</summary>
public sealed class Uart16550RegisterTests
{
    private readonly Com1 _com = new();

    [Fact]
    public void ResetValuesFollowTheResetConfigurationTable()
    {
        Assert.Equal(0x00, _com.In(Com1.Ier));
        Assert.Equal(0x01, _com.In(Com1.Iir)); // bit 0 high: no interrupt pending
        Assert.Equal(0x00, _com.In(Com1.Lcr));
        Assert.Equal(0x00, _com.In(Com1.Mcr));
        Assert.Equal(0x60, _com.In(Com1.Lsr)); // THRE and TEMT only
        // MSR bits 0-3 are low; bits 4-7 follow the inputs, and the host end is a ready modem
        // with carrier: CTS, DSR and DCD on, RI off.
        Assert.Equal(0xB0, _com.In(Com1.Msr));
        Assert.False(_com.Line.Level);
    }

    [Fact]
    public void ResetReturnsEveryRegisterToItsResetValue()
    {
        _com.Out(Com1.Lcr, 0x03);
        _com.Out(Com1.Ier, 0x0F);
        _com.Out(Com1.Fcr, 0x01);
        _com.Out(Com1.Mcr, 0x1F);

        _com.Uart.Reset();

        Assert.Equal(0x00, _com.In(Com1.Ier));
        Assert.Equal(0x01, _com.In(Com1.Iir)); // FIFOs disabled again: bits 6-7 are 0
        Assert.Equal(0x00, _com.In(Com1.Lcr));
        Assert.Equal(0x00, _com.In(Com1.Mcr));
        Assert.Equal(0x60, _com.In(Com1.Lsr));
        Assert.Equal(0xB0, _com.In(Com1.Msr)); // deltas cleared by MR
    }

    [Fact]
    public void DlabSwitchesOffsetsZeroAndOneToTheDivisorLatch()
    {
        _com.Out(Com1.Ier, 0x05);
        _com.Out(Com1.Lcr, 0x83); // DLAB + 8 data bits
        _com.Out(Com1.Dll, 0x01);
        _com.Out(Com1.Dlm, 0x02);

        Assert.Equal(0x01, _com.In(Com1.Dll));
        Assert.Equal(0x02, _com.In(Com1.Dlm));
        Assert.Equal(0x83, _com.In(Com1.Lcr));

        _com.Out(Com1.Lcr, 0x03);
        Assert.Equal(0x05, _com.In(Com1.Ier)); // the DLM write did not reach IER
        Assert.Empty(_com.Backend.Output); // nor did the DLL write reach THR

        _com.Out(Com1.Lcr, 0x83);
        Assert.Equal(0x01, _com.In(Com1.Dll));
        Assert.Equal(0x02, _com.In(Com1.Dlm));
    }

    [Fact]
    public void IerBitsFourToSevenAreAlwaysZero()
    {
        _com.Out(Com1.Ier, 0xF0);
        Assert.Equal(0x00, _com.In(Com1.Ier));
    }

    [Fact]
    public void McrBitsFiveToSevenAreAlwaysZero()
    {
        _com.Out(Com1.Mcr, 0xE3);
        Assert.Equal(0x03, _com.In(Com1.Mcr));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x5A)]
    [InlineData(0xA5)]
    [InlineData(0xFF)]
    public void ScratchRegisterHoldsWhatIsWritten(byte value)
    {
        _com.Out(Com1.Scr, value);
        Assert.Equal(value, _com.In(Com1.Scr));
    }

    [Fact]
    public void ThrWritesReachTheBackendInOrder()
    {
        foreach (char c in "Hi\n")
        {
            _com.Out(Com1.Thr, (byte)c);
        }

        Assert.Equal("Hi\n"u8.ToArray(), _com.Backend.Output);
        Assert.Equal(0x60, _com.In(Com1.Lsr) & 0x60);
    }

    [Fact]
    public void DataReadyFollowsTheReceiverBuffer()
    {
        _com.Uart.Receive("A"u8);

        Assert.Equal(0x61, _com.In(Com1.Lsr)); // DR plus THRE and TEMT
        Assert.Equal((byte)'A', _com.In(Com1.Rbr));
        Assert.Equal(0x60, _com.In(Com1.Lsr)); // reading RBR emptied it
    }

    [Fact]
    public void FcrRcvrResetEmptiesTheReceiveFifo()
    {
        _com.Out(Com1.Fcr, 0x01);
        _com.Uart.Receive("abc"u8);
        Assert.Equal(0x01, _com.In(Com1.Lsr) & 0x01);

        _com.Out(Com1.Fcr, 0x03);

        Assert.Equal(0x00, _com.In(Com1.Lsr) & 0x01);
    }

    [Fact]
    public void LeavingFifoModeEmptiesTheFifo()
    {
        _com.Out(Com1.Fcr, 0x01);
        _com.Uart.Receive("abc"u8);

        _com.Out(Com1.Fcr, 0x00);

        Assert.Equal(0x00, _com.In(Com1.Lsr) & 0x01);
        Assert.Equal(0x01, _com.In(Com1.Iir)); // bits 6-7 clear in 16450 mode
    }

    [Fact]
    public void FifoHoldsSixteenCharactersInOrder()
    {
        _com.Out(Com1.Fcr, 0x01);
        byte[] data = [.. Enumerable.Range(0, 16).Select(i => (byte)(0x40 + i))];
        _com.Uart.Receive(data);

        foreach (byte expected in data)
        {
            Assert.Equal(0x01, _com.In(Com1.Lsr) & 0x01);
            Assert.Equal(expected, _com.In(Com1.Rbr));
        }

        Assert.Equal(0x00, _com.In(Com1.Lsr) & 0x01);
    }
}
