namespace Emulator.Core.Cpu;

/// <summary>Why <see cref="IVcpu.Run"/> returned.</summary>
public enum VcpuExitReason
{
    /// <summary><see cref="IVcpu.RequestExit"/> was called: the machine wants control (pause, stop, power off, reset).</summary>
    ExitRequested,
    /// <summary>The CPU halted and nothing the backend knows of can wake it (e.g. HLT with interrupts disabled).</summary>
    Halted,
    /// <summary>Shutdown: a triple fault or a fault while handling #DF. On a PC this resets the machine.</summary>
    Shutdown,
    /// <summary>The backend could not continue (an unimplemented instruction, a KVM internal error).</summary>
    InternalError,
    /// <summary>A debug event asked for by the machine's debugger (a breakpoint, a watchpoint, a single step); the vCPU stays where it stopped.</summary>
    Debug,
}

/// <summary>What ended a <see cref="IVcpu.Run"/> call.</summary>
/// <param name="Reason">The kind of exit.</param>
/// <param name="Detail">A human-readable explanation, for errors.</param>
/// <param name="Debug">For <see cref="VcpuExitReason.Debug"/>: what the debugger asked for happened.</param>
public readonly record struct VcpuExit(VcpuExitReason Reason, string? Detail = null, VcpuDebugEvent? Debug = null);

/// <summary>
/// One virtual CPU of a backend. Port I/O and MMIO are dispatched by the backend itself to the
/// machine's shared buses; <see cref="Run"/> returns only for what needs the machine.
/// <see cref="Run"/>, <see cref="GetState"/> and <see cref="SetState"/> are called from the vCPU's own
/// thread (or while it is not running); <see cref="RequestExit"/>, <see cref="RaiseNmi"/> and
/// <see cref="NotifyInterrupt"/> may be called from any thread.
/// </summary>
public interface IVcpu : IDisposable
{
    /// <summary>The vCPU number (the initial APIC ID).</summary>
    int Index { get; }

    /// <summary>Executes guest code until an exit that needs the machine.</summary>
    VcpuExit Run();

    /// <summary>Reads the complete architectural state. Only while the vCPU is not inside <see cref="Run"/>.</summary>
    CpuState GetState();

    /// <summary>Replaces the complete architectural state. Only while the vCPU is not inside <see cref="Run"/>.</summary>
    void SetState(CpuState state);

    /// <summary>Makes a current or the next <see cref="Run"/> return <see cref="VcpuExitReason.ExitRequested"/> promptly. Thread-safe.</summary>
    void RequestExit();

    /// <summary>Clears a pending <see cref="RequestExit"/> so that the next <see cref="Run"/> runs guest code.</summary>
    void ClearExitRequest();

    /// <summary>The source of external interrupts (the INTR pin), or null when none is wired.</summary>
    IInterruptSource? InterruptSource { get; set; }

    /// <summary>Tells the vCPU that its <see cref="InterruptSource"/> may have a new interrupt (wakes a halted CPU). Thread-safe.</summary>
    void NotifyInterrupt();

    /// <summary>Raises the NMI pin. Thread-safe.</summary>
    void RaiseNmi();

    /// <summary>What this backend can do for a debugger.</summary>
    VcpuDebugSupport DebugSupport { get; }

    /// <summary>
    /// Sets what the debugger asks of this vCPU (<see cref="VcpuDebugSettings.None"/> to stop
    /// debugging); events end <see cref="Run"/> with <see cref="VcpuExitReason.Debug"/>. Only while the
    /// vCPU is not inside <see cref="Run"/>. Throws <see cref="NotSupportedException"/> for what
    /// <see cref="DebugSupport"/> rules out.
    /// </summary>
    void SetDebug(VcpuDebugSettings settings);
}

/// <summary>The INTR pin as a CPU sees it: an interrupt controller that can be polled and acknowledged.</summary>
public interface IInterruptSource
{
    /// <summary>True when the controller asserts INTR.</summary>
    bool HasInterrupt { get; }

    /// <summary>The INTA cycle: returns the vector to deliver and marks it in service.</summary>
    int Acknowledge();
}
