using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Core.Machine;
using Xunit;

namespace Emulator.Tests.Devices;

public sealed class ResetControlTests : IDisposable
{
    private readonly MachineControl _control = new();
    private readonly IoPortBus _bus = new(new Lock());
    private readonly ResetControl _rcr;

    public ResetControlTests()
    {
        _rcr = new ResetControl(_control);
        _bus.Register(ResetControl.Port, 1, _rcr);
    }

    public void Dispose() => _control.Dispose();

    [Fact]
    public void WritingTheFadtResetValueResetsTheMachine()
    {
        _bus.Write(ResetControl.Port, 1, ResetControl.FullReset);
        Assert.Equal(MachineRequest.Reset, _control.Request);
    }

    [Fact]
    public void SysRstAloneOnlySelectsTheResetKind()
    {
        _bus.Write(ResetControl.Port, 1, ResetControl.SysRst);
        Assert.Equal(MachineRequest.None, _control.Request);
        Assert.Equal(ResetControl.SysRst, (byte)_bus.Read(ResetControl.Port, 1));
    }

    [Fact]
    public void StateSurvivesSaveAndRestoreAndResetClearsIt()
    {
        _bus.Write(ResetControl.Port, 1, ResetControl.SysRst);
        DeviceState saved = _rcr.Save();
        _rcr.Reset();
        Assert.Equal(0, (byte)_bus.Read(ResetControl.Port, 1));
        _rcr.Restore(saved);
        Assert.Equal(ResetControl.SysRst, (byte)_bus.Read(ResetControl.Port, 1));
        Assert.Throws<InvalidDataException>(() => _rcr.Restore(saved with { Version = 9 }));
    }
}
