using Emulator.Core.Cpu;
using Emulator.Devices.Acpi;
using Emulator.Core.Machine;

namespace Emulator.Machines.Pc;

/// <summary>
/// The machine as a control socket or a debugger sees it: a run state (running, paused, ...), events,
/// and commands carried out on the machine's own thread. Stopping the VM holds every vCPU thread
/// (<see cref="VcpuThread.Hold"/>); reading a vCPU's registers is a call on that vCPU's thread
/// (<see cref="VcpuThread.Call{T}"/>), which a parked vCPU wakes up for.
/// </summary>
public sealed partial class PcMachine
{
    private readonly MachineWorkQueue _work = new();
    private volatile MachineRunState _runState;
    private volatile string _quitReason = "host-signal";
    private Thread? _machineThread;
    private AcpiPmEvent _pmEvent = null!;

    /// <summary>The machine as a whole: prelaunch (-S), running, paused, debug or shutdown.</summary>
    public MachineRunState RunState => _runState == MachineRunState.Running && _asleep ? MachineRunState.Suspended : _runState;

    /// <summary>Guest RAM in bytes.</summary>
    public ulong MemoryBytes => _config.MemoryBytes;

    /// <summary>The number of vCPUs.</summary>
    public int VcpuCount => _config.Cpus;

    /// <summary>When the machine was built (for uptime).</summary>
    public DateTime CreatedAt { get; } = DateTime.UtcNow;

    /// <summary>
    /// Stop, resume, reset, power button and shutdown, raised on the machine's thread. Handlers must
    /// not block (the QMP server queues the event for each client).
    /// </summary>
    public event Action<MachineEvent>? EventRaised;

    /// <summary>
    /// Runs <paramref name="work"/> on the machine's thread, after what was asked before, and returns
    /// its result; on the machine thread itself it runs at once. Work posted before <see cref="Run"/>
    /// starts waits for it; after the machine has stopped this throws <see cref="MachineStoppedException"/>.
    /// </summary>
    public T Invoke<T>(Func<T> work) => Thread.CurrentThread == _machineThread ? work() : _work.Invoke(work);

    /// <summary>Runs <paramref name="work"/> on the machine's thread (see <see cref="Invoke{T}"/>).</summary>
    public void Invoke(Action work) => Invoke(() =>
    {
        work();
        return true;
    });

    /// <summary>
    /// Stops the VM: every vCPU parks at an instruction boundary and stays there until <see cref="Continue"/>.
    /// Raises <see cref="MachineEventKind.Stop"/> when the VM was running (as QEMU does, a second stop
    /// raises nothing). <paramref name="reason"/> is <see cref="MachineRunState.Paused"/> or <see cref="MachineRunState.Debug"/>.
    /// </summary>
    public void Stop(MachineRunState reason = MachineRunState.Paused) => Invoke(() =>
    {
        bool wasRunning = _runState == MachineRunState.Running;
        if (_runState == MachineRunState.Shutdown)
        {
            return;
        }

        foreach (VcpuThread t in _threads)
        {
            t.Hold();
        }

        // -S keeps "prelaunch" until the first cont, as in QEMU.
        if (_runState != MachineRunState.Prelaunch || reason == MachineRunState.Debug)
        {
            _runState = reason;
        }

        if (wasRunning)
        {
            Raise(new MachineEvent(MachineEventKind.Stop));
        }
    });

    /// <summary>
    /// Lets a stopped VM run again; raises <see cref="MachineEventKind.Resume"/> when it was stopped.
    /// With <paramref name="only"/>, only those vCPUs run (a debugger stepping one of them); the others
    /// stay held until the next full continue.
    /// </summary>
    public void Continue(IReadOnlyCollection<int>? only = null) => Invoke(() =>
    {
        if (_runState == MachineRunState.Shutdown)
        {
            return;
        }

        bool wasRunning = _runState == MachineRunState.Running;
        _runState = MachineRunState.Running;
        for (int i = 0; i < _threads.Count; i++)
        {
            if (only is null || only.Contains(i))
            {
                _threads[i].Release();
            }
        }

        if (!wasRunning)
        {
            Raise(new MachineEvent(MachineEventKind.Resume));
        }
    });

    /// <summary>
    /// Raised on the machine's thread when a vCPU stopped for the debugger (a breakpoint, a watchpoint,
    /// a single step); the VM has been stopped (<see cref="MachineRunState.Debug"/>) by then.
    /// </summary>
    public event Action<int, VcpuDebugEvent>? DebugStopped;

    /// <summary>Sets what the debugger asks of vCPU <paramref name="index"/> (on its own thread).</summary>
    public void SetVcpuDebug(int index, VcpuDebugSettings settings) => OnVcpu(index, v => v.SetDebug(settings));

    /// <summary>What vCPU <paramref name="index"/>'s backend can do for a debugger.</summary>
    public VcpuDebugSupport VcpuDebugSupport(int index) => Invoke(() => _threads[index].Vcpu.DebugSupport);

    /// <summary>
    /// Resets the machine because the host asked (QMP <c>system_reset</c>); a stopped VM stays stopped.
    /// Unlike a guest reset this resets even with --no-reboot, as QEMU does.
    /// </summary>
    public void ResetFromHost() => Invoke(() => ResetMachine(guest: false));

