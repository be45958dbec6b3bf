using Emulator.Core.Cpu;
using Iced.Intel;

namespace Emulator.Jit.Execution;

/// <summary>
/// Which of Iced's <see cref="CpuidFeature"/>s the emulated processor has. Most are a CPUID bit,
/// read from <see cref="CpuModel"/> (so advertising a feature there is all it takes to make its
/// instructions stop raising #UD); the rest are the base architecture, which every processor of
/// the model's family has, or instructions of other vendors and of processors older than the
/// model, which it lacks. An instruction whose feature the model lacks raises #UD, as on a real
/// processor whose CPUID clears the bit (the "#UD If CPUID...= 0" line of each instruction's
/// exception list in Intel SDM Vol. 2; Vol. 3A 6.15, "Interrupt 6-Invalid Opcode Exception").
/// </summary>
internal static class ModelFeatures
{
    private const int Eax = 0, Ebx = 1, Ecx = 2, Edx = 3;

    private static readonly Dictionary<CpuidFeature, Rule> Rules = BuildRules();

    private static readonly HashSet<CpuidFeature> Present = [.. Rules.Where(r => r.Value.Present()).Select(r => r.Key)];

    /// <summary>True when the model has <paramref name="feature"/>.</summary>
    public static bool Has(CpuidFeature feature) => Present.Contains(feature);

    /// <summary>True when this table says how the model stands on <paramref name="feature"/> (every Iced feature must be listed).</summary>
    public static bool Knows(CpuidFeature feature) => Rules.ContainsKey(feature);

    /// <summary>Where the feature's presence comes from: a CPUID bit, the base architecture, or why the model lacks it.</summary>
    public static string Describe(CpuidFeature feature) => Rules.TryGetValue(feature, out Rule? r) ? r.Source : "not classified";

    /// <summary>The first feature <paramref name="code"/> needs that the model lacks, or null when it has them all.</summary>
    public static CpuidFeature? Missing(Code code)
    {
        foreach (CpuidFeature f in code.CpuidFeatures())
        {
            if (!Has(f))
            {
                return f;
            }
        }

        return null;
    }

    private sealed record Rule(string Source, Func<bool> Present);

    private static Rule Bit(uint leaf, uint subleaf, int register, int bit) =>
        new($"CPUID.{leaf:X}H{(subleaf != 0 ? $".{subleaf}" : "")}:{"ABCD"[register]}X[{bit}]", () => ModelHasBit(leaf, subleaf, register, bit));

    private static Rule Either(Rule a, Rule b) => new($"{a.Source} or {b.Source}", () => a.Present() || b.Present());

    private static Rule Base(string what) => new($"base architecture: {what}", () => true);

    private static Rule Lacks(string why) => new($"not in the model: {why}", () => false);

    private static bool ModelHasBit(uint leaf, uint subleaf, int register, int bit)
    {
        // Past the highest leaf the model reports (CPUID.0:EAX, CPUID.80000000H:EAX), a feature is absent.
        uint top = CpuModel.Query(leaf & 0x8000_0000, 0, 0).Eax;
        if (leaf > top)
        {
            return false;
        }

        (uint a, uint b, uint c, uint d) = CpuModel.Query(leaf, subleaf, 0);
        uint value = register switch { Eax => a, Ebx => b, Ecx => c, _ => d };
        return (value & (1u << bit)) != 0;
    }

