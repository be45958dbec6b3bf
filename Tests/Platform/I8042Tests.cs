using Emulator.Core.Input;
using Emulator.Core.Machine;
using Emulator.Devices.Chipset;
using Emulator.Devices.Input;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>
/// The keyboard controller and keyboard against the IBM PC/AT and PS/2 technical references
/// (8042 commands, status register, command byte, output port) and the keyboard's command set.
/// </summary>
public sealed class I8042Tests : IDisposable
{
    private const ushort Data = 0x60, Command = 0x64, Port92 = 0x92;

    private readonly PlatformTestBench _bench = new();
    private readonly RecordingLine _irq1, _irq12;
    private readonly Ps2Keyboard _keyboard;

    public I8042Tests()
    {
        _irq1 = _bench.Line();
        _irq12 = _bench.Line();
        MachinePlatform p = _bench.Platform;
        _keyboard = new Ps2Keyboard(p.DeviceLock);
        var controller = new I8042(_keyboard, _irq1, _irq12, p.Control, p.A20.CreateInput("i8042"));
        p.Io.Register(I8042.DataPort, 1, controller);
        p.Io.Register(I8042.CommandPort, 1, controller, I8042.CommandOffset);
        p.Io.Register(SystemControlPortA.Port, 1, new SystemControlPortA(p.Control, p.A20.CreateInput("port92")));
    }

    public void Dispose() => _bench.Dispose();

    private byte Status => _bench.In(Command);

    private byte[] Drain()
    {
        var bytes = new List<byte>();
        while ((Status & I8042.StatusOutputFull) != 0)
        {
            bytes.Add(_bench.In(Data));
        }

        return [.. bytes];
    }

    private void WriteCommandByte(byte value)
    {
        _bench.Out(Command, 0x60);
        _bench.Out(Data, value);
    }

    [Fact]
    public void SelfTestAnswers55ThroughTheOutputBuffer()
    {
        Assert.Equal(0, Status & I8042.StatusOutputFull);

        _bench.Out(Command, 0xAA);

        Assert.Equal(I8042.StatusOutputFull, Status & I8042.StatusOutputFull);
        Assert.Equal(I8042.StatusCommand, Status & I8042.StatusCommand); // last write went to port 0x64
        Assert.Equal(I8042.SelfTestPassed, _bench.In(Data));
        Assert.Equal(0, Status & I8042.StatusOutputFull);
    }

    [Fact]
    public void InterfaceTestsReportNoError()
    {
        _bench.Out(Command, 0xAB);
        Assert.Equal(0x00, _bench.In(Data));
        _bench.Out(Command, 0xA9);
        Assert.Equal(0x00, _bench.In(Data));
    }

    [Fact]
    public void CommandByteIsWrittenAndReadBackAndDrivesTheSystemFlag()
    {
        Assert.Equal(0, Status & I8042.StatusSystemFlag); // cold boot

        WriteCommandByte(0x65);
        Assert.Equal(0, Status & I8042.StatusCommand); // last write went to port 0x60

        _bench.Out(Command, 0x20);
        Assert.Equal(0x65, _bench.In(Data));
        Assert.Equal(I8042.StatusSystemFlag, Status & I8042.StatusSystemFlag);
    }

    [Fact]
    public void CommandFeResetsTheMachineAndFfDoesNothing()
    {
        _bench.Out(Command, 0xFF);
        Assert.Equal(MachineRequest.None, _bench.Platform.Control.Request);

        _bench.Out(Command, 0xFE);

        Assert.Equal(MachineRequest.Reset, _bench.Platform.Control.Request);
    }

    [Fact]
    public void OutputPortBit1GatesA20AndBit0ResetsTheCpu()
    {
        Assert.True(_bench.Platform.A20.Enabled);

        _bench.Out(Command, 0xD1);
        _bench.Out(Data, 0xDD); // A20 off, reset line inactive
        Assert.False(_bench.Platform.A20.Enabled);
        _bench.Out(Command, 0xD0);
        Assert.Equal(0x00, _bench.In(Data) & I8042.OutputPortA20);
        Assert.Equal(MachineRequest.None, _bench.Platform.Control.Request);

        _bench.Out(Command, 0xD1);
        _bench.Out(Data, 0xDF);
        Assert.True(_bench.Platform.A20.Enabled);

        _bench.Out(Command, 0xD1);
        _bench.Out(Data, 0xDE); // bit 0 low: reset
        Assert.Equal(MachineRequest.Reset, _bench.Platform.Control.Request);
    }

