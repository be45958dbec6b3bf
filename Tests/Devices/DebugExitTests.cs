using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Core.Machine;
using Emulator.Devices.Diagnostics;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class DebugExitTests : IDisposable
{
    private readonly MachineControl _control = new();
    private readonly IoPortBus _bus = new(new Lock());

    public DebugExitTests() => _bus.Register(DebugExit.DefaultPort, DebugExit.PortCount, new DebugExit(_control));

    public void Dispose() => _control.Dispose();

    [Theory]
    [InlineData(1, 0x00u, 1)]
    [InlineData(1, 0x01u, 3)]
    [InlineData(1, 0x10u, 0x21)]
    [InlineData(1, 0xffu, 0x1ff)]
    [InlineData(2, 0x1234u, 0x2469)]
    [InlineData(4, 0x0001_0000u, 0x0002_0001)]
    [InlineData(4, 0xffff_ffffu, -1)]
    public void WriteExitsWithValueShiftedLeftOrOne(int size, uint value, int status)
    {
        _bus.Write(DebugExit.DefaultPort, size, value);

        Assert.Equal(MachineRequest.Exit, _control.Request);
        Assert.Equal(status, _control.ExitStatus);
    }

    [Fact]
    public void ReadReturnsZeroAndDoesNotExit()
    {
        Assert.Equal(0u, _bus.Read(DebugExit.DefaultPort, 1));
        Assert.Equal(MachineRequest.None, _control.Request);
    }

    [Fact]
    public void StateRoundTripsAndUnknownVersionIsRejected()
    {
        var device = new DebugExit(_control, 0x501);
        device.Restore(device.Save());

        Assert.Equal("isa-debug-exit@0x501", device.Name);
        Assert.Throws<InvalidDataException>(() => device.Restore(new DeviceState(device.Name, 99, [])));
    }
}
