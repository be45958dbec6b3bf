using Emulator.Core.Cpu;

namespace Emulator.Kvm;

/// <summary>
/// Instructions the host's KVM cannot emulate, run by another backend one at a time. KVM emulates
/// an instruction in the kernel when hardware cannot run it directly (MMIO, real mode without
/// unrestricted guest, or every instruction on a host without vmx/svm such as this project's
/// machines), and its emulator lacks some: IRET outside real mode, for one (arch/x86/kvm/emulate.c,
/// em_iret), which stops such a guest with KVM_INTERNAL_ERROR_EMULATION.
/// </summary>
public sealed partial class KvmVcpu
{
    private const uint InternalErrorEmulation = 1;

    /// <summary>Runs the instructions KVM reports it cannot emulate; null stops the vCPU at the first one, with the error.</summary>
    public IInstructionStepper? Stepper { get; set; }

    private readonly Lock _noticeLock = new();
    private readonly List<string> _pendingNotices = [];
    private Action<string>? _notice;

    /// <summary>
    /// Told once, the first time <see cref="Stepper"/> runs an instruction for this vCPU, and once
    /// per MSR the host's KVM refuses (<see cref="KvmMsrTransfer"/>). What was said before it was set
    /// (the vCPU's first state is loaded while it is created) is told when it is.
    /// </summary>
    public Action<string>? Notice
    {
        get => _notice;
        set
        {
            string[] pending;
            lock (_noticeLock)
            {
                _notice = value;
                pending = value is null ? [] : [.. _pendingNotices];
                if (value is not null)
                {
                    _pendingNotices.Clear();
                }
            }

            foreach (string line in pending)
            {
                value!(line);
            }
        }
    }

    /// <summary>Notices given so far while <see cref="Notice"/> was unset, for tests.</summary>
    internal IReadOnlyList<string> PendingNotices
    {
        get
        {
            lock (_noticeLock)
            {
                return [.. _pendingNotices];
            }
        }
    }

    private void Tell(string line)
    {
        Action<string>? notice;
        lock (_noticeLock)
        {
            notice = _notice;
            if (notice is null)
            {
                _pendingNotices.Add(line);
                return;
            }
        }

        notice(line);
    }

    /// <summary>Instructions <see cref="Stepper"/> ran for this vCPU.</summary>
    public long SteppedInstructions { get; private set; }

    // KVM leaves RIP at the instruction it could not emulate, and the vCPU can be entered again after
    // its state is set (api.rst, KVM_EXIT_INTERNAL_ERROR: "userspace may ... attempt to resume").
    private bool TryStepInstead(out VcpuExit? failure)
    {
        failure = null;
        uint suberror;
        unsafe
        {
            // SAFETY: KVM_RUN returned with KVM_EXIT_INTERNAL_ERROR; the internal member is the valid one.
            suberror = _run->InternalSuberror;
        }

        if (Stepper is not { } stepper || suberror != InternalErrorEmulation)
        {
            return false;
        }

        CpuState before = GetState();
        CpuState? after = stepper.Step(Index, before, _platformMsrs, out string? error);
        if (after is null)
        {
            failure = Error($"{DescribeInternalError()}; the software CPU could not run it either: {error}");
            return true;
        }

        if (SteppedInstructions++ == 0)
        {
            Tell($"vCPU {Index}: the host's KVM cannot emulate the instruction at {before.Segments[(int)Seg.Cs].Selector:x4}:{before.Rip:x}; the software CPU runs such instructions one at a time");
        }

        SetState(after);
        return true;
    }
}
