using System.Runtime.InteropServices;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// A KVM vCPU: runs KVM_RUN and services its exits against the machine's buses (port I/O, MMIO),
/// HLT (when the interrupt controllers live in userspace), shutdown and errors.
/// </summary>
/// <remarks>
/// Kicks from other threads set kvm_run.immediate_exit and then send <see cref="VcpuKickSignal"/>
/// to the thread inside <see cref="Run"/>: a KVM_RUN already in the guest returns -EINTR on the
/// signal, and one about to start sees immediate_exit and returns at once. The thread is signalled
/// only while it is registered as inside <see cref="Run"/> (under <see cref="_threadLock"/>), so a
/// pthread_t is never used after its thread has left.
/// </remarks>
public sealed partial class KvmVcpu : IVcpu
{
    private const int IoDirectionOut = 1;

    private readonly KvmAccelerator _vm;
    private readonly MachinePlatform _platform;
    private readonly Lock _threadLock = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly nuint _runSize;
    private unsafe KvmRun* _run;
    private int _fd;
    private nuint _thread;
    private bool _inRun;
    private volatile bool _exitRequested;
    // NMIs raised since the loop last passed them to KVM (KVM_NMI each), at most two: KVM keeps one
    // being handled and one latched (Intel SDM Vol. 3A 6.7.1) and drops the rest itself.
    private int _nmisPending;
    // HLT without an in-kernel irqchip exits to userspace; the halt is then this vCPU's own state.
    private bool _halted;

    // Whether the halted vCPU can take an interrupt (RFLAGS.IF at its HLT).
    private bool _haltedInterruptible;
    // An I/O or MMIO exit was serviced; the guest instruction completes on the next KVM_RUN.
    private bool _completionPending;
    // The MSRs moved by GetState/SetState (KvmAccelerator.TransferredMsrs less those this vCPU's KVM refused).
    private uint[] _msrs = [];

