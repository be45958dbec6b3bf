using Emulator.Core.Cpu;
using Emulator.Core.Memory;

namespace Emulator.Jit;

/// <summary>
/// The software CPU under a debugger. While anything is asked (<see cref="IVcpu.SetDebug"/>) the vCPU
/// runs one instruction at a time and looks around each one: a breakpoint is a linear address
/// compared with CS base + RIP before the instruction runs (nothing is written into guest memory, so
/// the guest cannot see or overwrite it, and any number may be set); a write watchpoint compares the
/// watched bytes in physical memory after each instruction (so it fires on a change of value, not on a
/// store of the same value); a single step stops after one instruction.
/// </summary>
public sealed partial class SoftVcpu
{
    private static readonly VcpuDebugSupport Support = new(int.MaxValue, [WatchKind.Write], 64);

    private readonly AddressSpace _memory;
    private VcpuDebugSettings _debug = VcpuDebugSettings.None;
    private HashSet<ulong> _breakpoints = [];
    private byte[][] _watched = [];

    /// <inheritdoc/>
    public VcpuDebugSupport DebugSupport => Support;

    /// <inheritdoc/>
    public void SetDebug(VcpuDebugSettings settings)
    {
        foreach (Watchpoint w in settings.Watchpoints)
        {
            if (w.Kind != WatchKind.Write)
            {
                throw new NotSupportedException($"the software CPU has no {w.Kind.ToString().ToLowerInvariant()} watchpoints (only write)");
            }

            if (w.PhysicalAddress is null)
            {
                throw new NotSupportedException($"watchpoint at 0x{w.Address:x}: not mapped to memory");
            }
        }

        _debug = settings;
        _breakpoints = [.. settings.Breakpoints];
        _watched = [.. settings.Watchpoints.Select(Read)];
    }

    // One instruction, with the debugger's checks before and after; null when the guest goes on.
    private VcpuExit? ExecuteForDebugger()
    {
        // The linear address of the next instruction: CS base + RIP, the base ignored in 64-bit mode
        // and the sum wrapping at 4 GiB outside it (Intel SDM Vol. 3A 3.4.4, 5.3).
        ulong pc = _core.Bitness == 64 ? _core.Rip : (_core.Seg[(int)Seg.Cs].Base + _core.Rip) & 0xFFFF_FFFF;
        if (_breakpoints.Contains(pc))
        {
            return Stop(VcpuDebugEventKind.Breakpoint, pc);
        }

        _core.ExecuteOneInstruction();
        for (int i = 0; i < _watched.Length; i++)
        {
            byte[] now = Read(_debug.Watchpoints[i]);
            if (!now.AsSpan().SequenceEqual(_watched[i]))
            {
                _watched[i] = now;
                return Stop(VcpuDebugEventKind.Watchpoint, _debug.Watchpoints[i].Address);
            }
        }

        return _debug.SingleStep ? Stop(VcpuDebugEventKind.Step, 0) : null;
    }

    private byte[] Read(Watchpoint w)
    {
        byte[] bytes = new byte[w.Length];
        _memory.Read(new GuestPhysicalAddress(w.PhysicalAddress!.Value), bytes);
        return bytes;
    }

    private static VcpuExit Stop(VcpuDebugEventKind kind, ulong address) =>
        new(VcpuExitReason.Debug, Debug: new VcpuDebugEvent(kind, address));
}
