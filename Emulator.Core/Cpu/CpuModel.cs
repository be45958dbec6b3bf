using System.Numerics;
using System.Text;

namespace Emulator.Core.Cpu;

/// <summary>
/// The one CPU model emu presents through CPUID, whichever backend runs the guest: the software CPU
/// answers CPUID from <see cref="Query(uint, uint, int, int)"/>, and KVM is given the same table (<see cref="Leaves"/>),
/// with the feature bits of <see cref="FeatureBits"/> cleared where the host cannot provide them.
/// It advertises only what the software CPU implements; features join as their instructions land.
/// The topology is emu's <c>--smp N</c>: one package of N cores with one thread each, the initial
/// APIC ID (and x2APIC ID) of vCPU i being i (CPUID leaves 01H and 0BH).
/// </summary>
public static class CpuModel
{
    /// <summary>CPUID.0:EBX,EDX,ECX.</summary>
    public const string Vendor = "GenuineIntel";

    /// <summary>CPUID.80000002-80000004 (NUL-padded to 48 bytes).</summary>
    public const string Brand = "emu software CPU";

    /// <summary>The highest basic leaf (CPUID.0:EAX): 16H, the processor frequency.</summary>
    public const uint MaxBasicLeaf = 0x16;

    /// <summary>
    /// The rate of the time-stamp counter and of the local APIC's timer clock (the "core crystal
    /// clock" of CPUID.15H) in the software CPU: both count host nanoseconds.
    /// </summary>
    public const uint TscHz = 1_000_000_000;

    /// <summary>The highest extended leaf (CPUID.80000000:EAX).</summary>
    public const uint MaxExtendedLeaf = 0x8000_0008;

    /// <summary>Physical address width (CPUID.80000008:EAX[7:0]); the software CPU's page walks use it for reserved-bit checks.</summary>
    public const int PhysicalAddressBits = 40;

