namespace Emulator.Jit.State;

/// <summary>Indices of the model-specific registers this CPU model implements (Intel SDM Vol. 4 Table 2-2).</summary>
internal static class Msr
{
    public const uint Tsc = 0x10;

    /// <summary>IA32_TSC_ADJUST (Intel SDM Vol. 3B 18.17.3): held in <c>CpuCore.Msrs</c> beside the TSC's offset from host time.</summary>
    public const uint TscAdjust = 0x3b;
    public const uint ArchCapabilities = 0x10a;
    public const uint SysenterCs = 0x174, SysenterEsp = 0x175, SysenterEip = 0x176;
    public const uint Efer = 0xc000_0080;
    public const uint Star = 0xc000_0081, Lstar = 0xc000_0082, Cstar = 0xc000_0083, Sfmask = 0xc000_0084;
    public const uint FsBase = 0xc000_0100, GsBase = 0xc000_0101, KernelGsBase = 0xc000_0102;
    /// <summary>IA32_TSC_AUX, what RDTSCP and RDPID return (bits 63:32 reserved).</summary>
    public const uint TscAux = 0xc000_0103;

    // Architectural MSRs a kernel reads and writes back without the CPU acting on them: kept as
    // plain storage with their reset values (Intel SDM Vol. 4 Table 2-2). IA32_PAT, the MTRRs and
    // the machine-check registers are storage too, with write rules: Core.Cpu.CacheAndMcaMsrs.
    public const uint PlatformId = 0x17, BiosSignId = 0x8b, MiscEnable = 0x1a0;

    /// <summary>True for the MSRs held as plain storage.</summary>
    public static bool IsStorage(uint index) => index is PlatformId or BiosSignId or MiscEnable;

    /// <summary>Reset value of a storage MSR: MISC_ENABLE has fast strings on (bit 0).</summary>
    public static ulong ResetValue(uint index) => index == MiscEnable ? 1ul : 0;
}
