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

    /// <summary>Told once, the first time <see cref="Stepper"/> runs an instruction for this vCPU.</summary>
    public Action<string>? Notice { get; set; }

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
            Notice?.Invoke($"vCPU {Index}: the host's KVM cannot emulate the instruction at {before.Segments[(int)Seg.Cs].Selector:x4}:{before.Rip:x}; the software CPU runs such instructions one at a time");
        }

        SetState(after);
        return true;
    }
}
