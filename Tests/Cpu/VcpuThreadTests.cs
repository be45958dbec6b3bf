using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>The vCPU run/pause/resume/stop state machine, driven from another thread against a guest that never stops on its own.</summary>
public sealed class VcpuThreadTests : IDisposable
{
    // Stop kicks the vCPU out of the endless guest loop and joins its thread: milliseconds here,
    // but a busy two-core host may not schedule the thread for a while. A Stop that did not kick
    // would join a thread that never leaves the loop; one that waited for the guest would not return.
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);

    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(1 << 20);
    private readonly SoftAccelerator _accelerator;
    private readonly IVcpu _vcpu;

    public VcpuThreadTests()
    {
        _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);
        // 0000:7C00: inc ax ; jmp short back to the inc (real mode, an endless loop)
        _platform.Memory.Write(new GuestPhysicalAddress(0x7c00), [0x40, 0xeb, 0xfd]);
        _accelerator = new SoftAccelerator(_platform);
        _vcpu = _accelerator.CreateVcpu(0);
        CpuState s = CpuState.AtReset();
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
        s.Rip = 0x7c00;
        _vcpu.SetState(s);
    }

    [Fact]
    public void PauseParksTheGuestSoItsStateCanBeReadAndResumeContinuesIt()
    {
        var exits = new List<VcpuExit>();
        var thread = new VcpuThread(_vcpu, (_, e) => exits.Add(e));
        thread.Start();
        Thread.Sleep(50);

        thread.Pause();
        Assert.Equal(VcpuRunState.Paused, thread.State);
        CpuState first = _vcpu.GetState();
        Assert.InRange(first.Rip, 0x7c00UL, 0x7c02UL);
        ulong ax1 = first.Gpr[(int)Gpr.Rax] & 0xffff;
        Thread.Sleep(20);
        Assert.Equal(ax1, _vcpu.GetState().Gpr[(int)Gpr.Rax] & 0xffff);

        // Resumed, the guest counts on. A busy host may not run the vCPU thread within one 50 ms
        // look, so look again (paused each time) for up to 10 s; a vCPU that stayed parked never counts.
        ulong ax2 = ax1;
        var resumed = Stopwatch.StartNew();
        while (ax2 == ax1 && resumed.Elapsed < TimeSpan.FromSeconds(10))
        {
            thread.Resume();
            Thread.Sleep(50);
            thread.Pause();
            ax2 = _vcpu.GetState().Gpr[(int)Gpr.Rax] & 0xffff;
        }

        Assert.NotEqual(ax1, ax2);

        var watch = Stopwatch.StartNew();
        thread.Stop();
        Assert.Equal(VcpuRunState.Stopped, thread.State);
        Assert.True(watch.Elapsed < StopBound, $"stop took {watch.Elapsed}");
        Assert.Empty(exits);
    }

    [Fact]
    public void StopWhileRunningEndsTheThreadPromptly()
    {
        var thread = new VcpuThread(_vcpu, (_, _) => { });
        thread.Start();
        Thread.Sleep(30);
        var watch = Stopwatch.StartNew();
        thread.Stop();
        Assert.Equal(VcpuRunState.Stopped, thread.State);
        Assert.True(watch.Elapsed < StopBound, $"stop took {watch.Elapsed}");
    }

    [Fact]
    public void MachineRequestKicksTheVcpu()
    {
        _platform.Control.AddKicker(_vcpu.RequestExit);
        var thread = new VcpuThread(_vcpu, (_, _) => { });
        thread.Start();
        Thread.Sleep(30);
        _platform.Control.Raise(MachineRequest.PowerOff);
        Assert.True(_platform.Control.Raised.WaitOne(1000));
        thread.Stop();
        Assert.Equal(MachineRequest.PowerOff, _platform.Control.Request);
    }

    [Fact]
    public void PostReturnsAtOnceAndRunsTheActionOnceOnTheVcpuThreadWhichThenContinues()
    {
        var thread = new VcpuThread(_vcpu, (_, _) => { });
        thread.Start();
        Thread.Sleep(30);
        using var release = new ManualResetEventSlim();
        using var finished = new ManualResetEventSlim();
        int runs = 0, ranOn = 0;
        ulong ax = 0;

        var watch = Stopwatch.StartNew();
        thread.Post(v =>
        {
            ranOn = Environment.CurrentManagedThreadId;
            ax = v.GetState().Gpr[(int)Gpr.Rax] & 0xffff;
            Interlocked.Increment(ref runs);
            release.Wait(TimeSpan.FromSeconds(30));
            finished.Set();
        });
        // The action waits for the test, so Post cannot have waited for it.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"Post took {watch.Elapsed}");
        Assert.False(finished.IsSet);
        release.Set();
        Assert.True(finished.Wait(TimeSpan.FromSeconds(30)), "the posted action did not run");
        Assert.Equal(thread.ManagedThreadId, ranOn);

        // The guest runs on afterwards (AX counts up), and the action ran once.
        ulong later = thread.Call(v => v.GetState().Gpr[(int)Gpr.Rax] & 0xffff);
        for (int i = 0; i < 100 && later == ax; i++)
        {
            Thread.Sleep(10);
            later = thread.Call(v => v.GetState().Gpr[(int)Gpr.Rax] & 0xffff);
        }

        Assert.NotEqual(ax, later);
        thread.Stop();
        Assert.Equal(1, runs);

        // After the thread has ended, a posted action runs at once on the caller's thread.
        int afterStop = 0;
        thread.Post(_ => afterStop = Environment.CurrentManagedThreadId);
        Assert.Equal(Environment.CurrentManagedThreadId, afterStop);
    }

    public void Dispose()
    {
        _vcpu.Dispose();
        _accelerator.Dispose();
        _platform.Dispose();
        _ram.Dispose();
    }
}
