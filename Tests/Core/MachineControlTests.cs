using Emulator.Core.Machine;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class MachineControlTests
{
    [Fact]
    public void AGuestRequestSupersedesAPendingMoveAndSurvivesItsClear()
    {
        using var control = new MachineControl();
        int kicks = 0;
        control.AddKicker(() => kicks++);

        control.Raise(MachineRequest.SwitchAccelerator);
        control.Raise(MachineRequest.PowerOff);
        control.Clear(MachineRequest.SwitchAccelerator);

        Assert.Equal(MachineRequest.PowerOff, control.Request);
        Assert.True(control.Raised.WaitOne(0));
        Assert.Equal(2, kicks);
    }

    [Fact]
    public void TheFirstGuestRequestStillWins()
    {
        using var control = new MachineControl();

        control.Raise(MachineRequest.PowerOff);
        control.Raise(MachineRequest.SwitchAccelerator);
        control.Raise(MachineRequest.Reset);

        Assert.Equal(MachineRequest.PowerOff, control.Request);
    }
}
