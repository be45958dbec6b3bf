namespace Emulator.Machines.Pc;

/// <summary>
/// The state of the machine as a whole, as its control socket reports it (QMP's <c>RunState</c>: the
/// names are QEMU's, so that existing clients understand them).
/// </summary>
public enum MachineRunState
{
    /// <summary>Built but not started yet: <c>-S</c> waits here for <c>cont</c> ("prelaunch").</summary>
    Prelaunch,
    /// <summary>The vCPUs run guest code ("running").</summary>
    Running,
    /// <summary>Stopped by the user (QMP <c>stop</c>) ("paused").</summary>
    Paused,
    /// <summary>Stopped by the debugger: a breakpoint, a single step, an interrupt from gdb ("debug").</summary>
    Debug,
    /// <summary>The machine is shutting down or has shut down ("shutdown").</summary>
    Shutdown,
    /// <summary>The guest sleeps in ACPI S3 until a wake event ("suspended").</summary>
    Suspended,
}

/// <summary>QEMU's names for <see cref="MachineRunState"/>.</summary>
public static class MachineRunStateNames
{
    /// <summary>The name QMP's <c>query-status</c> reports.</summary>
    public static string QmpName(this MachineRunState state) => state switch
    {
        MachineRunState.Prelaunch => "prelaunch",
        MachineRunState.Running => "running",
        MachineRunState.Paused => "paused",
        MachineRunState.Debug => "debug",
        MachineRunState.Suspended => "suspended",
        _ => "shutdown",
    };
}
