using Emulator.Devices.Intc;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>The cascaded 8259A pair against the Intel 8259A datasheet and the PIIX3 ELCR.</summary>
public sealed class Pic8259Tests : IDisposable
{
    private const ushort Master = 0x20, MasterData = 0x21, Slave = 0xA0, SlaveData = 0xA1, Elcr1 = 0x4D0, Elcr2 = 0x4D1;
    private const byte MasterBase = 0x08, SlaveBase = 0x70;

    // OCW2 commands (R SL EOI in bits 7-5, level in 2-0).
    private const byte NonSpecificEoi = 0x20, SpecificEoi = 0x60, RotateOnNonSpecificEoi = 0xA0, SetPriority = 0xC0;

    // OCW3.
    private const byte ReadIrr = 0x0A, ReadIsr = 0x0B, Poll = 0x0C, SetSpecialMask = 0x68, ResetSpecialMask = 0x48;

    private readonly PlatformTestBench _bench = new();
    private readonly CascadedPic8259 _pic;
    private int _intrRaised;

    public Pic8259Tests()
    {
        _pic = new CascadedPic8259(_bench.Platform.DeviceLock);
        _bench.Platform.Io.Register(Master, 2, _pic.Master);
        _bench.Platform.Io.Register(Slave, 2, _pic.Slave);
        _bench.Platform.Io.Register(Elcr1, 2, new Elcr(_pic));
        _pic.IntrRaised += () => _intrRaised++;
    }

    public void Dispose() => _bench.Dispose();

    /// <summary>The PC/AT initialization: edge, cascade, ICW4 with 8086 mode (plus <paramref name="masterIcw4Extra"/>).</summary>
    private void InitializePair(byte masterIcw4Extra = 0, byte slaveIcw4Extra = 0)
    {
        _bench.Out(Master, 0x11); // ICW1: ICW4 needed, cascade, edge
        _bench.Out(MasterData, MasterBase); // ICW2
        _bench.Out(MasterData, 0x04); // ICW3: slave on IR2
        _bench.Out(MasterData, (byte)(0x01 | masterIcw4Extra)); // ICW4: 8086 mode
        _bench.Out(Slave, 0x11);
        _bench.Out(SlaveData, SlaveBase);
        _bench.Out(SlaveData, 0x02); // ICW3: slave ID 2
        _bench.Out(SlaveData, (byte)(0x01 | slaveIcw4Extra));
    }

    private byte ReadRegister(ushort port, byte ocw3)
    {
        _bench.Out(port, ocw3);
        return _bench.In(port);
    }

    /// <summary>A rising edge; the line stays high, as the datasheet requires until the acknowledge.</summary>
    private void Raise(int irq) => _pic.Irq(irq).Set(true);

    [Fact]
    public void BeforeInitializationEveryInputIsMasked()
    {
        _pic.Irq(0).Set(true);

        Assert.Equal(0xFF, _bench.In(MasterData));
        Assert.False(_pic.HasInterrupt);
    }

    [Fact]
    public void InitializationSetsTheVectorBaseAndIcw1ClearsTheMask()
    {
        _bench.Out(MasterData, 0x5A); // OCW1 before init
        InitializePair();

        Assert.Equal(0x00, _bench.In(MasterData));
        Assert.Equal(0x00, _bench.In(SlaveData));

        _pic.Irq(1).Set(true);
        Assert.True(_pic.HasInterrupt);
        Assert.Equal(1, _intrRaised);
        Assert.Equal(MasterBase + 1, _pic.Acknowledge());
        Assert.Equal(0x02, ReadRegister(Master, ReadIsr));
        Assert.Equal(0x00, ReadRegister(Master, ReadIrr)); // edge request moved to ISR
        Assert.False(_pic.HasInterrupt);
    }

    [Fact]
    public void AnInputAlreadyHighAtInitializationMustRiseAgain()
    {
        _pic.Irq(3).Set(true);
        InitializePair();

        // ICW1 resets the edge sense circuit: no request until a low-to-high transition.
        Assert.False(_pic.HasInterrupt);
        _pic.Irq(3).Set(false);
        _pic.Irq(3).Set(true);
        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
    }

    [Fact]
    public void LowerLevelsWaitForEoiWhileHigherOnesNest()
    {
        InitializePair();
        _pic.Irq(3).Set(true);
        _pic.Irq(1).Set(true);

        Assert.Equal(MasterBase + 1, _pic.Acknowledge()); // IR0 highest ... IR7 lowest
        Assert.False(_pic.HasInterrupt); // IR3 is below IR1, which is in service

        Raise(0);
        Assert.True(_pic.HasInterrupt); // IR0 outranks IR1 in service: nests
        Assert.Equal(MasterBase + 0, _pic.Acknowledge());
        Assert.Equal(0x03, ReadRegister(Master, ReadIsr));

        _bench.Out(Master, NonSpecificEoi); // clears the highest in service: IR0
        Assert.Equal(0x02, ReadRegister(Master, ReadIsr));
        Assert.False(_pic.HasInterrupt);
        _bench.Out(Master, NonSpecificEoi);
        Assert.True(_pic.HasInterrupt);
        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
    }

