using System.Text;

namespace Emulator.Core.Cpu;

/// <summary>
/// The one CPU model emu presents through CPUID, whichever backend runs the guest: the software CPU
/// answers CPUID from <see cref="Query"/>, and KVM is given the same table (<see cref="Leaves"/>),
/// with the feature bits of <see cref="FeatureBits"/> cleared where the host cannot provide them.
/// It advertises only what the software CPU implements; features join as their instructions land.
/// </summary>
public static class CpuModel
{
    /// <summary>CPUID.0:EBX,EDX,ECX.</summary>
    public const string Vendor = "GenuineIntel";

    /// <summary>CPUID.80000002-80000004 (NUL-padded to 48 bytes).</summary>
    public const string Brand = "emu software CPU";

    /// <summary>The highest basic leaf (CPUID.0:EAX).</summary>
    public const uint MaxBasicLeaf = 7;

    /// <summary>The highest extended leaf (CPUID.80000000:EAX).</summary>
    public const uint MaxExtendedLeaf = 0x8000_0008;

    /// <summary>Physical address width (CPUID.80000008:EAX[7:0]); the software CPU's page walks use it for reserved-bit checks.</summary>
    public const int PhysicalAddressBits = 40;

    // Leaf 1 EDX (Intel SDM Vol. 2A Table 3-11): FPU (0), PSE (3), TSC (4), MSR (5), PAE (6), CX8 (8),
    // APIC (9: the PC machine gives every vCPU a local APIC), SEP (11), PGE (13), CMOV (15),
    // PSE-36 (17), CLFSH (19: CLFLUSH), MMX (23), FXSR (24), SSE (25), SSE2 (26).
    private const uint Leaf1Edx = 1u | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 11)
        | (1u << 13) | (1u << 15) | (1u << 17) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);

    // Leaf 1 EBX bits 15:8: the CLFLUSH line size in 8-byte units, valid when CLFSH is set (64 bytes).
    private const uint ClflushLineSize = 8u << 8;

    // Leaf 1 ECX (Intel SDM Vol. 2A Table 3-10): SSE3 (0), SSSE3 (9), CMPXCHG16B (13), PCID (17),
    // SSE4.1 (19), SSE4.2 (20), x2APIC (21), MOVBE (22), POPCNT (23), TSC-deadline timer (24), RDRAND (30).
    private const uint Leaf1Ecx = 1u | (1u << 9) | (1u << 13) | (1u << 17) | (1u << 19) | (1u << 20) | (1u << 22) | (1u << 23)
        | (1u << 30) | X2Apic | TscDeadline;

    /// <summary>CPUID.01H:ECX[21]: the local APIC has x2APIC mode (Intel SDM Vol. 3A 11.12).</summary>
    public const uint X2Apic = 1u << 21;

    /// <summary>CPUID.01H:ECX[24]: the local APIC timer has TSC-deadline mode (Intel SDM Vol. 3A 11.5.4.1).</summary>
    public const uint TscDeadline = 1u << 24;

    // Leaf 7 subleaf 0 EBX (Intel SDM Vol. 2A Table 3-8, structured extended features): FSGSBASE (0),
    // BMI1 (3), SMEP (7), BMI2 (8), INVPCID (10), RDSEED (18), ADX (19), SMAP (20).
    private const uint Leaf7Ebx = (1u << 0) | (1u << 3) | (1u << 7) | (1u << 8) | (1u << 10) | (1u << 18) | (1u << 19) | (1u << 20);

    // Leaf 7 subleaf 0 ECX: UMIP (2), PKU (3), RDPID (22). OSPKE (4) is CR4.PKE, which the processor adds.
    private const uint Leaf7Ecx = (1u << 2) | (1u << 3) | (1u << 22);

    /// <summary>CPUID.(EAX=07H,ECX=0):ECX[4], OSPKE: set by the processor while CR4.PKE is set; never in <see cref="Query"/>.</summary>
    public const uint OsPke = 1u << 4;

    // Leaf 7 subleaf 0 EDX: IA32_ARCH_CAPABILITIES (29), the MSR below.
    private const uint Leaf7Edx = 1u << 29;

    /// <summary>
    /// IA32_ARCH_CAPABILITIES (MSR 10AH, Intel SDM Vol. 4 Table 2-2): the speculative-execution
    /// issues the processor is not subject to. An emulated CPU executes nothing speculatively, so it
    /// reports RDCL_NO (0), SSB_NO (4), MDS_NO (5), IF_PSCHANGE_MC_NO (6), TAA_NO (8), SBDR_SSDP_NO
    /// (13), FBSDP_NO (14), PSDP_NO (15), BHI_NO (20), PBRSB_NO (24), GDS_NO (26) and RFDS_NO (27).
    /// Without it a kernel that sees GenuineIntel family 6 assumes the worst and isolates its page
    /// tables (a CR3 load on every system call and interrupt) and clears CPU buffers on every return
    /// to user mode.
    /// </summary>
    public const ulong ArchCapabilities = (1ul << 0) | (1ul << 4) | (1ul << 5) | (1ul << 6) | (1ul << 8) | (1ul << 13)
        | (1ul << 14) | (1ul << 15) | (1ul << 20) | (1ul << 24) | (1ul << 26) | (1ul << 27);

    // Leaf 80000001h ECX: LAHF/SAHF in 64-bit mode (0), LZCNT (5). EDX (Intel SDM Vol. 2A Table 3-8):
    // SYSCALL/SYSRET (11), execute-disable (20), 1-GByte pages (26), RDTSCP and IA32_TSC_AUX (27),
    // Intel 64 architecture (29).
    private const uint ExtendedLeaf1Ecx = (1u << 0) | (1u << 5);
    private const uint ExtendedLeaf1Edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);

    // Leaf 80000008h EAX: physical address bits (7:0) and linear address bits (15:8).
    private const uint AddressSizes = PhysicalAddressBits | (48 << 8);

    // Family 6, model 0x0f, stepping 1 (a generic P6-family signature).
    private const uint Signature = 0x0000_06f1;

    /// <summary>Every leaf the model defines (leaf 7 is given for subleaf 0, its only subleaf); any other leaf is out of range.</summary>
    public static IReadOnlyList<uint> Leaves { get; } = [0, 1, 7, 0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0003, 0x8000_0004, 0x8000_0008];

    /// <summary>What CPUID returns for <paramref name="leaf"/> on the vCPU whose initial APIC ID is <paramref name="apicId"/>.</summary>
    /// <remarks>
    /// A leaf above the highest basic or extended leaf returns the highest basic leaf, as Intel
    /// processors do (Intel SDM Vol. 2A, CPUID, "If a value entered for CPUID.EAX is higher than the
    /// maximum input value ... the data for the highest basic information leaf is returned"); KVM
    /// applies the same rule to a guest whose vendor is GenuineIntel.
    /// </remarks>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf, int apicId)
    {
        return leaf switch
        {
            0 => (MaxBasicLeaf, Word(Vendor, 0), Word(Vendor, 8), Word(Vendor, 4)),
            1 => (Signature, (uint)apicId << 24 | (1u << 16) | ClflushLineSize, Leaf1Ecx, Leaf1Edx),
            >= 2 and < 7 => (0, 0, 0, 0),
            7 => subleaf == 0 ? (0u, Leaf7Ebx, Leaf7Ecx, Leaf7Edx) : (0u, 0u, 0u, 0u),
            0x8000_0000 => (MaxExtendedLeaf, 0, 0, 0),
            0x8000_0001 => (0, 0, ExtendedLeaf1Ecx, ExtendedLeaf1Edx),
            >= 0x8000_0002 and <= 0x8000_0004 => BrandPart(leaf - 0x8000_0002),
            >= 0x8000_0005 and < 0x8000_0008 => (0, 0, 0, 0),
            0x8000_0008 => (AddressSizes, 0, 0, 0),
            _ => Query(MaxBasicLeaf, 0, apicId),
        };
    }

    /// <summary>
    /// The bits of a leaf that are feature flags: a backend may advertise such a bit only when it
    /// implements the feature, so it clears those the host lacks. Other bits (vendor, signature,
    /// brand, leaf counts) are the model's and are reported as they are.
    /// </summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) FeatureBits(uint leaf) => leaf switch
    {
        1 or 0x8000_0001 => (0, 0, ~0u, ~0u),
        7 => (0, ~0u, ~0u, Leaf7Edx),
        _ => (0, 0, 0, 0),
    };

    private static uint Word(string s, int offset) => BitConverter.ToUInt32(Encoding.ASCII.GetBytes(s), offset);

    private static (uint, uint, uint, uint) BrandPart(uint part)
    {
        byte[] brand = new byte[48];
        Encoding.ASCII.GetBytes(Brand).CopyTo(brand, 0);
        int o = (int)part * 16;
        return (BitConverter.ToUInt32(brand, o), BitConverter.ToUInt32(brand, o + 4), BitConverter.ToUInt32(brand, o + 8), BitConverter.ToUInt32(brand, o + 12));
    }
}