    [Fact]
    public void Port92AndTheControllerAreOredIntoA20()
    {
        _bench.Out(Command, 0xDD); // controller: A20 off
        Assert.False(_bench.Platform.A20.Enabled); // port 0x92 resets with ALT_A20 low

        _bench.Out(Port92, SystemControlPortA.AlternateA20);
        Assert.True(_bench.Platform.A20.Enabled);

        _bench.Out(Port92, 0);
        Assert.False(_bench.Platform.A20.Enabled);
        _bench.Out(Command, 0xDF);
        Assert.True(_bench.Platform.A20.Enabled);
    }

    [Fact]
    public void Port92ReadsBackItsBitsWithTheReservedOnes()
    {
        Assert.Equal(0x24, _bench.In(Port92));
        _bench.Out(Port92, 0xFE);
        Assert.Equal(0x26, _bench.In(Port92));
    }

    [Fact]
    public void Port92ResetPulsesOnlyWhenBit0GoesFromZeroToOne()
    {
        _bench.Out(Port92, 0x01);
        Assert.Equal(MachineRequest.Reset, _bench.Platform.Control.Request);

        _bench.Platform.Control.Clear();
        _bench.Out(Port92, 0x03); // bit 0 still 1: no new pulse
        Assert.Equal(MachineRequest.None, _bench.Platform.Control.Request);

        _bench.Out(Port92, 0x02);
        _bench.Out(Port92, 0x03);
        Assert.Equal(MachineRequest.Reset, _bench.Platform.Control.Request);
    }

    [Fact]
    public void KeyboardResetAcknowledgesThenPassesItsSelfTest()
    {
        _bench.Out(Data, 0xFF);

        Assert.Equal([Ps2Keyboard.Ack, Ps2Keyboard.BatPassed], Drain());
    }

    [Fact]
    public void KeyDataRaisesIrq1WhenTheCommandByteEnablesIt()
    {
        WriteCommandByte(0x00);
        _keyboard.KeyDown(Ps2Key.A);
        Assert.False(_irq1.Level);
        Assert.Equal([0x1C], Drain());

        WriteCommandByte(I8042.CommandKeyboardInterrupt);
        _keyboard.KeyDown(Ps2Key.A);
        Assert.True(_irq1.Level);
        Assert.Equal(0x1C, _bench.In(Data));
        Assert.False(_irq1.Level);
    }

    [Fact]
    public void EveryByteOfASequenceIsANewIrq1Edge()
    {
        WriteCommandByte(I8042.CommandKeyboardInterrupt);
        _keyboard.KeyUp(Ps2Key.Up); // E0 F0 75 in set 2

        Assert.Equal([0xE0, 0xF0, 0x75], Drain());
        Assert.Equal(3, _irq1.RisingEdges.Count);
    }

    [Fact]
    public void TranslationTurnsSet2IntoSet1()
    {
        WriteCommandByte(I8042.CommandKeyboardInterrupt | I8042.CommandTranslate);

        _keyboard.KeyDown(Ps2Key.A);
        _keyboard.KeyUp(Ps2Key.A);
        _keyboard.KeyDown(Ps2Key.Up);
        _keyboard.KeyUp(Ps2Key.Up);
        _keyboard.KeyDown(Ps2Key.F7);

        // The F0 break prefix disappears into bit 7 of the next code.
        Assert.Equal([0x1E, 0x9E, 0xE0, 0x48, 0xE0, 0xC8, 0x41], Drain());
    }

    [Fact]
    public void KeyboardIdentifiesAsMf2ThroughTranslation()
    {
        _bench.Out(Data, 0xF2);
        Assert.Equal([0xFA, 0xAB, 0x83], Drain());

        WriteCommandByte(I8042.CommandTranslate);
        _bench.Out(Data, 0xF2);
        Assert.Equal([0xFA, 0xAB, 0x41], Drain());
    }

    [Fact]
    public void ScancodeSetCanBeQueriedAndChanged()
    {
        _bench.Out(Data, 0xF0);
        _bench.Out(Data, 0x00);
        Assert.Equal([0xFA, 0xFA, 0x02], Drain());

        _bench.Out(Data, 0xF0);
        _bench.Out(Data, 0x01);
        Assert.Equal([0xFA, 0xFA], Drain());
        _keyboard.KeyDown(Ps2Key.A);
        _keyboard.KeyUp(Ps2Key.A);
        Assert.Equal([0x1E, 0x9E], Drain());

        _bench.Out(Data, 0xF0);
        _bench.Out(Data, 0x03); // set 3 is not offered
        Assert.Equal([0xFA, 0xFE], Drain());
    }

