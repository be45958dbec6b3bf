using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>Configuration mechanism #1 (PCI 3.0 §3.2.2.3.2) through real port accesses.</summary>
public sealed class PciHostBridgeTests : IDisposable
{
    private readonly PciTestBench _pc = new();

    public void Dispose() => _pc.Dispose();

    [Fact]
    public void I440fxAndPiix3AnswerWithTheirIds()
    {
        Assert.Equal(0x1237_8086u, _pc.ConfigRead(0, 0, 0x00, 4));
        Assert.Equal(0x7000_8086u, _pc.ConfigRead(1, 0, 0x00, 4));

        // Class code: host bridge 06.00.00 and ISA bridge 06.01.00; PIIX3 is multi-function.
        Assert.Equal(0x0600_0000u, _pc.ConfigRead(0, 0, 0x08, 4) & 0xffff_ff00);
        Assert.Equal(0x0601_0000u, _pc.ConfigRead(1, 0, 0x08, 4) & 0xffff_ff00);
        Assert.Equal(0x80u, _pc.ConfigRead(1, 0, 0x0e, 1));
    }

    [Fact]
    public void ByteAndWordAccessesReachTheRegisterPlusThePortOffset()
    {
        Assert.Equal(0x86u, _pc.ConfigRead(0, 0, 0x00, 1));
        Assert.Equal(0x80u, _pc.ConfigRead(0, 0, 0x01, 1));
        Assert.Equal(0x1237u, _pc.ConfigRead(0, 0, 0x02, 2));
        Assert.Equal(0x12u, _pc.ConfigRead(0, 0, 0x03, 1));

        // A word at 0xCFE with the address register pointing at dword 0.
        _pc.Io.Write(0xcf8, 4, 0x8000_0800);
        Assert.Equal(0x7000u, _pc.Io.Read(0xcfe, 2));
    }

    [Fact]
    public void AbsentFunctionsAndOtherBusesReadAllOnes()
    {
        Assert.Equal(0xffff_ffffu, _pc.ConfigRead(7, 0, 0x00, 4));
        Assert.Equal(0xffffu, _pc.ConfigRead(0, 3, 0x00, 2));
        _pc.Io.Write(0xcf8, 4, 0x8001_0000); // bus 1
        Assert.Equal(0xffff_ffffu, _pc.Io.Read(0xcfc, 4));
    }

    [Fact]
    public void WithoutTheEnableBitDataPortsDoNothing()
    {
        _pc.Io.Write(0xcf8, 4, 0x0000_0000);
        Assert.Equal(0xffff_ffffu, _pc.Io.Read(0xcfc, 4));
        _pc.Io.Write(0xcfc, 4, 0x1234_5678);
        Assert.Equal(0x1237_8086u, _pc.ConfigRead(0, 0, 0x00, 4));
    }

    [Fact]
    public void AddressRegisterReadsBackWithReservedBitsClear()
    {
        _pc.Io.Write(0xcf8, 4, 0xffff_ffff);
        Assert.Equal(0x80ff_fffcu, _pc.Io.Read(0xcf8, 4));

        // Linux's pci_check_type1: a byte write to 0xCFB must not disturb CONFIG_ADDRESS.
        _pc.Io.Write(0xcf8, 4, 0x8000_0000);
        _pc.Io.Write(0xcfb, 1, 0x01);
        Assert.Equal(0x8000_0000u, _pc.Io.Read(0xcf8, 4));
    }

    [Theory]
    [InlineData(0xcfe)]
    [InlineData(0xcfd)]
    [InlineData(0xcfa)]
    public void AccessesRunningPastTheDataPortsAreHarmless(ushort port)
    {
        _pc.Io.Write(0xcf8, 4, 0x8000_00fc); // last dword of 00.0's configuration space
        Assert.Equal(0xffff_ffffu, _pc.Io.Read(port, 4));
        _pc.Io.Write(port, 4, 0x1234_5678);
        Assert.Equal(0x1237_8086u, _pc.ConfigRead(0, 0, 0x00, 4));
    }

    [Fact]
    public void ReadOnlyRegistersIgnoreWrites()
    {
        _pc.ConfigWrite(0, 0, 0x00, 4, 0xdead_beef);
        Assert.Equal(0x1237_8086u, _pc.ConfigRead(0, 0, 0x00, 4));
    }

    [Fact]
    public void ResetControlRegisterResetsOnTheRcpuEdge()
    {
        _pc.Io.Write(0xcf9, 1, 0x02);
        Assert.Equal(0, _pc.ResetRequests);
        _pc.Io.Write(0xcf9, 1, 0x06);
        Assert.Equal(1, _pc.ResetRequests);
    }

    [Fact]
    public void Piix3SteersPirqsToIsaIrqsAndSharesLevels()
    {
        var a = new TestFunction(pin: 1);
        var b = new TestFunction(pin: 1);
        _pc.Bus.Attach(2, 0, a); // slot 2 INTA# -> PIRQB
        _pc.Bus.Attach(5, 0, b); // slot 5 INTA# -> PIRQA
        Assert.Equal(1, Emulator.Devices.Chipset.Piix3.PirqOf(2, 1));
        Assert.Equal(0, Emulator.Devices.Chipset.Piix3.PirqOf(5, 1));

        a.Raise(true);
        Assert.DoesNotContain(_pc.IsaIrqs, l => l.Level); // routing disabled at reset (0x80)

        _pc.ConfigWrite(1, 0, 0x60, 4, 0x8080_0b0b); // PIRQA and PIRQB -> IRQ 11
        Assert.True(_pc.IsaIrqs[11].Level);
        b.Raise(true);
        a.Raise(false);
        Assert.True(_pc.IsaIrqs[11].Level); // still held by b on the shared line
        b.Raise(false);
        Assert.False(_pc.IsaIrqs[11].Level);

        // Interrupt Disable in the command register masks the pin but not the status bit.
        a.Raise(true);
        _pc.ConfigWrite(2, 0, 0x04, 2, 0x0400);
        Assert.False(_pc.IsaIrqs[11].Level);
        Assert.Equal(0x08u, _pc.ConfigRead(2, 0, 0x06, 2) & 0x08);
    }

    [Fact]
    public void DefaultRoutingIsQemusAndFillsInterruptLine()
    {
        _pc.Bus.Attach(3, 0, new TestFunction(pin: 1));
        _pc.Firmware();

        Assert.Equal(0x0b0b_0a0au, _pc.ConfigRead(1, 0, 0x60, 4));
        Assert.Equal(11u, _pc.ConfigRead(3, 0, 0x3c, 1)); // slot 3 INTA# -> PIRQC -> IRQ 11
        Assert.Equal(1u, _pc.ConfigRead(3, 0, 0x3d, 1));
    }
}
