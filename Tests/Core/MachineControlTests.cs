using Emulator.Core.Machine;
using Xunit;

namespace Emulator.Tests.Core;

public sealed class MachineControlTests
{
    [Fact]
    public void FirstRequestWinsButAQuitReplacesAPendingReset()
    {
        using var control = new MachineControl();
        control.Raise(MachineRequest.PowerOff);
        control.Raise(MachineRequest.Reset);
        Assert.Equal(MachineRequest.PowerOff, control.Request);

        using var resetting = new MachineControl();
        resetting.Raise(MachineRequest.Reset);
        resetting.Raise(MachineRequest.Quit);
        Assert.Equal(MachineRequest.Quit, resetting.Request);
    }

    [Fact]
    public void CompletingAResetKeepsAQuitThatArrivedDuringIt()
    {
        using var control = new MachineControl();
        control.Raise(MachineRequest.Reset);
        control.Raise(MachineRequest.Quit);
        control.Clear(MachineRequest.Reset);
        Assert.Equal(MachineRequest.Quit, control.Request);
        Assert.True(control.Raised.WaitOne(0));

        using var plain = new MachineControl();
        plain.Raise(MachineRequest.Reset);
        plain.Clear(MachineRequest.Reset);
        Assert.Equal(MachineRequest.None, plain.Request);
        Assert.False(plain.Raised.WaitOne(0));
    }

    [Fact]
    public void APowerOffSupersedesAPendingSleepButASleepNeverSupersedesAReset()
    {
        using var control = new MachineControl();
        control.Raise(MachineRequest.Suspend);
        control.Raise(MachineRequest.PowerOff);
        Assert.Equal(MachineRequest.PowerOff, control.Request);

        control.Clear();
        control.Raise(MachineRequest.Reset);
        control.Raise(MachineRequest.Suspend);
        Assert.Equal(MachineRequest.Reset, control.Request);
    }

    [Fact]
    public void RaisingKicksEveryRegisteredVcpu()
    {
        using var control = new MachineControl();
        int kicks = 0;
        control.AddKicker(() => kicks++);
        control.AddKicker(() => kicks++);
        control.Raise(MachineRequest.Exit, 3);
        Assert.Equal(2, kicks);
        Assert.Equal(3, control.ExitStatus);
    }

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
