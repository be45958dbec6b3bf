namespace Emulator.Machines.Pc;

/// <summary>Kinds of <see cref="MachineEvent"/>, named after the QMP events they become.</summary>
public enum MachineEventKind
{
    /// <summary>The VM stopped (QMP <c>STOP</c>).</summary>
    Stop,
    /// <summary>The VM continues (QMP <c>RESUME</c>).</summary>
    Resume,
    /// <summary>The machine was reset (QMP <c>RESET</c>).</summary>
    Reset,
    /// <summary>The power button was pressed for the guest (QMP <c>POWERDOWN</c>).</summary>
    Powerdown,
    /// <summary>The machine is shutting down and emu will exit (QMP <c>SHUTDOWN</c>).</summary>
    Shutdown,
    /// <summary>The guest went to sleep in ACPI S3 (QMP <c>SUSPEND</c>).</summary>
    Suspend,
    /// <summary>The guest woke from S3 (QMP <c>WAKEUP</c>).</summary>
    Wakeup,
}

/// <summary>
/// Something that happened to the machine as a whole, reported on the machine's thread to whoever
/// listens (the QMP server turns it into an event).
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="Guest">For reset and shutdown: true when the guest asked for it.</param>
/// <param name="Reason">For reset and shutdown: QEMU's <c>ShutdownCause</c> name, e.g. <c>guest-shutdown</c>, <c>host-qmp-quit</c>.</param>
public sealed record MachineEvent(MachineEventKind Kind, bool Guest = false, string? Reason = null);

/// <summary>One vCPU as the control socket lists it.</summary>
/// <param name="Index">The vCPU number (the initial APIC ID).</param>
/// <param name="ThreadId">The host thread id of its thread (0 before it starts).</param>
/// <param name="State">running, paused, halted (stuck in HLT with nothing to wake it, or stopped on an error), waiting (an application processor waiting for SIPI) or stopped.</param>
public sealed record VcpuInfo(int Index, int ThreadId, string State);
