using Xunit;

namespace Emulator.Tests.Serial;

/// <summary>Interrupt identification, priorities and the IRQ wire (PC16550D, Interrupt Identification Register and Interrupt Control Functions table).</summary>
public sealed class Uart16550InterruptTests
{
    private const byte Out2 = 0x08, Loop = 0x10;

    private readonly Com1 _com = new();

    [Theory]
    [InlineData(0x01, 1)]
    [InlineData(0x41, 4)]
    [InlineData(0x81, 8)]
    [InlineData(0xC1, 14)]
    public void DataAvailableIsIdentifiedAtTheTriggerLevel(byte fcr, int trigger)
    {
        _com.Out(Com1.Fcr, fcr);
        _com.Out(Com1.Ier, 0x01);
        _com.Uart.Receive(new byte[trigger - 1]);
        Assert.NotEqual(0x04, _com.In(Com1.Iir) & 0x0F);

        _com.Uart.Receive(new byte[1]);

        Assert.Equal(0xC4, _com.In(Com1.Iir)); // bits 6-7 set in FIFO mode
    }

    [Fact]
    public void DataAvailableClearsWhenTheFifoDropsBelowTheTrigger()
    {
        _com.Out(Com1.Fcr, 0x41); // trigger at 4
        _com.Out(Com1.Ier, 0x01);
        _com.Uart.Receive("abcd"u8);
        Assert.Equal(0xC4, _com.In(Com1.Iir));

        _com.In(Com1.Rbr);

        // Three characters remain below the trigger: no longer "data available"; they are reported as
        // a character timeout, which this UART raises without waiting four character times.
        Assert.Equal(0xCC, _com.In(Com1.Iir));
        _com.In(Com1.Rbr);
        _com.In(Com1.Rbr);
        _com.In(Com1.Rbr);
        Assert.Equal(0xC1, _com.In(Com1.Iir)); // empty: timeout cleared by reading the FIFO
    }

    [Fact]
    public void In16450ModeOneCharacterIsDataAvailable()
    {
        _com.Out(Com1.Ier, 0x01);
        _com.Uart.Receive("x"u8);
        Assert.Equal(0x04, _com.In(Com1.Iir));

        _com.In(Com1.Rbr);

        Assert.Equal(0x01, _com.In(Com1.Iir));
    }

    [Fact]
    public void IirReportsSourcesInPriorityOrder()
    {
        // Loopback with DTR: DSR changes (modem status), and two characters without a read overrun RBR.
        _com.Out(Com1.Mcr, Loop | 0x01);
        _com.Out(Com1.Ier, 0x0F);
        _com.Out(Com1.Thr, 0x11);
        _com.Out(Com1.Thr, 0x22);

        Assert.Equal(0x06, _com.In(Com1.Iir)); // 1st: receiver line status (overrun)
        Assert.Equal(0x06, _com.In(Com1.Iir) & 0x0F); // reading IIR does not clear it
        _com.In(Com1.Lsr);
        Assert.Equal(0x04, _com.In(Com1.Iir)); // 2nd: received data available
        _com.In(Com1.Rbr);
        Assert.Equal(0x02, _com.In(Com1.Iir)); // 3rd: THR empty, cleared by this very read
        Assert.Equal(0x00, _com.In(Com1.Iir)); // 4th: modem status
        _com.In(Com1.Msr);
        Assert.Equal(0x01, _com.In(Com1.Iir));
    }

    [Fact]
    public void ThreInterruptIsClearedByReadingIirAndRaisedAgainByThrWrite()
    {
        _com.Out(Com1.Mcr, Out2);
        _com.Out(Com1.Ier, 0x02);
        Assert.True(_com.Line.Level);

        Assert.Equal(0x02, _com.In(Com1.Iir));
        Assert.False(_com.Line.Level);
        Assert.Equal(0x01, _com.In(Com1.Iir));

        _com.Out(Com1.Thr, (byte)'a');

        // The write clears THRE; the character leaves at once and THR is empty again.
        Assert.True(_com.Line.Level);
        Assert.Equal(0x02, _com.In(Com1.Iir));
    }

    [Fact]
    public void ThrWriteDropsTheLineBeforeRaisingItAgain()
    {
        _com.Out(Com1.Mcr, Out2);
        _com.Out(Com1.Ier, 0x02);
        _com.Line.Levels.Clear();

        _com.Out(Com1.Thr, (byte)'a');

        Assert.Equal([false, true], _com.Line.Levels); // a fresh rising edge for an edge-triggered PIC
    }

    [Fact]
    public void EnablingEtbeiWhileThrIsEmptyRearmsThre()
    {
        _com.Out(Com1.Mcr, Out2);
        _com.Out(Com1.Ier, 0x02);
        _com.In(Com1.Iir);
        Assert.False(_com.Line.Level);

        _com.Out(Com1.Ier, 0x00);
        _com.Out(Com1.Ier, 0x02);

        Assert.True(_com.Line.Level);
        Assert.Equal(0x02, _com.In(Com1.Iir));
    }

    [Fact]
    public void OverrunIn16450ModeSetsOeAndRaisesLineStatus()
    {
        _com.Out(Com1.Mcr, Loop);
        _com.Out(Com1.Ier, 0x04);
        _com.Out(Com1.Thr, 0x11);
        _com.Out(Com1.Thr, 0x22);

        Assert.Equal(0x06, _com.In(Com1.Iir));
        Assert.Equal(0x63, _com.In(Com1.Lsr)); // DR, OE, THRE, TEMT
        Assert.Equal(0x61, _com.In(Com1.Lsr)); // OE is reset by reading LSR
        Assert.Equal(0x01, _com.In(Com1.Iir));
        Assert.Equal(0x22, _com.In(Com1.Rbr)); // the second character destroyed the first
    }

    [Fact]
    public void OverrunInFifoModeKeepsTheFifoAndLosesTheNewCharacter()
    {
        _com.Out(Com1.Fcr, 0x01);
        _com.Out(Com1.Mcr, Loop);
        for (int i = 0; i < 17; i++)
        {
            _com.Out(Com1.Thr, (byte)i);
        }

        Assert.Equal(0x02, _com.In(Com1.Lsr) & 0x02);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(i, _com.In(Com1.Rbr));
        }

        Assert.Equal(0x00, _com.In(Com1.Lsr) & 0x01);
    }

    [Fact]
    public void Out2GatesTheIrqLine()
    {
        _com.Out(Com1.Ier, 0x02); // THRE pending from here on
        Assert.False(_com.Line.Level);

        _com.Out(Com1.Mcr, Out2);
        Assert.True(_com.Line.Level);

        _com.Out(Com1.Mcr, 0x03); // DTR and RTS alone do not open the gate
        Assert.False(_com.Line.Level);

        _com.Out(Com1.Mcr, Out2 | Loop); // loopback forces the OUT pins inactive
        Assert.False(_com.Line.Level);

        _com.Out(Com1.Mcr, Out2);
        Assert.True(_com.Line.Level);

        _com.Out(Com1.Mcr, 0x00);
        Assert.False(_com.Line.Level);
        Assert.Equal(0x02, _com.In(Com1.Iir)); // the UART's own INTR was pending all along
    }

    [Fact]
    public void ModemStatusInterruptFollowsDeltaBits()
    {
        _com.Out(Com1.Ier, 0x08);
        _com.Out(Com1.Mcr, Out2 | Loop);
        Assert.Equal(0x00, _com.In(Com1.Iir));

        _com.In(Com1.Msr);

        Assert.Equal(0x01, _com.In(Com1.Iir));
    }
}
