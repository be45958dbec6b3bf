using System.Runtime.InteropServices;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// The signal that kicks a vCPU thread out of KVM_RUN. A blocked KVM_RUN returns -EINTR as soon as
/// a signal with a handler is delivered to its thread; a signal that is ignored (SIG_IGN) or
/// blocked never interrupts it, so the signal needs a real handler.
/// </summary>
/// <remarks>
/// The handler is a single x86 <c>ret</c> instruction in a page of its own: it has nothing to do,
/// since the kicker sets kvm_run.immediate_exit before signalling (api.rst, "immediate_exit":
/// "Rather than blocking the signal outside KVM_RUN, userspace can set up a signal handler that
/// sets run->immediate_exit"), which covers a signal that lands just before KVM_RUN starts. A
/// managed [UnmanagedCallersOnly] handler is deliberately not used: entering the runtime from a
/// signal handler on a thread that is inside a P/Invoke is not async-signal-safe (it may wait for
/// a garbage collection to finish). The signal is SIGRTMIN+6: the .NET runtime itself uses
/// SIGRTMIN to interrupt threads for garbage collection (INJECT_ACTIVATION_SIGNAL in its PAL).
/// SA_RESTART makes other system calls of the vCPU thread (console writes, futex waits) resume
/// after a kick; KVM_RUN is not restarted because it returns -EINTR, which the kernel never restarts.
/// </remarks>
internal static class VcpuKickSignal
{
    private const int OffsetFromRtMin = 6;
    private static readonly Lazy<int> InstalledSignal = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The signal number, installed on first use.</summary>
    public static int Number => InstalledSignal.Value;

    /// <summary>Makes sure the calling thread can receive the kick (a thread may inherit a blocked mask).</summary>
    public static void UnblockOnCurrentThread()
    {
        int signal = Number;
        unsafe
        {
            // SAFETY: `set` is a zeroed 128-byte glibc sigset_t on this stack frame; only bit signal-1 is set.
            ulong* set = stackalloc ulong[16];
            new Span<ulong>(set, 16).Clear();
            set[(signal - 1) / 64] |= 1UL << ((signal - 1) % 64);
            int error = LibC.PthreadSigmask(LibC.SIG_UNBLOCK, set, null);
            if (error != 0)
            {
                throw KvmException.FromErrno("pthread_sigmask (unblocking the vCPU kick signal)", error);
            }
        }
    }

    /// <summary>Sends the kick to <paramref name="thread"/> (a pthread_t of this process that is alive).</summary>
    public static void Send(nuint thread)
    {
        int error = LibC.PthreadKill(thread, Number);
        if (error != 0)
        {
            throw KvmException.FromErrno("pthread_kill (kicking a vCPU)", error);
        }
    }

    private static int Install()
    {
        int signal = LibC.CurrentSigRtMin() + OffsetFromRtMin;
        nint page = LibC.Mmap(0, 4096, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        if (page == -1)
        {
            throw KvmException.LastError("mmap (the vCPU kick signal handler)");
        }

        unsafe
        {
            // SAFETY: `page` is a fresh private page of 4096 writable bytes; one byte is written, then the
            // page becomes read+execute only and stays mapped for the life of the process.
            *(byte*)page = 0xC3; // ret
        }

        if (LibC.Mprotect(page, 4096, LibC.PROT_READ | LibC.PROT_EXEC) != 0)
        {
            throw KvmException.LastError("mprotect (the vCPU kick signal handler)");
        }

        var action = new SigAction { Handler = page, Flags = LibC.SA_RESTART };
        SigAction previous;
        unsafe
        {
            // SAFETY: both pointers are to locals of glibc's struct sigaction layout (152 bytes, checked by a test).
            if (LibC.Sigaction(signal, &action, &previous) != 0)
            {
                throw KvmException.LastError($"sigaction({signal})");
            }
        }

        if (previous.Handler != 0)
        {
            // Someone in this process already owns the signal: give it back and refuse rather than steal it.
            unsafe
            {
                // SAFETY: as above; restores exactly what the previous sigaction call returned.
                _ = LibC.Sigaction(signal, &previous, null);
            }

            throw new KvmException($"signal {signal} (SIGRTMIN+{OffsetFromRtMin}), which emu uses to kick vCPUs out of KVM_RUN, already has a handler in this process");
        }

        return signal;
    }

    /// <summary>The size glibc's struct sigaction has on x86-64 (for the layout test).</summary>
    internal static int SigActionSize => Marshal.SizeOf<SigAction>();
}