    // CPUID bit positions: Intel SDM Vol. 2A CPUID (Tables 3-8 "Information Returned by CPUID",
    // 3-10 and 3-11 "Feature Information"); AMD-only bits from AMD APM Vol. 3 Appendix E.
    private static Dictionary<CpuidFeature, Rule> BuildRules()
    {
        const string OtherVendor = "an instruction of another vendor's processors (the model is GenuineIntel)";
        const string Older = "an instruction of processors older than the P6 family the model belongs to";
        return new Dictionary<CpuidFeature, Rule>
        {
            [CpuidFeature.INTEL8086] = Base("8086"),
            [CpuidFeature.INTEL186] = Base("80186"),
            [CpuidFeature.INTEL286] = Base("80286"),
            [CpuidFeature.INTEL386] = Base("Intel386"),
            [CpuidFeature.INTEL486] = Base("Intel486"),
            [CpuidFeature.FPU287] = Base("287 instructions, which the 387 and later ignore (Intel SDM Vol. 1 8.3.13)"),
            [CpuidFeature.FPU387] = Base("387"),
            [CpuidFeature.CPUID] = Base("CPUID"),
            [CpuidFeature.MULTIBYTENOP] = Base("P6-family multi-byte and reserved NOPs (Intel SDM Vol. 2B NOP)"),
            [CpuidFeature.PAUSE] = Base("PAUSE, a NOP on processors before the Pentium 4"),
            [CpuidFeature.RDPMC] = Base("RDPMC (P6 family; no CPUID bit)"),
            [CpuidFeature.SMM] = Base("system-management mode, which the model never enters (RSM is #UD outside SMM)"),

            [CpuidFeature.INTEL8086_ONLY] = Lacks(Older),
            [CpuidFeature.INTEL286_ONLY] = Lacks(Older),
            [CpuidFeature.INTEL386_ONLY] = Lacks(Older),
            [CpuidFeature.INTEL386_A0_ONLY] = Lacks(Older),
            [CpuidFeature.INTEL486_A_ONLY] = Lacks(Older),
            [CpuidFeature.FPU287XL_ONLY] = Lacks(Older),
            [CpuidFeature.FPU387SL_ONLY] = Lacks(Older),
            [CpuidFeature.UMOV] = Lacks(Older),
            [CpuidFeature.MOV_TR] = Lacks("test registers, removed in the Pentium"),
            [CpuidFeature.IA64] = Lacks("JMPE exists only on Itanium processors"),
            [CpuidFeature.CL1INVMB] = Lacks("an instruction of an Intel SCC processor"),
            [CpuidFeature.UDBG] = Lacks("undocumented debug instructions of other processors"),
            [CpuidFeature.PCOMMIT] = Lacks("PCOMMIT was withdrawn before any processor shipped it"),
            [CpuidFeature.KNC] = Lacks("Knights Corner coprocessor instructions"),
            [CpuidFeature.TDX] = Lacks("TDX instructions exist only inside a trust domain or SEAM, which the model has neither"),
            [CpuidFeature.CYRIX_D3NOW] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_FPU] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_SMM] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_SMINT] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_SMINT_0F7E] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_SHR] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_DDI] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_EMMI] = Lacks(OtherVendor),
            [CpuidFeature.CYRIX_DMI] = Lacks(OtherVendor),
            [CpuidFeature.CENTAUR_AIS] = Lacks(OtherVendor),
            [CpuidFeature.PADLOCK_ACE] = Lacks(OtherVendor),
            [CpuidFeature.PADLOCK_PHE] = Lacks(OtherVendor),
            [CpuidFeature.PADLOCK_PMM] = Lacks(OtherVendor),
            [CpuidFeature.PADLOCK_RNG] = Lacks(OtherVendor),
            [CpuidFeature.PADLOCK_GMI] = Lacks(OtherVendor),
            [CpuidFeature.PADLOCK_UNDOC] = Lacks(OtherVendor),

            [CpuidFeature.X64] = Bit(0x8000_0001, 0, Edx, 29),
            [CpuidFeature.FPU] = Bit(1, 0, Edx, 0),
            [CpuidFeature.TSC] = Bit(1, 0, Edx, 4),
            [CpuidFeature.MSR] = Bit(1, 0, Edx, 5),
            [CpuidFeature.CX8] = Bit(1, 0, Edx, 8),
            [CpuidFeature.SEP] = Bit(1, 0, Edx, 11),
            [CpuidFeature.CMOV] = Bit(1, 0, Edx, 15),
            [CpuidFeature.CLFSH] = Bit(1, 0, Edx, 19),
            [CpuidFeature.MMX] = Bit(1, 0, Edx, 23),
            [CpuidFeature.FXSR] = Bit(1, 0, Edx, 24),
            [CpuidFeature.SSE] = Bit(1, 0, Edx, 25),
            [CpuidFeature.SSE2] = Bit(1, 0, Edx, 26),

            [CpuidFeature.SSE3] = Bit(1, 0, Ecx, 0),
            [CpuidFeature.PCLMULQDQ] = Bit(1, 0, Ecx, 1),
            [CpuidFeature.MONITOR] = Bit(1, 0, Ecx, 3),
            [CpuidFeature.VMX] = Bit(1, 0, Ecx, 5),
            [CpuidFeature.INVEPT] = Bit(1, 0, Ecx, 5),
            [CpuidFeature.INVVPID] = Bit(1, 0, Ecx, 5),
            [CpuidFeature.SMX] = Bit(1, 0, Ecx, 6),
            [CpuidFeature.SSSE3] = Bit(1, 0, Ecx, 9),
            [CpuidFeature.FMA] = Bit(1, 0, Ecx, 12),
            [CpuidFeature.CMPXCHG16B] = Bit(1, 0, Ecx, 13),
            [CpuidFeature.SSE4_1] = Bit(1, 0, Ecx, 19),
            [CpuidFeature.SSE4_2] = Bit(1, 0, Ecx, 20),
            [CpuidFeature.MOVBE] = Bit(1, 0, Ecx, 22),
            [CpuidFeature.POPCNT] = Bit(1, 0, Ecx, 23),
            [CpuidFeature.AES] = Bit(1, 0, Ecx, 25),
            [CpuidFeature.XSAVE] = Bit(1, 0, Ecx, 26),
            [CpuidFeature.AVX] = Bit(1, 0, Ecx, 28),
            [CpuidFeature.F16C] = Bit(1, 0, Ecx, 29),
            [CpuidFeature.RDRAND] = Bit(1, 0, Ecx, 30),

            [CpuidFeature.FSGSBASE] = Bit(7, 0, Ebx, 0),
            [CpuidFeature.SGX1] = Bit(7, 0, Ebx, 2),
            [CpuidFeature.BMI1] = Bit(7, 0, Ebx, 3),
            [CpuidFeature.HLE] = Bit(7, 0, Ebx, 4),
            [CpuidFeature.AVX2] = Bit(7, 0, Ebx, 5),
            [CpuidFeature.BMI2] = Bit(7, 0, Ebx, 8),
            [CpuidFeature.INVPCID] = Bit(7, 0, Ebx, 10),
            [CpuidFeature.RTM] = Bit(7, 0, Ebx, 11),
            [CpuidFeature.HLE_or_RTM] = Either(Bit(7, 0, Ebx, 4), Bit(7, 0, Ebx, 11)),
            [CpuidFeature.MPX] = Bit(7, 0, Ebx, 14),
            [CpuidFeature.AVX512F] = Bit(7, 0, Ebx, 16),
            [CpuidFeature.AVX512DQ] = Bit(7, 0, Ebx, 17),
            [CpuidFeature.RDSEED] = Bit(7, 0, Ebx, 18),
            [CpuidFeature.ADX] = Bit(7, 0, Ebx, 19),
            [CpuidFeature.SMAP] = Bit(7, 0, Ebx, 20),
            [CpuidFeature.AVX512_IFMA] = Bit(7, 0, Ebx, 21),
            [CpuidFeature.CLFLUSHOPT] = Bit(7, 0, Ebx, 23),
            [CpuidFeature.CLWB] = Bit(7, 0, Ebx, 24),
            [CpuidFeature.AVX512PF] = Bit(7, 0, Ebx, 26),
            [CpuidFeature.AVX512ER] = Bit(7, 0, Ebx, 27),
            [CpuidFeature.AVX512CD] = Bit(7, 0, Ebx, 28),
            [CpuidFeature.SHA] = Bit(7, 0, Ebx, 29),
            [CpuidFeature.AVX512BW] = Bit(7, 0, Ebx, 30),
            [CpuidFeature.AVX512VL] = Bit(7, 0, Ebx, 31),

            [CpuidFeature.PREFETCHWT1] = Bit(7, 0, Ecx, 0),
            [CpuidFeature.AVX512_VBMI] = Bit(7, 0, Ecx, 1),
            [CpuidFeature.PKU] = Bit(7, 0, Ecx, 3),
            [CpuidFeature.WAITPKG] = Bit(7, 0, Ecx, 5),
            [CpuidFeature.AVX512_VBMI2] = Bit(7, 0, Ecx, 6),
            [CpuidFeature.CET_SS] = Bit(7, 0, Ecx, 7),
            [CpuidFeature.GFNI] = Bit(7, 0, Ecx, 8),
            [CpuidFeature.VAES] = Bit(7, 0, Ecx, 9),
            [CpuidFeature.VPCLMULQDQ] = Bit(7, 0, Ecx, 10),
            [CpuidFeature.AVX512_VNNI] = Bit(7, 0, Ecx, 11),
            [CpuidFeature.AVX512_BITALG] = Bit(7, 0, Ecx, 12),
            [CpuidFeature.AVX512_VPOPCNTDQ] = Bit(7, 0, Ecx, 14),
            [CpuidFeature.RDPID] = Bit(7, 0, Ecx, 22),
            [CpuidFeature.KL] = Bit(7, 0, Ecx, 23),
            [CpuidFeature.CLDEMOTE] = Bit(7, 0, Ecx, 25),
            [CpuidFeature.MOVDIRI] = Bit(7, 0, Ecx, 27),
            [CpuidFeature.MOVDIR64B] = Bit(7, 0, Ecx, 28),
            [CpuidFeature.ENQCMD] = Bit(7, 0, Ecx, 29),

            [CpuidFeature.AVX512_4VNNIW] = Bit(7, 0, Edx, 2),
            [CpuidFeature.AVX512_4FMAPS] = Bit(7, 0, Edx, 3),
            [CpuidFeature.UINTR] = Bit(7, 0, Edx, 5),
            [CpuidFeature.AVX512_VP2INTERSECT] = Bit(7, 0, Edx, 8),
            [CpuidFeature.SERIALIZE] = Bit(7, 0, Edx, 14),
            [CpuidFeature.TSXLDTRK] = Bit(7, 0, Edx, 16),
            [CpuidFeature.PCONFIG] = Bit(7, 0, Edx, 18),
            [CpuidFeature.CET_IBT] = Bit(7, 0, Edx, 20),
            [CpuidFeature.AMX_BF16] = Bit(7, 0, Edx, 22),
            [CpuidFeature.AVX512_FP16] = Bit(7, 0, Edx, 23),
            [CpuidFeature.AMX_TILE] = Bit(7, 0, Edx, 24),
            [CpuidFeature.AMX_INT8] = Bit(7, 0, Edx, 25),

            [CpuidFeature.SHA512] = Bit(7, 1, Eax, 0),
            [CpuidFeature.SM3] = Bit(7, 1, Eax, 1),
            [CpuidFeature.SM4] = Bit(7, 1, Eax, 2),
            [CpuidFeature.RAO_INT] = Bit(7, 1, Eax, 3),
            [CpuidFeature.AVX_VNNI] = Bit(7, 1, Eax, 4),
            [CpuidFeature.AVX512_BF16] = Bit(7, 1, Eax, 5),
            [CpuidFeature.CMPCCXADD] = Bit(7, 1, Eax, 7),
            [CpuidFeature.FRED] = Bit(7, 1, Eax, 17),
            [CpuidFeature.LKGS] = Bit(7, 1, Eax, 18),
            [CpuidFeature.WRMSRNS] = Bit(7, 1, Eax, 19),
            [CpuidFeature.AMX_FP16] = Bit(7, 1, Eax, 21),
            [CpuidFeature.HRESET] = Bit(7, 1, Eax, 22),
            [CpuidFeature.AVX_IFMA] = Bit(7, 1, Eax, 23),
            [CpuidFeature.MSRLIST] = Bit(7, 1, Eax, 27),
            [CpuidFeature.TSE] = Bit(7, 1, Ebx, 1),
            [CpuidFeature.AVX_VNNI_INT8] = Bit(7, 1, Edx, 4),
            [CpuidFeature.AVX_NE_CONVERT] = Bit(7, 1, Edx, 5),
            [CpuidFeature.AMX_COMPLEX] = Bit(7, 1, Edx, 8),
            [CpuidFeature.AVX_VNNI_INT16] = Bit(7, 1, Edx, 10),
            [CpuidFeature.PREFETCHITI] = Bit(7, 1, Edx, 14),

            [CpuidFeature.XSAVEOPT] = Bit(0xd, 1, Eax, 0),
            [CpuidFeature.XSAVEC] = Bit(0xd, 1, Eax, 1),
            [CpuidFeature.XSAVES] = Bit(0xd, 1, Eax, 3),
            [CpuidFeature.OSS] = Bit(0x12, 0, Eax, 5),
            [CpuidFeature.PTWRITE] = Bit(0x14, 0, Ebx, 4),
            [CpuidFeature.AESKLE] = Bit(0x19, 0, Ebx, 0),
            [CpuidFeature.WIDE_KL] = Bit(0x19, 0, Ebx, 2),

            [CpuidFeature.SVM] = Bit(0x8000_0001, 0, Ecx, 2),
            [CpuidFeature.LZCNT] = Bit(0x8000_0001, 0, Ecx, 5),
            [CpuidFeature.SSE4A] = Bit(0x8000_0001, 0, Ecx, 6),
            [CpuidFeature.PREFETCHW] = Bit(0x8000_0001, 0, Ecx, 8),
            [CpuidFeature.XOP] = Bit(0x8000_0001, 0, Ecx, 11),
            [CpuidFeature.SKINIT] = Bit(0x8000_0001, 0, Ecx, 12),
            [CpuidFeature.SKINIT_or_SVM] = Either(Bit(0x8000_0001, 0, Ecx, 12), Bit(0x8000_0001, 0, Ecx, 2)),
            [CpuidFeature.LWP] = Bit(0x8000_0001, 0, Ecx, 15),
            [CpuidFeature.FMA4] = Bit(0x8000_0001, 0, Ecx, 16),
            [CpuidFeature.TBM] = Bit(0x8000_0001, 0, Ecx, 21),
            [CpuidFeature.MONITORX] = Bit(0x8000_0001, 0, Ecx, 29),
            [CpuidFeature.SYSCALL] = Bit(0x8000_0001, 0, Edx, 11),
            [CpuidFeature.RDTSCP] = Bit(0x8000_0001, 0, Edx, 27),
            [CpuidFeature.D3NOWEXT] = Bit(0x8000_0001, 0, Edx, 30),
            [CpuidFeature.D3NOW] = Bit(0x8000_0001, 0, Edx, 31),
            [CpuidFeature.CLZERO] = Bit(0x8000_0008, 0, Ebx, 0),
            [CpuidFeature.INVLPGB] = Bit(0x8000_0008, 0, Ebx, 3),
            [CpuidFeature.RDPRU] = Bit(0x8000_0008, 0, Ebx, 4),
            [CpuidFeature.MCOMMIT] = Bit(0x8000_0008, 0, Ebx, 8),
            [CpuidFeature.WBNOINVD] = Bit(0x8000_0008, 0, Ebx, 9),
            [CpuidFeature.SEV_ES] = Bit(0x8000_001f, 0, Eax, 3),
            [CpuidFeature.SEV_SNP] = Bit(0x8000_001f, 0, Eax, 4),
            [CpuidFeature.RMPQUERY] = Bit(0x8000_001f, 0, Eax, 6),
        };
    }
}