    [Fact]
    public void MaskedRequestsStayInIrrUntilUnmasked()
    {
        InitializePair();
        _bench.Out(MasterData, 0x20); // mask IR5
        _pic.Irq(5).Set(true);

        Assert.False(_pic.HasInterrupt);
        Assert.Equal(0x20, ReadRegister(Master, ReadIrr));

        _bench.Out(MasterData, 0x00);
        Assert.True(_pic.HasInterrupt);
        Assert.Equal(MasterBase + 5, _pic.Acknowledge());
    }

    [Fact]
    public void SpecificEoiClearsTheNamedLevel()
    {
        InitializePair();
        _pic.Irq(4).Set(true);
        Assert.Equal(MasterBase + 4, _pic.Acknowledge());
        Raise(1);
        Assert.Equal(MasterBase + 1, _pic.Acknowledge());
        Assert.Equal(0x12, ReadRegister(Master, ReadIsr));

        _bench.Out(Master, SpecificEoi | 4);

        Assert.Equal(0x02, ReadRegister(Master, ReadIsr));
    }

    [Fact]
    public void AutomaticEoiLeavesNothingInService()
    {
        InitializePair(masterIcw4Extra: 0x02);
        Raise(0);
        _pic.Irq(6).Set(true);

        Assert.Equal(MasterBase + 0, _pic.Acknowledge());
        Assert.Equal(0x00, ReadRegister(Master, ReadIsr));
        Assert.True(_pic.HasInterrupt); // nothing in service blocks IR6
        Assert.Equal(MasterBase + 6, _pic.Acknowledge());
    }

    [Fact]
    public void RotateOnEoiMakesTheServicedLevelLowest()
    {
        InitializePair();
        Raise(3);
        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
        _bench.Out(Master, RotateOnNonSpecificEoi); // IR3 becomes lowest: IR4 is now highest

        _pic.Irq(1).Set(true);
        _pic.Irq(5).Set(true);

        Assert.Equal(MasterBase + 5, _pic.Acknowledge());
    }

    [Fact]
    public void SetPriorityCommandChoosesTheLowestLevel()
    {
        InitializePair();
        _bench.Out(Master, SetPriority | 5); // IR5 lowest, so IR6 highest
        _pic.Irq(0).Set(true);
        _pic.Irq(7).Set(true);

        Assert.Equal(MasterBase + 7, _pic.Acknowledge());
    }

    [Fact]
    public void SlaveInterruptsCascadeThroughIr2()
    {
        InitializePair();
        _pic.Irq(10).Set(true);

        Assert.True(_pic.HasInterrupt);
        Assert.Equal(0x04, ReadRegister(Master, ReadIrr));
        Assert.Equal(SlaveBase + 2, _pic.Acknowledge());
        Assert.Equal(0x04, ReadRegister(Master, ReadIsr)); // IR2 in service on the master
        Assert.Equal(0x04, ReadRegister(Slave, ReadIsr)); // IR2 (IRQ 10) on the slave

        // A lower slave request waits for both EOIs, slave first.
        _pic.Irq(12).Set(true);
        _pic.Irq(12).Set(false);
        Assert.False(_pic.HasInterrupt);
        _bench.Out(Slave, NonSpecificEoi);
        Assert.False(_pic.HasInterrupt); // the master still has IR2 in service
        _bench.Out(Master, NonSpecificEoi);
        Assert.False(_pic.HasInterrupt); // IRQ 12 was a pulse that ended before INTA: gone
    }

    [Fact]
    public void ASecondSlaveRequestArrivesAfterBothEois()
    {
        InitializePair();
        _pic.Irq(9).Set(true);
        Assert.Equal(SlaveBase + 1, _pic.Acknowledge());
        _pic.Irq(14).Set(true);
        Assert.False(_pic.HasInterrupt);

        _bench.Out(Slave, NonSpecificEoi);
        _bench.Out(Master, NonSpecificEoi);

        Assert.True(_pic.HasInterrupt);
        Assert.Equal(SlaveBase + 6, _pic.Acknowledge());
    }