    // Leaf 1 EDX (Intel SDM Vol. 2A Table 3-11): FPU (0), PSE (3), TSC (4), MSR (5), PAE (6), CX8 (8),
    // APIC (9: the PC machine gives every vCPU a local APIC), SEP (11), PGE (13), CMOV (15),
    // PSE-36 (17), CLFSH (19: CLFLUSH), MMX (23), FXSR (24), SSE (25), SSE2 (26); and the registers
    // of MachineCheck, Mtrr and Pat: MCE (7: CR4.MCE), MTRR (12), MCA (14), PAT (16).
    private const uint Leaf1Edx = 1u | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 11)
        | (1u << 13) | (1u << 15) | (1u << 17) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26)
        | Mce | MtrrBit | Mca | PatBit;

    /// <summary>CPUID.01H:EDX[7], MCE: the machine-check exception and CR4.MCE (Intel SDM Vol. 3B 15.2).</summary>
    public const uint Mce = 1u << 7;

    /// <summary>
    /// CPUID.01H:EDX[28], HTT: CPUID.01H:EBX[23:16] is valid (Intel SDM Vol. 2A Table 3-11), set when
    /// the package holds more than one logical processor. A property of the model's topology, not a
    /// host feature (<see cref="FeatureBits"/> leaves it alone).
    /// </summary>
    public const uint Htt = 1u << 28;

    /// <summary>CPUID.01H:EDX[12], MTRR: IA32_MTRRCAP and the MTRRs (Intel SDM Vol. 3A 12.11.1).</summary>
    public const uint MtrrBit = 1u << 12;

    /// <summary>CPUID.01H:EDX[14], MCA: IA32_MCG_CAP and the machine-check architecture (Intel SDM Vol. 3B 15.2).</summary>
    public const uint Mca = 1u << 14;

    /// <summary>CPUID.01H:EDX[16], PAT: IA32_PAT (Intel SDM Vol. 3A 12.12.1).</summary>
    public const uint PatBit = 1u << 16;

    // Leaf 1 EBX bits 15:8: the CLFLUSH line size in 8-byte units, valid when CLFSH is set (64 bytes).
    private const uint ClflushLineSize = (Cache.LineSize / 8) << 8;

    // Leaf 1 ECX (Intel SDM Vol. 2A Table 3-10): SSE3 (0), SSSE3 (9), FMA (12), CMPXCHG16B (13),
    // PCID (17), SSE4.1 (19), SSE4.2 (20), x2APIC (21), MOVBE (22), POPCNT (23), TSC-deadline timer (24),
    // XSAVE (26), AVX (28), F16C (29), RDRAND (30).
    // OSXSAVE (27) is not a constant: it reflects CR4.OSXSAVE (see Query's overload with the state).
    private const uint Leaf1Ecx = 1u | (1u << 9) | (1u << 12) | (1u << 13) | (1u << 17) | (1u << 19) | (1u << 20) | (1u << 22) | (1u << 23)
        | (1u << 26) | (1u << 28) | (1u << 29) | (1u << 30) | X2Apic | TscDeadline;

    /// <summary>CPUID.1:ECX bit 27, OSXSAVE: set while CR4.OSXSAVE is (Intel SDM Vol. 2A Table 3-10).</summary>
    public const uint OsXsaveBit = 1u << 27;

    /// <summary>CPUID.01H:ECX[21]: the local APIC has x2APIC mode (Intel SDM Vol. 3A 11.12).</summary>
    public const uint X2Apic = 1u << 21;

    /// <summary>CPUID.01H:ECX[24]: the local APIC timer has TSC-deadline mode (Intel SDM Vol. 3A 11.5.4.1).</summary>
    public const uint TscDeadline = 1u << 24;

    // Leaf 7 subleaf 0 EBX (Intel SDM Vol. 2A Table 3-8, structured extended features): FSGSBASE (0),
    // IA32_TSC_ADJUST (1), BMI1 (3), AVX2 (5), SMEP (7), BMI2 (8), INVPCID (10), RDSEED (18), ADX (19), SMAP (20).
    private const uint Leaf7Ebx = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 5) | (1u << 7) | (1u << 8) | (1u << 10) | (1u << 18) | (1u << 19) | (1u << 20);

    /// <summary>
    /// CPUID.80000007H:EDX[8], invariant TSC: the counter runs at a constant rate in every power
    /// state (Intel SDM Vol. 3B 18.17.1). Both backends' counters do (host time, or the host's own
    /// invariant TSC under KVM, which clears the bit where the host lacks it). With it and
    /// IA32_TSC_ADJUST, Linux trusts the TSC without its clocksource watchdog, which otherwise
    /// compares it with the timer tick and, when a busy host delays ticks, falls back to the ACPI PM
    /// timer (a port read for every clock read).
    /// </summary>
    public const uint InvariantTsc = 1u << 8;

    // Leaf 0DH subleaf 1 EAX (Intel SDM Vol. 2A Table 3-8): XSAVEOPT (0). XSAVEC (1), XGETBV with
    // ECX = 1 (2) and XSAVES/XRSTORS (3) are not offered, so those instructions are #UD.
    private const uint LeafDSubleaf1Eax = 1u << 0;

    // Leaf 7 subleaf 0 ECX: UMIP (2), PKU (3), RDPID (22). OSPKE (4) is CR4.PKE, which the processor adds.
    private const uint Leaf7Ecx = (1u << 2) | (1u << 3) | (1u << 22);

    /// <summary>CPUID.(EAX=07H,ECX=0):ECX[4], OSPKE: set by the processor while CR4.PKE is set; never in <see cref="Query(uint, uint, int, int)"/>.</summary>
    public const uint OsPke = 1u << 4;

    // Leaf 7 subleaf 0 EDX: SERIALIZE (14), IA32_ARCH_CAPABILITIES (29, the MSR below). With
    // SERIALIZE, Linux's sync_core() (after every text_poke of alternatives, jump labels and static
    // calls) is that instruction instead of an IRET to itself.
    private const uint Leaf7Edx = (1u << 14) | (1u << 29);

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

    /// <summary>Every leaf the model defines (see <see cref="Subleaves"/> for those indexed by ECX); any other leaf is out of range.</summary>
    /// <remarks>
    /// Leaves 15H and 16H (the TSC and processor frequencies) are answered by <see cref="Query(uint, uint, int, int)"/>
    /// but not listed: they describe the software CPU's clocks. Under KVM the TSC runs at the host's
    /// rate, so KVM is not given them and answers zeros there, from which a guest calibrates.
    /// </remarks>
    public static IReadOnlyList<uint> Leaves { get; } = [0, 1, 2, 4, 7, 0xb, 0xd, 0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0003, 0x8000_0004, 0x8000_0007, 0x8000_0008];

    /// <summary>True for the leaves whose output depends on ECX (Intel SDM Vol. 2A CPUID: leaves 04H, 07H, 0BH and 0DH).</summary>
    public static bool IsIndexed(uint leaf) => leaf is 4 or 7 or 0xb or 0xd;

    /// <summary>
    /// The subleaves of <paramref name="leaf"/> that carry information: 0 for an unindexed leaf or
    /// leaf 7 (the model reports no further subleaf); for leaf 04H, one per cache of
    /// <see cref="CacheHierarchy"/> and the null one after them; for leaf 0BH, the SMT and core levels and the
    /// first invalid level after them; for leaf 0DH, 0 and 1 and one per extended state component
    /// (Intel SDM Vol. 1 13.2).
    /// </summary>
    public static IReadOnlyList<uint> Subleaves(uint leaf) => leaf switch
    {
        4 => [.. Enumerable.Range(0, CacheHierarchy.Count + 1).Select(i => (uint)i)],
        0xb => [0, 1, 2],
        0xd => [0, 1, .. XsaveLayout.Extended.Select(c => (uint)c.Index)],
        _ => [0],
    };

    /// <summary>
    /// What CPUID returns for <paramref name="leaf"/> on the vCPU whose initial APIC ID is
    /// <paramref name="apicId"/>, in a machine of <paramref name="processorCount"/> vCPUs (one package
    /// of that many single-thread cores).
    /// </summary>
    /// <remarks>
    /// A leaf above the highest basic or extended leaf returns the highest basic leaf, as Intel
    /// processors do (Intel SDM Vol. 2A, CPUID, "If a value entered for CPUID.EAX is higher than the
    /// maximum input value ... the data for the highest basic information leaf is returned"); KVM
    /// applies the same rule to a guest whose vendor is GenuineIntel.
    /// </remarks>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf, int apicId, int processorCount = 1)
    {
        return leaf switch
        {
            0 => (MaxBasicLeaf, Word(Vendor, 0), Word(Vendor, 8), Word(Vendor, 4)),
            // EBX[31:24] the initial APIC ID, EBX[23:16] the addressable IDs in the package (valid with HTT).
            1 => (Signature, (uint)apicId << 24 | (AddressableIds(processorCount) << 16) | ClflushLineSize, Leaf1Ecx,
                Leaf1Edx | (processorCount > 1 ? Htt : 0)),
            // Leaf 2: AL = 01H (execute once), then descriptor FFH, "CPUID leaf 2 does not report
            // cache descriptor information, use CPUID leaf 4 to query cache parameters" (Intel SDM
            // Vol. 2A CPUID, Table 3-12); the other bytes are the null descriptor, bit 31 of each
            // register clear (the descriptors are valid).
            2 => (0xFF01, 0, 0, 0),
            4 => CacheParameters(subleaf, processorCount),
            3 or 5 or 6 => (0, 0, 0, 0),
            7 => subleaf == 0 ? (0u, Leaf7Ebx, Leaf7Ecx, Leaf7Edx) : (0u, 0u, 0u, 0u),
            >= 8 and < 0xb => (0, 0, 0, 0),
            0xb => ExtendedTopology(subleaf, apicId, processorCount),
            0xc => (0, 0, 0, 0),
            0xd => XsaveLeaf(subleaf, XsaveLayout.X87),
            // Leaf 15H: TSC = crystal clock (ECX, in Hz) x EBX / EAX; the APIC timer also counts the
            // crystal clock, as Linux assumes (Intel SDM Vol. 2A CPUID, Table 3-8; Vol. 3A 11.5.4).
            // Leaf 16H: base and maximum frequency, and the bus (reference) frequency, in MHz.
            > 0xd and < 0x15 => (0, 0, 0, 0),
            0x15 => (1, 1, TscHz, 0),
            0x16 => (TscHz / 1_000_000, TscHz / 1_000_000, 100, 0),
            0x8000_0000 => (MaxExtendedLeaf, 0, 0, 0),
            0x8000_0001 => (0, 0, ExtendedLeaf1Ecx, ExtendedLeaf1Edx),
            >= 0x8000_0002 and <= 0x8000_0004 => BrandPart(leaf - 0x8000_0002),
            0x8000_0007 => (0, 0, 0, InvariantTsc),
            >= 0x8000_0005 and < 0x8000_0008 => (0, 0, 0, 0),
            0x8000_0008 => (AddressSizes, 0, 0, 0),
            _ => Query(MaxBasicLeaf, 0, apicId, processorCount),
        };
    }

    /// <summary>
    /// What CPUID returns on a vCPU in a given state: the leaves that report control-register
    /// settings follow them, CPUID.1:ECX.OSXSAVE (bit 27) reflecting CR4.OSXSAVE and
    /// CPUID.(EAX=0DH,ECX=0):EBX giving the XSAVE area size for the components enabled in
    /// <paramref name="xcr0"/> (Intel SDM Vol. 2A CPUID, Table 3-8; Vol. 1 13.2). The overload
    /// without the state answers for a processor after RESET (CR4.OSXSAVE clear, XCR0 = 1).
    /// </summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf, int apicId, int processorCount, bool osXsave, ulong xcr0)
    {
        (uint a, uint b, uint c, uint d) = Query(leaf, subleaf, apicId, processorCount);
        if (leaf == 1 && osXsave)
        {
            c |= OsXsaveBit;
        }
        else if (leaf == 0xd && subleaf == 0)
        {
            b = (uint)XsaveLayout.StandardSize(xcr0);
        }

        return (a, b, c, d);
    }

    // Leaf 0BH, extended topology (Intel SDM Vol. 2A CPUID, Table 3-8; Vol. 3A 9.9.1): per level
    // (ECX[7:0] = subleaf), EAX[4:0] the right shift of the x2APIC ID that gives the next level's
    // ID, EBX[15:0] the logical processors at this level, ECX[15:8] the level type (1 SMT, 2 core,
    // 0 invalid: no more levels), and in EDX, at every subleaf, the x2APIC ID. One thread per core:
    // the SMT level shifts by 0 and holds 1; the core level shifts by enough bits for every core's ID.
    private static (uint, uint, uint, uint) ExtendedTopology(uint subleaf, int apicId, int processorCount) => subleaf switch
    {
        0 => (0, 1, 0 | (1u << 8), (uint)apicId),
        1 => ((uint)CoreIdBits(processorCount), (uint)Math.Max(processorCount, 1), 1 | (2u << 8), (uint)apicId),
        _ => (0, 0, subleaf & 0xFF, (uint)apicId),
    };

    // Bits of the APIC ID that number the cores of the package: the nearest power of two not below
    // the count (Intel SDM Vol. 3A 9.4.5, 9.9.1).
    private static int CoreIdBits(int processorCount) => processorCount <= 1 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)processorCount - 1);

    // CPUID.01H:EBX[23:16]: the APIC IDs reserved for the package's logical processors (a power of
    // two; an 8-bit field).
    private static uint AddressableIds(int processorCount) => (uint)Math.Min(1 << CoreIdBits(processorCount), 0xFF);

    /// <summary>A cache of the model, as CPUID leaf 04H describes it.</summary>
    /// <param name="Level">1, 2 or 3.</param>
    /// <param name="Type">Leaf 04H's cache type: 1 data, 2 instruction, 3 unified.</param>
    /// <param name="Ways">Ways of associativity.</param>
    /// <param name="Sets">Number of sets.</param>
    /// <param name="SharedByPackage">True for a cache all cores of the package share; false for one per core.</param>
    /// <param name="Inclusive">Leaf 04H EDX[1]: the cache holds what the lower levels hold.</param>
    public readonly record struct Cache(int Level, int Type, int Ways, int Sets, bool SharedByPackage, bool Inclusive)
    {
        /// <summary>The line size in bytes, every cache's (and CLFLUSH's, CPUID.01H:EBX[15:8]).</summary>
        public const int LineSize = 64;

        /// <summary>Size in bytes: ways x partitions (1) x line size x sets (Intel SDM Vol. 2A CPUID leaf 04H).</summary>
        public long Size => (long)Ways * LineSize * Sets;
    }

    /// <summary>
    /// The caches the model reports in CPUID leaf 04H, in subleaf order. A plausible present-day
    /// core, fixed whatever <c>--smp</c> says: per core a 32 KiB 8-way L1 data cache and a 32 KiB
    /// 8-way L1 instruction cache and a 2 MiB 16-way L2; one 16 MiB 16-way L3 that every core of the
    /// package shares and that includes the lower levels. Lines are 64 bytes, one partition. They
    /// describe nothing a guest can measure (neither backend models caches: under KVM the host's
    /// caches do the work); Linux builds /sys/devices/system/cpu/cpuN/cache from them and its
    /// scheduler groups CPUs by the last-level cache they share.
    /// </summary>
    public static IReadOnlyList<Cache> CacheHierarchy { get; } =
    [
        new(Level: 1, Type: 1, Ways: 8, Sets: 64, SharedByPackage: false, Inclusive: false),
        new(Level: 1, Type: 2, Ways: 8, Sets: 64, SharedByPackage: false, Inclusive: false),
        new(Level: 2, Type: 3, Ways: 16, Sets: 2048, SharedByPackage: false, Inclusive: false),
        new(Level: 3, Type: 3, Ways: 16, Sets: 16384, SharedByPackage: true, Inclusive: true),
    ];

    // Leaf 04H, deterministic cache parameters (Intel SDM Vol. 2A CPUID, Table 3-8), one subleaf per
    // cache and then the null type (EAX[4:0] = 0) that ends the list. EAX: [4:0] type, [7:5] level,
    // [8] self-initializing, [9] fully associative (no), [25:14] the addressable IDs of the logical
    // processors sharing the cache - 1, [31:26] the addressable IDs of the package's cores - 1.
    // EBX: [11:0] line size - 1, [21:12] partitions - 1, [31:22] ways - 1. ECX: sets - 1. EDX: [0]
    // WBINVD/INVD acts on the lower levels of the sharing processors too (0), [1] inclusive, [2]
    // complex indexing (no). Both ID counts are read as "the nearest power of 2 not smaller than
    // 1 + the field", so they are the power of two of leaf 0BH's core-level shift (one thread per
    // core: the core count and the processor count are the same), as on real processors; EAX[31:26]
    // has 6 bits, so past 64 cores it says 64 and leaf 0BH alone gives the topology.
    private static (uint, uint, uint, uint) CacheParameters(uint subleaf, int processorCount)
    {
        if (subleaf >= CacheHierarchy.Count)
        {
            return (0, 0, 0, 0);
        }

        Cache c = CacheHierarchy[(int)subleaf];
        uint packageIds = (1u << CoreIdBits(processorCount)) - 1;
        uint sharing = c.SharedByPackage ? packageIds : 0;
        uint eax = (uint)c.Type | ((uint)c.Level << 5) | (1u << 8) | (Math.Min(sharing, 0xFFFu) << 14) | (Math.Min(packageIds, 0x3Fu) << 26);
        uint ebx = (Cache.LineSize - 1) | (0u << 12) | ((uint)(c.Ways - 1) << 22);
        return (eax, ebx, (uint)(c.Sets - 1), c.Inclusive ? 2u : 0u);
    }

    // Leaf 0DH (Intel SDM Vol. 1 13.2, Vol. 2A Table 3-8). Subleaf 0: the XCR0 bits that may be set
    // (EDX:EAX), the size for the enabled ones (EBX) and for all (ECX). Subleaf 1: the XSAVE
    // extensions (EAX). Subleaf i > 1: component i's size (EAX) and standard-format offset (EBX);
    // ECX bit 0 (supervisor, IA32_XSS) and bit 1 (64-byte aligned when compacted) are clear.
    private static (uint, uint, uint, uint) XsaveLeaf(uint subleaf, ulong xcr0) => subleaf switch
    {
        0 => ((uint)XsaveLayout.Supported, (uint)XsaveLayout.StandardSize(xcr0), (uint)XsaveLayout.StandardSize(XsaveLayout.Supported), (uint)(XsaveLayout.Supported >> 32)),
        1 => (LeafDSubleaf1Eax, 0, 0, 0),
        _ when subleaf < 64 && XsaveLayout.Find((int)subleaf) is { } c => ((uint)c.Size, (uint)c.Offset, 0, 0),
        _ => (0, 0, 0, 0),
    };

    /// <summary>
    /// The bits of a leaf that are feature flags: a backend may advertise such a bit only when it
    /// implements the feature, so it clears those the host lacks. Other bits (vendor, signature,
    /// brand, leaf counts) are the model's and are reported as they are.
    /// </summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) FeatureBits(uint leaf, uint subleaf = 0) => (leaf, subleaf) switch
    {
        (1, _) => (0, 0, ~0u, ~Htt),
        (0x8000_0001, _) => (0, 0, ~0u, ~0u),
        (0x8000_0007, _) => (0, 0, 0, InvariantTsc),
        (7, _) => (0, ~0u, ~0u, Leaf7Edx),
        // The XCR0 bits the host's XSAVE can manage, and its XSAVE extensions.
        (0xd, 0) => (~0u, 0, 0, ~0u),
        (0xd, 1) => (~0u, 0, 0, 0),
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
