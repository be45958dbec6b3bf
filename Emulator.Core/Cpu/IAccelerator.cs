using Emulator.Core.Machine;

namespace Emulator.Core.Cpu;

/// <summary>
/// A CPU backend bound to one machine: the software CPU or KVM. It is created over the machine's
/// <see cref="MachinePlatform"/> (guest memory and buses) and makes its vCPUs.
/// </summary>
public interface IAccelerator : IDisposable
{
    /// <summary>"jit" or "kvm".</summary>
    string Name { get; }

    /// <summary>Creates vCPU number <paramref name="index"/> in its reset state.</summary>
    IVcpu CreateVcpu(int index);
}
