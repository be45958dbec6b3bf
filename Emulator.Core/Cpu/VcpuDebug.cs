namespace Emulator.Core.Cpu;

/// <summary>What a data watchpoint reacts to.</summary>
public enum WatchKind
{
    /// <summary>Writes to the watched bytes.</summary>
    Write,
    /// <summary>Reads of the watched bytes.</summary>
    Read,
    /// <summary>Reads or writes.</summary>
    Access,
}

/// <summary>A data watchpoint: <paramref name="Length"/> bytes at linear address <paramref name="Address"/>.</summary>
/// <param name="Address">The linear (virtual) address, as the debugger gave it.</param>
/// <param name="Length">1, 2, 4 or 8 bytes.</param>
/// <param name="Kind">What to react to.</param>
/// <param name="PhysicalAddress">Where the bytes were when the watchpoint was set, for backends that compare memory (the software CPU); null when unmapped then.</param>
public readonly record struct Watchpoint(ulong Address, int Length, WatchKind Kind, ulong? PhysicalAddress);

/// <summary>
/// What a debugger asks of one vCPU until the next change (<see cref="IVcpu.SetDebug"/>): stop after
/// one instruction, stop before executing an instruction at one of the linear addresses, stop after a
/// watched access. Interrupts are not taken while single-stepping (as QEMU's gdbstub does by default),
/// except by a halted CPU, which would otherwise never finish its step.
/// </summary>
public sealed record VcpuDebugSettings
{
    /// <summary>Nothing asked: the vCPU runs as usual.</summary>
    public static readonly VcpuDebugSettings None = new();

    /// <summary>Stop with <see cref="VcpuDebugEventKind.Step"/> after one instruction.</summary>
    public bool SingleStep { get; init; }

    /// <summary>Linear addresses where execution stops before the instruction there runs.</summary>
    public IReadOnlyList<ulong> Breakpoints { get; init; } = [];

    /// <summary>Data watchpoints.</summary>
    public IReadOnlyList<Watchpoint> Watchpoints { get; init; } = [];

    /// <summary>True when nothing is asked.</summary>
    public bool IsEmpty => !SingleStep && Breakpoints.Count == 0 && Watchpoints.Count == 0;
}

/// <summary>What a backend can do for a debugger.</summary>
/// <param name="MaxBreakpoints">Breakpoints it can watch at once (int.MaxValue when unlimited).</param>
/// <param name="WatchKinds">The watchpoint kinds it supports.</param>
/// <param name="MaxWatchpoints">Watchpoints it can watch at once.</param>
public sealed record VcpuDebugSupport(int MaxBreakpoints, IReadOnlyList<WatchKind> WatchKinds, int MaxWatchpoints);

/// <summary>Kinds of <see cref="VcpuDebugEvent"/>.</summary>
public enum VcpuDebugEventKind
{
    /// <summary>One instruction was executed (single step).</summary>
    Step,
    /// <summary>Execution reached a breakpoint; the instruction there has not run.</summary>
    Breakpoint,
    /// <summary>A watched access happened; the instruction that made it has completed.</summary>
    Watchpoint,
}

/// <summary>Why a vCPU stopped for the debugger (<see cref="VcpuExitReason.Debug"/>).</summary>
/// <param name="Kind">Step, breakpoint or watchpoint.</param>
/// <param name="Address">The breakpoint's or the watchpoint's linear address (0 for a step).</param>
public sealed record VcpuDebugEvent(VcpuDebugEventKind Kind, ulong Address = 0);
