using Emulator.Core.Cpu;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// KVM under a debugger (KVM_SET_GUEST_DEBUG, api.rst 4.61): single steps, and breakpoints and
/// watchpoints in the four hardware debug registers, which KVM then owns instead of the guest
/// (KVM_GUESTDBG_USE_HW_BP). Nothing is written into guest memory. A #DB for one of them ends
/// KVM_RUN with KVM_EXIT_DEBUG; DR6 says which (Intel SDM Vol. 3A 18.2.3: B0-B3, BS).
/// </summary>
public sealed partial class KvmVcpu
{
    // DR7 (Intel SDM Vol. 3A 18.2.4): R/W 00 = execution, 01 = writes, 11 = reads or writes (no
    // read-only kind); LEN 00/01/11/10 = 1/2/4/8 bytes.
    private static readonly VcpuDebugSupport Support = new(4, [WatchKind.Write, WatchKind.Access], 4);

    // What each of DR0-DR3 holds: a breakpoint (null) or a watchpoint.
    private readonly Watchpoint?[] _slots = new Watchpoint?[4];

    /// <inheritdoc/>
    public VcpuDebugSupport DebugSupport => Support;

    /// <inheritdoc/>
    public void SetDebug(VcpuDebugSettings settings)
    {
        if (settings.Breakpoints.Count + settings.Watchpoints.Count > 4)
        {
            throw new NotSupportedException("KVM: four hardware breakpoints and watchpoints at most (DR0-DR3)");
        }

        var debug = new KvmGuestDebug { Control = settings.IsEmpty ? 0 : KvmGuestDebug.Enable | KvmGuestDebug.UseHardwareBreakpoints };
        if (settings.SingleStep)
        {
            debug.Control |= KvmGuestDebug.SingleStep;
        }

        ulong dr7 = 0;
        int slot = 0;
        Array.Clear(_slots);
        unsafe
        {
            foreach (ulong address in settings.Breakpoints)
            {
                debug.DebugReg[slot] = address;
                dr7 |= 2UL << (2 * slot); // G0-G3: enabled for every task
                slot++;
            }

            foreach (Watchpoint w in settings.Watchpoints)
            {
                ulong rw = w.Kind switch
                {
                    WatchKind.Write => 1,
                    WatchKind.Access => 3,
                    _ => throw new NotSupportedException("KVM: x86 debug registers have no read-only watchpoints"),
                };
                ulong len = w.Length switch
                {
                    1 => 0,
                    2 => 1,
                    4 => 3,
                    8 => 2,
                    _ => throw new NotSupportedException($"KVM: a watchpoint covers 1, 2, 4 or 8 bytes, not {w.Length}"),
                };
                debug.DebugReg[slot] = w.Address;
                dr7 |= (2UL << (2 * slot)) | (rw << (16 + (4 * slot))) | (len << (18 + (4 * slot)));
                _slots[slot] = w;
                slot++;
            }

            debug.DebugReg[7] = dr7;
            // SAFETY: a pointer to a local kvm_guest_debug, the argument KVM_SET_GUEST_DEBUG declares.
            Check(Native.LibC.Ioctl(_fd, KvmIoctl.SetGuestDebug, (nint)(&debug)), "KVM_SET_GUEST_DEBUG");
        }

    }

    // KVM_EXIT_DEBUG: which debug event this was, from DR6.
    private VcpuExit HandleDebugExit()
    {
        ulong dr6;
        ulong pc;
        unsafe
        {
            // SAFETY: KVM_RUN returned with KVM_EXIT_DEBUG, so the debug member of the exit union is valid.
            dr6 = _run->DebugDr6;
            pc = _run->DebugPc;
        }

        for (int i = 0; i < 4; i++)
        {
            if ((dr6 & (1UL << i)) == 0)
            {
                continue;
            }

            return _slots[i] is { } w
                ? new VcpuExit(VcpuExitReason.Debug, Debug: new VcpuDebugEvent(VcpuDebugEventKind.Watchpoint, w.Address))
                : new VcpuExit(VcpuExitReason.Debug, Debug: new VcpuDebugEvent(VcpuDebugEventKind.Breakpoint, pc));
        }

        return new VcpuExit(VcpuExitReason.Debug, Debug: new VcpuDebugEvent(VcpuDebugEventKind.Step));
    }
}
