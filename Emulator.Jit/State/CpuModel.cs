using System.Text;

namespace Emulator.Jit.State;

/// <summary>
/// The one CPU model the software CPU presents through CPUID. It advertises only what is
/// implemented; features join the lists as their instructions land.
/// </summary>
internal static class CpuModel
{
    public const string Vendor = "GenuineIntel";
    public const string Brand = "emu software CPU";

    // Leaf 1 EDX (Intel SDM Vol. 2A Table 3-11): FPU (0), TSC (4), MSR (5), CX8 (8), APIC (9: the PC
    // machine gives every vCPU a local APIC, whose IA32_APIC_BASE RDMSR/WRMSR reach), CMOV (15),
    // MMX (23), FXSR (24), SSE (25), SSE2 (26).
    private const uint Leaf1Edx = 1u | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 9) | (1u << 15) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26) | Leaf1EdxPaging;

    // Leaf 1 ECX (Intel SDM Vol. 2A Table 3-10): SSE3 (0), SSSE3 (9), CMPXCHG16B (13), SSE4.1 (19),
    // SSE4.2 (20), MOVBE (22), POPCNT (23).
    private const uint Leaf1Ecx = 1u | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 22) | (1u << 23);

    // Paging and system-call features: PSE (3), PAE (6), SEP (11), PGE (13), PSE-36 (17).
    private const uint Leaf1EdxPaging = (1u << 3) | (1u << 6) | (1u << 11) | (1u << 13) | (1u << 17);

    // Leaf 7 subleaf 0 EBX (Intel SDM Vol. 2A Table 3-8, structured extended features): BMI1 (3), ADX (19).
    private const uint Leaf7Ebx = (1u << 3) | (1u << 19);

    // Leaf 80000001h ECX: LAHF/SAHF in 64-bit mode (0), LZCNT (5). EDX (Intel SDM Vol. 2A Table 3-8):
    // SYSCALL/SYSRET (11), execute-disable (20), 1-GByte pages (26), Intel 64 architecture (29).
    private const uint ExtendedLeaf1Ecx = (1u << 0) | (1u << 5);
    private const uint Extended1Edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 29);

    // Leaf 80000008h EAX: physical address bits (7:0) and linear address bits (15:8).
    private const uint AddressSizes = PhysicalAddressBits | (48 << 8);
    private const uint PhysicalAddressBits = CpuCore.PhysicalAddressBits;

    // Family 6, model 0x0f, stepping 1 (a generic P6-family signature).
    private const uint Signature = 0x0000_06f1;

    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf, int apicId)
    {
        return leaf switch
        {
            0 => (7, Word(Vendor, 0), Word(Vendor, 8), Word(Vendor, 4)),
            1 => (Signature, (uint)apicId << 24 | (1u << 16), Leaf1Ecx, Leaf1Edx),
            7 => subleaf == 0 ? (0u, Leaf7Ebx, 0u, 0u) : (0u, 0u, 0u, 0u),
            0x8000_0000 => (0x8000_0008, 0, 0, 0),
            0x8000_0001 => (0, 0, ExtendedLeaf1Ecx, Extended1Edx),
            >= 0x8000_0002 and <= 0x8000_0004 => BrandPart(leaf - 0x8000_0002),
            0x8000_0008 => (AddressSizes, 0, 0, 0),
            _ => (0, 0, 0, 0),
        };
    }

    private static uint Word(string s, int offset) => BitConverter.ToUInt32(Encoding.ASCII.GetBytes(s), offset);

    private static (uint, uint, uint, uint) BrandPart(uint part)
    {
        byte[] brand = new byte[48];
        Encoding.ASCII.GetBytes(Brand).CopyTo(brand, 0);
        int o = (int)part * 16;
        return (BitConverter.ToUInt32(brand, o), BitConverter.ToUInt32(brand, o + 4), BitConverter.ToUInt32(brand, o + 8), BitConverter.ToUInt32(brand, o + 12));
    }
}
