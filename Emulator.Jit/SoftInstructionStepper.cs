using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Jit.Decoding;

namespace Emulator.Jit;

/// <summary>
/// The software CPU as a one-instruction fallback for another backend. The other backend writes
/// guest memory without telling the block cache, so the cache is emptied before every step.
/// </summary>
public sealed class SoftInstructionStepper : IInstructionStepper
{
    private readonly MachinePlatform _platform;
    private readonly BlockCache _code = new();
    private readonly Dictionary<int, SoftVcpu> _vcpus = [];
    private readonly Lock _lock = new();

    /// <summary>Binds the stepper to a machine's memory and buses.</summary>
    public SoftInstructionStepper(MachinePlatform platform) => _platform = platform;

    /// <inheritdoc/>
    public CpuState? Step(int vcpuIndex, CpuState state, IMsrDevice? platformMsrs, out string? error)
    {
        SoftVcpu vcpu;
        lock (_lock)
        {
            if (!_vcpus.TryGetValue(vcpuIndex, out vcpu!))
            {
                vcpu = new SoftVcpu(vcpuIndex, _platform, _code);
                _vcpus.Add(vcpuIndex, vcpu);
            }

            _code.Clear();
        }

        vcpu.PlatformMsrs = platformMsrs;
        vcpu.SetState(state);
        error = vcpu.Step();
        return error is null ? vcpu.GetState() : null;
    }
}
