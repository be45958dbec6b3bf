using Emulator.Core.Machine;
using Emulator.Machines.Pc;
using Emulator.Tests.Serial;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.Kvm;

/// <summary>
/// The demo guest moved between backends at an arbitrary moment of its memory test (not at a port
/// access): whatever instruction the move lands on, the guest must finish exactly as an unmoved run
/// on the software CPU does.
/// </summary>
[Collection("kvm")]
public sealed class KvmMoveTests(ITestOutputHelper output)
{
    // The demo's last port access before its memory test (a loop of about 200 000 instructions
    // without I/O); found with --switch-after, where the guest stops right after it.
    private const int BeforeMemoryTest = 431;

    [SkippableTheory]
    [InlineData(AcceleratorKind.Kvm, 2)]
    [InlineData(AcceleratorKind.Kvm, 10)]
    [InlineData(AcceleratorKind.Kvm, 30)]
    [InlineData(AcceleratorKind.Jit, 1)]
    public void MovedDuringTheMemoryTestTheDemoFinishesAsIfUnmoved(AcceleratorKind start, int delayMs)
    {
        KvmHost.SkipUnlessUsable();
        (string expected, MachineOutcome unmovedOutcome, _) = RunDemo(AcceleratorKind.Jit, machine => { });

        // The move request is raised from a thread of its own a little after the memory test starts, so
        // it lands on whatever instruction the guest has reached. A faster (or busier) host may finish
        // the guest first; then the attempt is repeated sooner, and last of all the request is raised
        // right at the port access. Every attempt must produce the unmoved output.
        bool moved = false;
        for (int delay = delayMs; !moved && delay >= -1; delay = delay > 0 ? delay / 4 : delay - 1)
        {
            int wait = delay;
            (string actual, MachineOutcome outcome, List<string> notices) = RunDemo(start, machine =>
                machine.Platform.Io.WatchAccessCount(BeforeMemoryTest, () =>
                {
                    if (wait < 0)
                    {
                        machine.Platform.Control.Raise(MachineRequest.SwitchAccelerator);
                        return;
                    }

                    new Thread(() =>
                    {
                        Thread.Sleep(wait);
                        machine.Platform.Control.Raise(MachineRequest.SwitchAccelerator);
                    }) { IsBackground = true }.Start();
                }));

            output.WriteLine($"delay {(wait < 0 ? "none (raised at the port access)" : $"{wait} ms")}: {string.Join(" | ", notices)}");
            Assert.Equal(unmovedOutcome.Status, outcome.Status);
            Assert.Equal(expected, actual);
            moved = notices.Any(n => n.StartsWith("moved the guest from", StringComparison.Ordinal));
        }

        Assert.True(moved, "no move happened, not even one requested at the port access");
    }

    private static (string Serial, MachineOutcome Outcome, List<string> Notices) RunDemo(AcceleratorKind accelerator, Action<PcMachine> arrange)
    {
        var serial = new CapturingBackend();
        var notices = new List<string>();
        var config = new PcConfig { Accelerator = accelerator, Notice = notices.Add };
        using var machine = new PcMachine(config, serial);
        arrange(machine);
        MachineOutcome outcome = machine.Run();
        lock (machine.Platform.DeviceLock)
        {
            return (System.Text.Encoding.ASCII.GetString([.. serial.Output]), outcome, notices);
        }
    }
}