    [Fact]
    public void Irq2IsTheCascadeAndCannotBeDriven() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _pic.Irq(2));

    [Fact]
    public void ARequestThatVanishesBeforeInterruptAcknowledgeIsSpuriousIrq7()
    {
        InitializePair();
        _pic.Irq(5).Set(true);
        Assert.True(_pic.HasInterrupt);

        _pic.Irq(5).Set(false);

        // The CPU may already be in its INTA cycle: the master answers with IR7 and sets no ISR bit.
        Assert.Equal(MasterBase + 7, _pic.Acknowledge());
        Assert.Equal(0x00, ReadRegister(Master, ReadIsr));
    }

    [Fact]
    public void EdgeTriggeredInputDoesNotInterruptAgainWhileHeldHigh()
    {
        InitializePair();
        _pic.Irq(11).Set(true);
        Assert.Equal(SlaveBase + 3, _pic.Acknowledge());

        _bench.Out(Slave, NonSpecificEoi);
        _bench.Out(Master, NonSpecificEoi);

        Assert.False(_pic.HasInterrupt);
    }

    [Fact]
    public void LevelTriggeredInputPerElcrInterruptsAgainAfterEoiWhileHigh()
    {
        InitializePair();
        _bench.Out(Elcr2, 0x08); // IRQ 11 level-sensitive
        _pic.Irq(11).Set(true);
        Assert.Equal(SlaveBase + 3, _pic.Acknowledge());

        _bench.Out(Slave, NonSpecificEoi);
        _bench.Out(Master, NonSpecificEoi);

        Assert.True(_pic.HasInterrupt);
        Assert.Equal(SlaveBase + 3, _pic.Acknowledge());

        // The device drops its line before the EOI: no further interrupt.
        _pic.Irq(11).Set(false);
        _bench.Out(Slave, NonSpecificEoi);
        _bench.Out(Master, NonSpecificEoi);
        Assert.False(_pic.HasInterrupt);
    }

    [Fact]
    public void LevelTriggeredIrrFollowsTheInput()
    {
        InitializePair();
        _bench.Out(Elcr1, 0x20); // IRQ 5 level
        _bench.Out(MasterData, 0x20); // masked, so it stays pending
        _pic.Irq(5).Set(true);
        Assert.Equal(0x20, ReadRegister(Master, ReadIrr));

        _pic.Irq(5).Set(false);

        Assert.Equal(0x00, ReadRegister(Master, ReadIrr));
    }

    [Fact]
    public void ElcrBitsOfEdgeOnlyIrqsAreReserved()
    {
        _bench.Out(Elcr1, 0xFF);
        _bench.Out(Elcr2, 0xFF);

        // IRQ 0, 1, 2, 8 and 13 cannot be level-triggered.
        Assert.Equal(0xF8, _bench.In(Elcr1));
        Assert.Equal(0xDE, _bench.In(Elcr2));
    }

    [Fact]
    public void PollCommandReturnsTheHighestRequestAndServicesIt()
    {
        InitializePair();
        _pic.Irq(6).Set(true);
        _pic.Irq(4).Set(true);

        _bench.Out(Master, Poll);
        Assert.Equal(0x84, _bench.In(Master)); // I = 1, level 4
        Assert.Equal(0x10, ReadRegister(Master, ReadIsr));

        _bench.Out(Master, NonSpecificEoi);
        _bench.Out(Master, Poll);
        Assert.Equal(0x86, _bench.In(Master));
        _bench.Out(Master, NonSpecificEoi);
        _bench.Out(Master, Poll);
        Assert.Equal(0x00, _bench.In(Master) & 0x80); // no request
    }

    [Fact]
    public void SpecialMaskModeLetsLowerLevelsInterruptAMaskedInServiceLevel()
    {
        InitializePair();
        _pic.Irq(3).Set(true);
        Assert.Equal(MasterBase + 3, _pic.Acknowledge());
        _pic.Irq(5).Set(true);
        Assert.False(_pic.HasInterrupt);

        _bench.Out(MasterData, 0x08); // mask IR3 (in service)
        _bench.Out(Master, SetSpecialMask);

        Assert.True(_pic.HasInterrupt);
        Assert.Equal(MasterBase + 5, _pic.Acknowledge());

        _bench.Out(Master, ResetSpecialMask);
        _bench.Out(Master, SpecificEoi | 5);
        _bench.Out(Master, SpecificEoi | 3);
        Assert.Equal(0x00, ReadRegister(Master, ReadIsr));
    }

    [Fact]
    public void SpecialFullyNestedModeLetsAHigherSlaveRequestThrough()
    {
        InitializePair(masterIcw4Extra: 0x10);
        _pic.Irq(12).Set(true);
        Assert.Equal(SlaveBase + 4, _pic.Acknowledge());

        _pic.Irq(8).Set(true); // higher priority inside the slave

        Assert.True(_pic.HasInterrupt);
        Assert.Equal(SlaveBase + 0, _pic.Acknowledge());
    }

    [Fact]
    public void WithoutSpecialFullyNestedModeTheMasterBlocksTheSameInput()
    {
        InitializePair();
        _pic.Irq(12).Set(true);
        Assert.Equal(SlaveBase + 4, _pic.Acknowledge());

        _pic.Irq(8).Set(true);

        Assert.False(_pic.HasInterrupt);
    }

    [Fact]
    public void SavedStateRestoresRegistersAndOutput()
    {
        InitializePair();
        _bench.Out(MasterData, 0x40);
        _pic.Irq(1).Set(true);
        var master = _pic.Master.Save();
        var slave = _pic.Slave.Save();

        var other = new CascadedPic8259(new Lock());
        other.Slave.Restore(slave);
        other.Master.Restore(master);

        Assert.Equal(0x40, other.Master.Imr);
        Assert.True(other.HasInterrupt);
        Assert.Equal(MasterBase + 1, other.Acknowledge());
        Assert.Throws<InvalidDataException>(() => other.Master.Restore(master with { Version = 9 }));
    }
}
