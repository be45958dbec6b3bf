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

    /// <summary>
    /// Whether the vCPUs translate hot blocks to host code (x86-64 hosts) or only interpret. The
    /// default is on where a backend exists, unless EMU_TRANSLATE=0 says otherwise.
    /// </summary>
    public bool Translate { get; init; } = TranslatorAvailable && Environment.GetEnvironmentVariable("EMU_TRANSLATE") is not ("0" or "off");

    /// <summary>True when this host has a translator backend (x86-64).</summary>
    public static bool TranslatorAvailable => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64;

    /// <inheritdoc/>
    public IVcpu CreateVcpu(int index) => new SoftVcpu(index, _platform, _code, Translate);

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
