using Emulator.Core.Cpu;

namespace Emulator.Machines.Smbios;

/// <summary>
/// SMBIOS type 4, Processor Information (DSP0134 7.5), one per processor socket, in its 2.6 layout
/// of 2Ah bytes. The machine is one socket whose cores are the vCPUs, one thread each: what CPUID
/// leaf 0BH and QMP's query-cpus-fast say, and what QEMU 7.2 makes of <c>-smp N</c> (its
/// query-cpus-fast gives socket-id 0 and core-id 0..N-1 for every CPU; it builds one type 4 per socket).
/// </summary>
public static class ProcessorInformation
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 4;

    private const byte Length = 0x2a;

    // 7.5.1: processor type "Central Processor"; 7.5.2: family "Other"; 7.5.4: upgrade "Other".
    private const byte CentralProcessor = 0x03, FamilyOther = 0x01, UpgradeOther = 0x01;

    // 7.5 Status: bit 6 "CPU Socket Populated", bits 2:0 = 1 "CPU Enabled".
    private const byte PopulatedAndEnabled = 0x41;

    // 7.5.9: characteristics bit 1 "Unknown".
    private const ushort CharacteristicsUnknown = 0x02;

    // 7.5: a cache handle of FFFFh means "no cache information".
    private const ushort NoCacheInformation = 0xffff;

    /// <summary>Builds the structure of socket <paramref name="index"/>, with <paramref name="cores"/> cores of one thread each (at most 255, as --smp allows).</summary>
    /// <remarks>
    /// 7.5.3: on x86 the Processor ID is CPUID leaf 1's EAX (signature) then its EDX (feature
    /// flags), the values the guest's own CPUID returns. The speed is CPUID leaf 16H's base
    /// frequency in MHz, or 0 ("unknown") when the model reports none.
    /// </remarks>
    public static SmbiosStructure Build(int index, int cores, string manufacturer)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(cores, Math.Clamp(cores, 1, 255));
        (uint signature, _, _, uint features) = CpuModel.Query(1, 0, index);
        ushort mhz = (ushort)CpuModel.Query(0x16, 0, index).Eax;
        return new SmbiosStructure(Type, Length, SmbiosHandles.For(Type, index))
            .String(0x04, $"CPU {index}")
            .Byte(0x05, CentralProcessor)
            .Byte(0x06, FamilyOther)
            .String(0x07, manufacturer)
            .QWord(0x08, signature | ((ulong)features << 32))
            .Word(0x14, mhz) // maximum speed
            .Word(0x16, mhz) // current speed
            .Byte(0x18, PopulatedAndEnabled)
            .Byte(0x19, UpgradeOther)
            .Word(0x1a, NoCacheInformation)
            .Word(0x1c, NoCacheInformation)
            .Word(0x1e, NoCacheInformation)
            .Byte(0x23, (byte)cores) // core count
            .Byte(0x24, (byte)cores) // cores enabled
            .Byte(0x25, (byte)cores) // thread count: threads in the socket, one per core
            .Word(0x26, CharacteristicsUnknown)
            .Word(0x28, FamilyOther); // processor family 2
    }
}