    internal KvmVcpu(KvmAccelerator vm, int index, int fd, KvmCpuidEntry2[] cpuid, IReadOnlyList<string> unsupportedFeatures)
    {
        _vm = vm;
        _platform = vm.Platform;
        _fd = fd;
        Index = index;
        try
        {
            _runSize = (nuint)vm.VcpuMmapSize;
            nint run = LibC.Mmap(0, _runSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
            if (run == -1)
            {
                throw KvmException.LastError($"mmap of vCPU {index}'s kvm_run");
            }

            unsafe
            {
                // SAFETY: a MAP_SHARED mapping of VcpuMmapSize bytes of the vCPU fd begins with struct
                // kvm_run (api.rst, KVM_GET_VCPU_MMAP_SIZE); it stays mapped until Dispose.
                _run = (KvmRun*)run;
            }

            SetCpuid(cpuid);
            _msrs = vm.TransferredMsrs;
            if (vm.HasMachineCheck && !SetupMachineCheck(fd))
            {
                // The guest keeps KVM's own IA32_MCG_CAP and banks, which then stay where they are.
                _msrs = [.. _msrs.Where(i => !MachineCheck.Owns(i))];
            }

            SetState(CpuState.AtReset());
            // Read back after the state is set: KVM mirrors IA32_APIC_BASE's enable bit into CPUID.1:EDX.
            CompareCpuid(cpuid, unsupportedFeatures);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    // The model's bank count and MCG_CTL_P rather than KVM's default (all its banks), so that a guest
    // sees the same IA32_MCG_CAP on both backends and its banks can move. KvmAccelerator checked
    // KVM_CAP_MCE and KVM_X86_GET_MCE_CAP_SUPPORTED; a KVM that refuses anyway costs the move of the
    // machine-check registers only.
    private bool SetupMachineCheck(int fd)
    {
        ulong mcgCap = MachineCheck.Capabilities;
        int result;
        unsafe
        {
            // SAFETY: KVM_X86_SETUP_MCE reads one u64 from the pointer, a local that outlives the call.
            result = LibC.Ioctl(fd, KvmIoctl.X86SetupMce, (nint)(&mcgCap));
        }

        if (result >= 0)
        {
            return true;
        }

        Tell($"vCPU {Index}: {KvmException.LastError("KVM_X86_SETUP_MCE").Message}; the guest sees KVM's own machine-check registers, which are not moved");
        return false;
    }

    /// <inheritdoc/>
    public int Index { get; }

    /// <inheritdoc/>
    public IInterruptSource? InterruptSource { get; set; }

    /// <summary>KVM exits serviced so far (all reasons), for diagnostics and tests.</summary>
    public long Exits { get; private set; }

    /// <inheritdoc/>
    public VcpuExit Run()
    {
        lock (_threadLock)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            _thread = LibC.PthreadSelf();
            _inRun = true;
        }

        try
        {
            VcpuKickSignal.UnblockOnCurrentThread();
            return RunLoop();
        }
        finally
        {
            lock (_threadLock)
            {
                _inRun = false;
            }
        }
    }

    /// <inheritdoc/>
    public void RequestExit()
    {
        _exitRequested = true;
        Kick();
    }

    /// <inheritdoc/>
    public void ClearExitRequest()
    {
        _exitRequested = false;
        lock (_threadLock)
        {
            unsafe
            {
                if (_run != null)
                {
                    // SAFETY: the mapping is live: Dispose clears _run under the same lock.
                    Volatile.Write(ref _run->ImmediateExit, 0);
                }
            }
        }
    }

    /// <inheritdoc/>
    public void NotifyInterrupt() => Kick();

    /// <inheritdoc/>
    public void RaiseNmi()
    {
        int seen;
        do
        {
            seen = Volatile.Read(ref _nmisPending);
        }
        while (seen < 2 && Interlocked.CompareExchange(ref _nmisPending, seen + 1, seen) != seen);

        Kick();
    }

    // Makes the vCPU loop look at its flags soon: wakes a userspace halt, and interrupts KVM_RUN.
    // Callers set their flag first; the loop clears immediate_exit before it reads the flags.
    private void Kick()
    {
        lock (_threadLock)
        {
            if (_fd < 0)
            {
                return;
            }

            unsafe
            {
                // SAFETY: the mapping lives while _fd is open, which the lock guarantees here.
                Volatile.Write(ref _run->ImmediateExit, 1);
            }

            _wake.Set();
            if (_inRun && _thread != LibC.PthreadSelf())
            {
                // The thread is inside Run (registered under this lock), so its pthread_t is alive.
                VcpuKickSignal.Send(_thread);
            }
        }
    }

    private VcpuExit RunLoop()
    {
        while (true)
        {
            unsafe
            {
                // SAFETY: the kvm_run mapping is live while this vCPU runs. Clearing immediate_exit and
                // then reading the flags (with a full fence between) pairs with Kick, which sets the
                // flag and then immediate_exit: a kick is either seen here or makes KVM_RUN return.
                Volatile.Write(ref _run->ImmediateExit, 0);
            }

            Interlocked.MemoryBarrier();
            if (_exitRequested)
            {
                CompletePendingOperation();
                return new VcpuExit(VcpuExitReason.ExitRequested);
            }

            for (int n = Interlocked.Exchange(ref _nmisPending, 0); n > 0; n--)
            {
                // api.rst (KVM_NMI): queues an NMI; well defined when there is no in-kernel irqchip.
                Check(LibC.Ioctl(_fd, KvmIoctl.Nmi, 0), "KVM_NMI");
                _halted = false;
            }

            if (_halted && !TryWake())
            {
                _wake.WaitOne(50);
                continue;
            }

            InjectInterrupt();
            int result = LibC.Ioctl(_fd, KvmIoctl.Run, 0);
            _completionPending = false;
            if (result < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is LibC.EINTR or LibC.EAGAIN)
                {
                    continue; // kicked (KVM_EXIT_INTR or immediate_exit)
                }

                return Error($"KVM_RUN failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }

            Exits++;
            VcpuExit? exit = HandleExit();
            if (exit is { } e)
            {
                return e;
            }
        }
    }

    private VcpuExit? HandleExit()
    {
        uint reason;
        unsafe
        {
            // SAFETY: KVM_RUN returned, so the kernel has finished writing kvm_run for this exit.
            reason = _run->ExitReason;
        }

        switch (reason)
        {
            case KvmExitReason.Io:
                HandleIo();
                _completionPending = true;
                return null;
            case KvmExitReason.Mmio:
                HandleMmio();
                _completionPending = true;
                return null;
            case KvmExitReason.X86Rdmsr:
            case KvmExitReason.X86Wrmsr:
                HandleMsr(reason == KvmExitReason.X86Wrmsr);
                return null;
            case KvmExitReason.Hlt:
                _halted = true;
                unsafe
                {
                    // SAFETY: KVM_RUN returned with KVM_EXIT_HLT; the kernel wrote if_flag for it.
                    _haltedInterruptible = _run->IfFlag != 0;
                }

                return null;
            case KvmExitReason.IrqWindowOpen:
            case KvmExitReason.Intr:
                return null;
            case KvmExitReason.Shutdown:
                // A triple fault (or a fault KVM could not deliver): on a PC this resets the machine.
                return new VcpuExit(VcpuExitReason.Shutdown, "triple fault (KVM_EXIT_SHUTDOWN)");
            case KvmExitReason.SystemEvent:
                return HandleSystemEvent();
            case KvmExitReason.Debug:
                return HandleDebugExit();
            case KvmExitReason.FailEntry:
                unsafe
                {
                    // SAFETY: as above; the fail_entry member is the one valid for this exit.
                    return Error($"KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x{_run->HardwareEntryFailureReason:x} on host CPU {_run->FailEntryCpu}");
                }

            case KvmExitReason.InternalError:
                return TryStepInstead(out VcpuExit? failure) ? failure : Error(DescribeInternalError());
            case KvmExitReason.Unknown:
                unsafe
                {
                    // SAFETY: as above; the hw member is the one valid for this exit.
                    return Error($"KVM_EXIT_UNKNOWN: hardware exit reason 0x{_run->HardwareExitReason:x}");
                }

            case KvmExitReason.Exception:
                unsafe
                {
                    // SAFETY: as above; the ex member is the one valid for this exit.
                    return Error($"KVM_EXIT_EXCEPTION: vector {_run->ExceptionNumber}, error code 0x{_run->ExceptionErrorCode:x}");
                }

            default:
                return Error($"unexpected {KvmExitReason.Name(reason)}");
        }
    }

    private void HandleIo()
    {
        unsafe
        {
            // SAFETY: for KVM_EXIT_IO the kernel puts `count` items of `size` bytes at data_offset
            // inside the vCPU mapping (api.rst, KVM_EXIT_IO); the range is checked against the mapping
            // before any access. For IN the kernel copies the data into the guest on the next KVM_RUN.
            KvmRun* run = _run;
            int size = run->IoSize;
            uint count = run->IoCount;
            ulong offset = run->IoDataOffset;
            if (size is not (1 or 2 or 4) || offset + (ulong)size * count > _runSize)
            {
                throw new KvmException($"KVM_EXIT_IO with size {size}, count {count}, data offset 0x{offset:x} outside the {_runSize}-byte kvm_run mapping");
            }

            byte* data = (byte*)run + offset;
            ushort port = run->IoPort;
            bool write = run->IoDirection == IoDirectionOut;
            for (uint i = 0; i < count; i++)
            {
                var item = new Span<byte>(data + (i * (uint)size), size);
                if (write)
                {
                    _platform.Io.Write(port, item);
                }
                else
                {
                    _platform.Io.Read(port, item);
                }
            }
        }
    }

    private void HandleMmio()
    {
        unsafe
        {
            // SAFETY: for KVM_EXIT_MMIO, data[8] holds up to 8 bytes (len) to write or to fill for a read.
            KvmRun* run = _run;
            int length = (int)Math.Min(run->MmioLen, 8u);
            var data = new Span<byte>(run->MmioData, length);
            var address = new GuestPhysicalAddress(run->MmioPhysAddr);
            if (run->MmioIsWrite != 0)
            {
                _platform.Memory.Write(address, data);
            }
            else
            {
                _platform.Memory.Read(address, data);
            }
        }
    }

    private VcpuExit? HandleSystemEvent()
    {
        uint type;
        unsafe
        {
            // SAFETY: as in HandleExit; the system_event member is the one valid for this exit.
            type = _run->SystemEventType;
        }

        // api.rst (KVM_EXIT_SYSTEM_EVENT): 1 SHUTDOWN, 2 RESET, 3 CRASH.
        switch (type)
        {
            case 1:
                _platform.Control.Raise(MachineRequest.PowerOff);
                return null;
            case 2:
                return new VcpuExit(VcpuExitReason.Shutdown, "the guest requested a reset (KVM_SYSTEM_EVENT_RESET)");
            case 3:
                return Error("the guest crashed (KVM_SYSTEM_EVENT_CRASH)");
            default:
                return Error($"KVM_EXIT_SYSTEM_EVENT of unknown type {type}");
        }
    }

    private string DescribeInternalError()
    {
        unsafe
        {
            // SAFETY: as in HandleExit; the internal member is the one valid for this exit, with at most 16 data words.
            KvmRun* run = _run;
            string what = run->InternalSuberror switch
            {
                1 => "the instruction emulator failed (KVM_INTERNAL_ERROR_EMULATION)",
                2 => "an exception was raised while delivering another (KVM_INTERNAL_ERROR_SIMUL_EX)",
                3 => "an event could not be delivered (KVM_INTERNAL_ERROR_DELIVERY_EV)",
                4 => "an unexpected VM exit (KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON)",
                _ => $"suberror {run->InternalSuberror}",
            };
            int n = (int)Math.Min(run->DataCount, 16u);
            var words = new List<string>();
            for (int i = 0; i < n; i++)
            {
                words.Add($"0x{run->Data[i]:x}");
            }

            return $"KVM_EXIT_INTERNAL_ERROR: {what}" + (n > 0 ? $"; data {string.Join(' ', words)}" : string.Empty);
        }
    }

    // With the userspace PIC/APIC, an interrupt is injected with KVM_INTERRUPT when KVM says the
    // guest can take one now; otherwise KVM is asked to exit as soon as it can (api.rst,
    // "request_interrupt_window" and "ready_for_interrupt_injection").
    private void InjectInterrupt()
    {
        if (_vm.Irqchip == KvmIrqchipMode.Kernel)
        {
            return; // KVM delivers from its own local APIC
        }

        unsafe
        {
            // SAFETY: the kvm_run mapping is live; these fields are written only by this thread and
            // read by the kernel during KVM_RUN.
            KvmRun* run = _run;
            if (InterruptSource is not { HasInterrupt: true } source)
            {
                run->RequestInterruptWindow = 0;
                return;
            }

            if (run->ReadyForInterruptInjection != 0 && run->IfFlag != 0)
            {
                uint vector = (uint)source.Acknowledge();
                // SAFETY: a pointer to a local u32, the argument KVM_INTERRUPT declares.
                Check(LibC.Ioctl(_fd, KvmIoctl.Interrupt, (nint)(&vector)), "KVM_INTERRUPT");
                run->RequestInterruptWindow = (byte)(source.HasInterrupt ? 1 : 0);
            }
            else
            {
                run->RequestInterruptWindow = 1;
            }
        }
    }

    // A halted CPU resumes for an NMI (queued above) or for an interrupt it can take.
    private bool TryWake()
    {
        if (_haltedInterruptible && InterruptSource is { HasInterrupt: true })
        {
            _halted = false;
            return true;
        }

        return false;
    }

    // api.rst (struct kvm_run): "For KVM_EXIT_IO, KVM_EXIT_MMIO, ... the corresponding operations are
    // complete (and guest state is consistent) only after userspace has re-entered the kernel with
    // KVM_RUN. The kernel side will first finish incomplete operations and then check for pending
    // signals." With immediate_exit set, that re-entry completes the instruction and returns -EINTR
    // without running guest code. A string I/O longer than one data page may exit once more for its
    // next chunk instead; that exit is serviced and the re-entry repeated.
    private void CompletePendingOperation()
    {
        while (_completionPending)
        {
            unsafe
            {
                // SAFETY: the kvm_run mapping is live while the vCPU fd is open.
                Volatile.Write(ref _run->ImmediateExit, 1);
            }

            int result = LibC.Ioctl(_fd, KvmIoctl.Run, 0);
            int errno = Marshal.GetLastPInvokeError();
            _completionPending = false;
            if (result < 0)
            {
                if (errno != LibC.EINTR)
                {
                    throw KvmException.FromErrno($"completing vCPU {Index}'s last I/O (KVM_RUN with immediate_exit)", errno);
                }

                return;
            }

            Exits++;
            if (HandleExit() is { } exit)
            {
                throw new KvmException($"completing vCPU {Index}'s last I/O ended in {exit.Reason}: {exit.Detail}");
            }
        }
    }

    private VcpuExit Error(string detail) => new(VcpuExitReason.InternalError, $"{detail} {Where()}");

    private string Where()
    {
        try
        {
            KvmRegs regs = GetRegs();
            KvmSregs sregs = GetSregs();
            return $"at {sregs.Cs.Selector:x4}:{regs.Rip:x} (linear 0x{sregs.Cs.Base + regs.Rip:x}, CR0 0x{sregs.Cr0:x})";
        }
        catch (KvmException e)
        {
            return $"(registers unreadable: {e.Message})";
        }
    }

    /// <summary>
    /// The CPUID table KVM applies to this vCPU (KVM_GET_CPUID2). It is the model's table unless the
    /// host's KVM changes it: some hosts force their own feature flags into leaf 1 or add leaves.
    /// </summary>
    public IReadOnlyList<CpuidLeaf> EffectiveCpuid { get; private set; } = [];

    /// <summary>How <see cref="EffectiveCpuid"/> departs from the CPU model (empty on a host whose KVM offers every feature and honours KVM_SET_CPUID2).</summary>
    public CpuidDeviation CpuidDeviation { get; private set; } = CpuidDeviation.None;

    private void SetCpuid(KvmCpuidEntry2[] entries)
    {
        int header = Marshal.SizeOf<KvmCpuid2>(), entry = Marshal.SizeOf<KvmCpuidEntry2>();
        byte[] buffer = new byte[header + entries.Length * entry];
        MemoryMarshal.Write(buffer, new KvmCpuid2 { Count = (uint)entries.Length });
        MemoryMarshal.AsBytes(entries.AsSpan()).CopyTo(buffer.AsSpan(header));
        unsafe
        {
            // SAFETY: the pinned buffer is a kvm_cpuid2 header followed by exactly Count entries.
            fixed (byte* p = buffer)
            {
                Check(LibC.Ioctl(_fd, KvmIoctl.SetCpuid2, (nint)p), "KVM_SET_CPUID2");
            }
        }
    }

    private void CompareCpuid(KvmCpuidEntry2[] entries, IReadOnlyList<string> unsupportedFeatures)
    {
        EffectiveCpuid = ReadCpuid();
        CpuidDeviation = CpuidDeviation.Between(
            [.. entries.Select(e => new CpuidLeaf(e.Function, e.Index, e.Eax, e.Ebx, e.Ecx, e.Edx))], EffectiveCpuid, unsupportedFeatures);
    }

    private CpuidLeaf[] ReadCpuid()
    {
        const int count = 256;
        int header = Marshal.SizeOf<KvmCpuid2>(), entry = Marshal.SizeOf<KvmCpuidEntry2>();
        byte[] buffer = new byte[header + count * entry];
        MemoryMarshal.Write(buffer, new KvmCpuid2 { Count = count });
        unsafe
        {
            // SAFETY: the pinned buffer is a kvm_cpuid2 header with room for Count entries.
            fixed (byte* p = buffer)
            {
                Check(LibC.Ioctl(_fd, KvmIoctl.GetCpuid2, (nint)p), "KVM_GET_CPUID2");
            }
        }

        int n = (int)MemoryMarshal.Read<KvmCpuid2>(buffer).Count;
        return [.. MemoryMarshal.Cast<byte, KvmCpuidEntry2>(buffer.AsSpan(header, n * entry)).ToArray()
            .Select(e => new CpuidLeaf(e.Function, e.Index, e.Eax, e.Ebx, e.Ecx, e.Edx))];
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw KvmException.LastError(what);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_threadLock)
        {
            unsafe
            {
                if (_run != null)
                {
                    // SAFETY: unmaps exactly the mapping made in the constructor; Kick checks _fd under
                    // this lock and Run refuses to start once _fd is closed, so nothing uses it after.
                    _ = LibC.Munmap((nint)_run, _runSize);
                    _run = null;
                }
            }

            if (_fd >= 0)
            {
                _ = LibC.Close(_fd);
                _fd = -1;
            }
        }

        _wake.Dispose();
    }
}
