using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Jit.Decoding;

namespace Emulator.Jit;

/// <summary>The software CPU backend: an interpreter over cached decoded blocks, usable on any host.</summary>
public sealed class SoftAccelerator : IAccelerator
{
    private readonly MachinePlatform _platform;
    private readonly BlockCache _code = new();

    /// <summary>Binds the software CPU to a machine's memory and buses.</summary>
    public SoftAccelerator(MachinePlatform platform)
    {
        _platform = platform;
        // Writes by devices (DMA) and loaders go through the address space; they must drop stale code.
        platform.Memory.ObserveRamWrites(_code.OnWrite);
    }

    /// <inheritdoc/>
    public string Name => "jit";

    /// <summary>Blocks dropped because their code was overwritten.</summary>
    public long CodeInvalidations => _code.Invalidations;

    /// <inheritdoc/>
    public IVcpu CreateVcpu(int index) => new SoftVcpu(index, _platform, _code);

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