    [Fact]
    public void DisabledKeyboardInterfaceHoldsDataUntilEnabled()
    {
        _bench.Out(Command, 0xAD);
        _keyboard.KeyDown(Ps2Key.Q);
        Assert.Empty(Drain());

        _bench.Out(Command, 0xAE);

        Assert.Equal([0x15], Drain());
    }

    [Fact]
    public void ControllerRepliesComeBeforeWaitingKeyData()
    {
        _bench.Out(Command, 0xAD);
        _keyboard.KeyDown(Ps2Key.W);
        _bench.Out(Command, 0xAE);
        _keyboard.KeyDown(Ps2Key.E); // 1D is in the buffer, 24 waits in the keyboard
        _bench.Out(Command, 0x20);

        Assert.Equal([0x1D, 0x00, 0x24], Drain());
    }

    [Fact]
    public void LedsAndTypematicTakeAParameterEach()
    {
        _bench.Out(Data, 0xED);
        _bench.Out(Data, 0x07);
        _bench.Out(Data, 0xF3);
        _bench.Out(Data, 0x20);

        Assert.Equal([0xFA, 0xFA, 0xFA, 0xFA], Drain());
        Assert.Equal(0x07, _keyboard.Leds);
        Assert.Equal(0x20, _keyboard.Typematic);
    }

    [Fact]
    public void DisabledScanningDropsKeys()
    {
        _bench.Out(Data, 0xF5);
        Assert.Equal([0xFA], Drain());
        _keyboard.KeyDown(Ps2Key.Z);
        Assert.Empty(Drain());

        _bench.Out(Data, 0xF4);
        _keyboard.KeyDown(Ps2Key.Z);
        Assert.Equal([0xFA, 0x1A], Drain());
    }

    [Fact]
    public void AuxiliaryLoopbackRaisesIrq12AndAMissingMouseTimesOut()
    {
        WriteCommandByte(I8042.CommandAuxInterrupt);
        _bench.Out(Command, 0xD3);
        _bench.Out(Data, 0x5A);
        Assert.Equal(I8042.StatusOutputFull | I8042.StatusAuxOutputFull, Status & 0x21);
        Assert.True(_irq12.Level);
        Assert.Equal(0x5A, _bench.In(Data));

        _bench.Out(Command, 0xD4);
        _bench.Out(Data, 0xF2);
        Assert.Equal(I8042.StatusTimeout, Status & I8042.StatusTimeout);
        Assert.Equal(0xFE, _bench.In(Data));
        Assert.Equal(0, Status & I8042.StatusTimeout);
    }

    [Fact]
    public void HostKeyBufferOverflowEndsInTheOverrunCode()
    {
        _bench.Out(Command, 0xAD);
        for (int i = 0; i < 20; i++)
        {
            _keyboard.KeyDown(Ps2Key.B);
        }

        _bench.Out(Command, 0xAE);
        byte[] bytes = Drain();

        Assert.Equal(16, bytes.Length);
        Assert.All(bytes[..15], b => Assert.Equal(0x32, b));
        Assert.Equal(0x00, bytes[15]);
    }

    [Fact]
    public void ControllerStateSurvivesSaveAndRestore()
    {
        WriteCommandByte(0x47);
        _bench.Out(Command, 0xDD);
        _keyboard.KeyDown(Ps2Key.C);
        var controller = (I8042)_bench.Platform.Io.DeviceAt(I8042.DataPort)!;
        var state = controller.Save();
        var keyboardState = _keyboard.Save();

        using var other = new PlatformTestBench();
        var keyboard = new Ps2Keyboard(other.Platform.DeviceLock);
        RecordingLine irq1 = other.Line();
        var copy = new I8042(keyboard, irq1, other.Line(), other.Platform.Control, other.Platform.A20.CreateInput("i8042"));
        keyboard.Restore(keyboardState);
        copy.Restore(state);

        Assert.Equal(0x47, copy.CommandByte);
        Assert.False(other.Platform.A20.Enabled);
        Assert.True(irq1.Level);
        Assert.Equal(I8042.StatusOutputFull, copy.Status & I8042.StatusOutputFull);
    }
}
