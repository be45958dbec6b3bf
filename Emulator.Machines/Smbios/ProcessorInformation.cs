using Emulator.Core.Cpu;

namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 4, Processor Information (DSP0134 7.5), one per vCPU, in its 2.6 layout of 2Ah bytes.</summary>
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

    /// <summary>Builds the structure of vCPU <paramref name="index"/>, one core with one thread.</summary>
    /// <remarks>
    /// 7.5.3: on x86 the Processor ID is CPUID leaf 1's EAX (signature) then its EDX (feature
    /// flags), the values the guest's own CPUID returns. The speed is CPUID leaf 16H's base
    /// frequency in MHz, or 0 ("unknown") when the model reports none.
    /// </remarks>
    public static SmbiosStructure Build(int index, string manufacturer)
    {
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
            .Byte(0x23, 1) // core count
            .Byte(0x24, 1) // cores enabled
            .Byte(0x25, 1) // thread count
            .Word(0x26, CharacteristicsUnknown)
            .Word(0x28, FamilyOther); // processor family 2
    }
}
