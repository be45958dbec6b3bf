using Xunit;

namespace Emulator.Tests.Serial;

/// <summary>MCR bit 4, the diagnostic loopback (PC16550D, MODEM Control Register).</summary>
public sealed class Uart16550LoopbackTests
{
    private const byte Dtr = 0x01, Rts = 0x02, Out1 = 0x04, Out2 = 0x08, Loop = 0x10;

    private readonly Com1 _com = new();

    [Fact]
    public void TransmittedCharacterAppearsInRbrAndNotOnSout()
    {
        _com.Out(Com1.Mcr, Loop);

        _com.Out(Com1.Thr, (byte)'A');

        Assert.Empty(_com.Backend.Output); // SOUT is held marking
        Assert.Equal(0x01, _com.In(Com1.Lsr) & 0x01);
        Assert.Equal((byte)'A', _com.In(Com1.Rbr));
    }

    [Theory]
    [InlineData(Rts, 0x10)] // RTS -> CTS
    [InlineData(Dtr, 0x20)] // DTR -> DSR
    [InlineData(Out1, 0x40)] // OUT1 -> RI
    [InlineData(Out2, 0x80)] // OUT2 -> DCD
    [InlineData(Rts | Out2, 0x90)] // the pattern Linux's 8250 probe expects
    [InlineData(Dtr | Rts | Out1 | Out2, 0xF0)]
    public void MsrMirrorsMcrOutputs(byte outputs, byte msrHigh)
    {
        _com.Out(Com1.Mcr, (byte)(Loop | outputs));

        Assert.Equal(msrHigh, _com.In(Com1.Msr) & 0xF0);
    }

    [Fact]
    public void EnteringLoopbackSetsDeltaBitsForChangedInputs()
    {
        // Out of loopback CTS, DSR and DCD are on and RI off; with no outputs set all read off.
        _com.Out(Com1.Mcr, Loop);

        Assert.Equal(0x0B, _com.In(Com1.Msr)); // DCTS, DDSR, DDCD; RI did not change
        Assert.Equal(0x00, _com.In(Com1.Msr)); // reading MSR clears the deltas
    }

    [Fact]
    public void TeriMarksOnlyTheTrailingEdgeOfRing()
    {
        _com.Out(Com1.Mcr, Loop);
        _com.In(Com1.Msr);

        _com.Out(Com1.Mcr, Loop | Out1);
        Assert.Equal(0x40, _com.In(Com1.Msr)); // RI on: no TERI

        _com.Out(Com1.Mcr, Loop);
        Assert.Equal(0x04, _com.In(Com1.Msr)); // RI off: TERI
    }

    [Fact]
    public void HostInputWaitsWhileSinIsDisconnected()
    {
        _com.Out(Com1.Mcr, Loop);
        _com.Uart.Receive("z"u8);
        Assert.Equal(0x00, _com.In(Com1.Lsr) & 0x01);

        _com.Out(Com1.Mcr, 0x00);

        Assert.Equal(0x01, _com.In(Com1.Lsr) & 0x01);
        Assert.Equal((byte)'z', _com.In(Com1.Rbr));
    }
}
