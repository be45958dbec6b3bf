using Emulator.Core.Cpu;
using Emulator.Devices.Intc;

namespace Emulator.Machines.Pc;

/// <summary>
/// A local APIC's processor core, carried out on a vCPU and its thread. INTR and NMI go straight to
/// the vCPU. INIT and SIPI change the vCPU's architectural state, which may only be done while its
/// thread is parked; the APIC signals them with the device lock held, possibly from the vCPU's own
/// thread (an INIT to self), so they run later on a pool thread, in order, one CPU at a time:
/// park the thread, load the new state, and let it run unless it now waits for a SIPI
/// (Intel SDM Vol. 3A 9.4.4 MP initialization, 11.6.1 INIT and startup IPIs).
/// </summary>
internal sealed class VcpuApicProcessor(IVcpu vcpu, VcpuThread thread) : IApicProcessor
{
    private IVcpu _vcpu = vcpu;
    private VcpuThread _thread = thread;
    private readonly Lock _order = new();
    private Task _pending = Task.CompletedTask;

    /// <inheritdoc/>
    public void InterruptPending() => _vcpu.NotifyInterrupt();

    /// <inheritdoc/>
    public void Nmi() => _vcpu.RaiseNmi();

    /// <inheritdoc/>
    public void Init(bool waitForStartup) => Then(() =>
    {
        _thread.Pause();
        // INIT loads the reset state into the core, keeping the MTRRs, IA32_PAT and the machine-check
        // registers (Intel SDM Vol. 3A 10.1, Table 10-1, INIT column; the x87/SSE state and the other
        // MSRs also survive INIT on hardware, which no guest relies on here).
        _vcpu.SetState(CpuState.AtInit(_vcpu.GetState()));
        if (!waitForStartup)
        {
            _thread.Resume();
        }
    });

    /// <inheritdoc/>
    public void Startup(byte vector) => Then(() =>
    {
        _thread.Pause();
        _vcpu.SetState(StartupState(vector));
        _thread.Resume();
    });

    /// <summary>Points this core at the vCPU and thread that replaced the old ones (a move to another backend).</summary>
    public void Rebind(IVcpu newVcpu, VcpuThread newThread)
    {
        Settle();
        _vcpu = newVcpu;
        _thread = newThread;
    }

    /// <summary>Waits until every INIT and SIPI signalled so far has been carried out (tests, reset).</summary>
    public void Settle()
    {
        Task pending;
        lock (_order)
        {
            pending = _pending;
        }

        pending.Wait();
    }

    /// <summary>The state a SIPI starts a processor in: real mode at CS = VV00 (base VV000), IP = 0 (Intel SDM Vol. 3A 9.4.4.1).</summary>
    public static CpuState StartupState(byte vector)
    {
        CpuState s = CpuState.AtReset();
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode((ushort)(vector << 8), type: 0xb);
        s.Rip = 0;
        return s;
    }

    private void Then(Action action)
    {
        lock (_order)
        {
            _pending = _pending.ContinueWith(_ => action(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }
}