    /// <summary>
    /// Presses the ACPI power button (PWRBTN_STS, ACPI 6.5 4.8.2.2.1): the guest decides what to do. A
    /// guest sleeping in S3 wakes ("in the sleeping or soft-off state, a wake event is generated when
    /// the power button is pressed (regardless of the PWRBTN_EN bit setting)", Table 4.16).
    /// </summary>
    public void PressPowerButton() => Invoke(() =>
    {
        lock (Platform.DeviceLock)
        {
            _pmEvent.Signal(AcpiPmEvent.PwrbtnSts);
        }

        Raise(new MachineEvent(MachineEventKind.Powerdown));
        WakeUp(AcpiPmEvent.PwrbtnSts);
    });

    /// <summary>Asks the machine to exit with status 0; <paramref name="reason"/> is QEMU's shutdown cause (host-qmp-quit, host-signal, host-ui). Thread-safe.</summary>
    public void Quit(string reason)
    {
        _quitReason = reason;
        Platform.Control.Raise(MachineRequest.Quit);
    }

    /// <summary>Every vCPU with its thread and state.</summary>
    public IReadOnlyList<VcpuInfo> DescribeVcpus() => Invoke(() =>
    {
        var list = new List<VcpuInfo>();
        for (int i = 0; i < _threads.Count; i++)
        {
            VcpuThread t = _threads[i];
            string state = t.State switch
            {
                VcpuRunState.Stopped => "stopped",
                _ when t.IsHeld => "paused",
                _ when t.IsPaused => "waiting",
                _ when t.IsStalled => "halted",
                VcpuRunState.Created => "paused",
                _ => "running",
            };
            list.Add(new VcpuInfo(i, t.OsThreadId, state));
        }

        return (IReadOnlyList<VcpuInfo>)list;
    });

    /// <summary>Reads vCPU <paramref name="index"/>'s architectural state on its own thread (a running vCPU continues afterwards).</summary>
    public CpuState ReadVcpuState(int index) => Invoke(() => _threads[index].Call(v => v.GetState()));

    /// <summary>Replaces vCPU <paramref name="index"/>'s architectural state on its own thread.</summary>
    public void WriteVcpuState(int index, CpuState state) => Invoke(() => _threads[index].Execute(v => v.SetState(state)));

    /// <summary>
    /// A sampling profiler's look at the machine, which waits for nothing: every vCPU that runs guest
    /// code now (not stopped, paused or waiting for SIPI) and that <paramref name="wanted"/> accepts
    /// gets <paramref name="observe"/> posted to its own thread (<see cref="VcpuThread.Post"/>), which
    /// calls it with the vCPU outside guest code at its next exit. Called on the caller's thread,
    /// not the machine's: a look that waited for the machine thread, or for the vCPU's answer, would
    /// reach a vCPU running guest code later than a halted one (on a busy host the running vCPU
    /// holds a core the other threads wait for), so its answer would come from later in the guest's
    /// run than the tick that asked. Thread-safe; does nothing once the machine has stopped.
    /// </summary>
    /// <param name="wanted">Called with a vCPU index; false skips that vCPU this time (e.g. its previous answer is still outstanding).</param>
    /// <param name="observe">Called on the vCPU's thread with its index and the vCPU; must not throw.</param>
    public void ObserveRunningVcpus(Func<int, bool> wanted, Action<int, IVcpu> observe)
    {
        VcpuThread[] threads = _threadView;
        for (int i = 0; i < threads.Length; i++)
        {
            VcpuThread t = threads[i];
            int index = i;
            if (t.State == VcpuRunState.Running && !t.IsHeld && !t.IsPaused && wanted(index))
            {
                t.Post(v => observe(index, v));
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> on vCPU <paramref name="index"/>'s own thread while it is outside guest code.</summary>
    public void OnVcpu(int index, Action<IVcpu> action) => Invoke(() => _threads[index].Execute(action));

    private void Raise(MachineEvent e) => EventRaised?.Invoke(e);

    // On the vCPU's thread, which holds itself: the machine thread stops the rest and tells the
    // debugger. Posted, not waited for: stopping the VM holds this very thread.
    private void OnDebugExit(IVcpu vcpu, VcpuDebugEvent debug) => _work.Post(() =>
    {
        Stop(MachineRunState.Debug);
        DebugStopped?.Invoke(vcpu.Index, debug);
    });

    // The state new vCPU threads start in (a reset under the in-kernel irqchip or a move builds new ones).
    private void ApplyRunStateTo(VcpuThread thread)
    {
        if (_runState != MachineRunState.Running)
        {
            thread.Hold();
        }
    }

    private MachineEvent ShutdownEvent(MachineRequest request) => request switch
    {
        MachineRequest.PowerOff => new MachineEvent(MachineEventKind.Shutdown, Guest: true, Reason: "guest-shutdown"),
        MachineRequest.Reset => new MachineEvent(MachineEventKind.Shutdown, Guest: true, Reason: "guest-reset"),
        _ => new MachineEvent(MachineEventKind.Shutdown, Guest: false, Reason: _quitReason),
    };
}
