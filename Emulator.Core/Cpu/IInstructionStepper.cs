namespace Emulator.Core.Cpu;

/// <summary>
/// Executes one guest instruction from a given state, over the machine's memory and buses: the
/// fallback a hardware backend uses for an instruction its host refuses to emulate (KVM's
/// KVM_INTERNAL_ERROR_EMULATION). Called on the vCPU's own thread.
/// </summary>
public interface IInstructionStepper
{
    /// <summary>
    /// Runs the instruction at <paramref name="state"/>'s CS:RIP (delivering any fault it raises)
    /// and returns the state after it, or null with <paramref name="error"/> when it cannot.
    /// </summary>
    CpuState? Step(int vcpuIndex, CpuState state, IMsrDevice? platformMsrs, out string? error);
}
