using System.Numerics;
using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using Iced.Intel;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>CPUID advertises an instruction-set feature only when every form of its instructions has a handler.</summary>
public sealed class CpuModelTests
{
    // (leaf, register 0-3 = EAX/EBX/ECX/EDX, bit, the mnemonics the feature promises); Intel SDM Vol. 2A CPUID.
    private static readonly (uint Leaf, int Register, int Bit, Mnemonic[] Mnemonics)[] Features =
    [
        (1, 3, 4, [Mnemonic.Rdtsc]),
        (1, 3, 5, [Mnemonic.Rdmsr, Mnemonic.Wrmsr]),
        (1, 3, 8, [Mnemonic.Cmpxchg8b]),
        (1, 3, 15, [Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova,
            Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg]),
        (1, 2, 13, [Mnemonic.Cmpxchg16b]),
        (1, 2, 22, [Mnemonic.Movbe]),
        (1, 2, 23, [Mnemonic.Popcnt]),
        (7, 1, 3, [Mnemonic.Andn, Mnemonic.Bextr, Mnemonic.Blsi, Mnemonic.Blsmsk, Mnemonic.Blsr, Mnemonic.Tzcnt]),
        (1, 2, 26, [Mnemonic.Xsave, Mnemonic.Xsave64, Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xgetbv, Mnemonic.Xsetbv]),
        (1, 2, 28, [Mnemonic.Vaddps, Mnemonic.Vbroadcastss, Mnemonic.Vperm2f128, Mnemonic.Vinsertf128, Mnemonic.Vextractf128, Mnemonic.Vmaskmovps,
            Mnemonic.Vmaskmovpd, Mnemonic.Vzeroupper, Mnemonic.Vzeroall, Mnemonic.Vpermilps, Mnemonic.Vpermilpd, Mnemonic.Vtestps, Mnemonic.Vtestpd,
            Mnemonic.Vcmpps, Mnemonic.Vblendvps, Mnemonic.Vdpps, Mnemonic.Vroundps, Mnemonic.Vmovaps, Mnemonic.Vpcmpestri, Mnemonic.Vldmxcsr]),
        (7, 1, 5, [Mnemonic.Vpaddb, Mnemonic.Vpbroadcastb, Mnemonic.Vpbroadcastq, Mnemonic.Vpermd, Mnemonic.Vpermps, Mnemonic.Vpermq, Mnemonic.Vpermpd,
            Mnemonic.Vperm2i128, Mnemonic.Vinserti128, Mnemonic.Vextracti128, Mnemonic.Vpmaskmovd, Mnemonic.Vpmaskmovq, Mnemonic.Vpsllvd,
            Mnemonic.Vpsravd, Mnemonic.Vgatherdps, Mnemonic.Vpgatherqq, Mnemonic.Vpblendd, Mnemonic.Vmpsadbw]),
        (1, 2, 12, [Mnemonic.Vfmadd132ps, Mnemonic.Vfmsub213sd, Mnemonic.Vfnmadd231pd, Mnemonic.Vfnmsub132ss, Mnemonic.Vfmaddsub213ps, Mnemonic.Vfmsubadd231pd]),
        (1, 2, 29, [Mnemonic.Vcvtph2ps, Mnemonic.Vcvtps2ph]),
        (7, 1, 19, [Mnemonic.Adcx, Mnemonic.Adox]),
        (0x8000_0001, 2, 0, [Mnemonic.Lahf, Mnemonic.Sahf]),
        (0x8000_0001, 2, 5, [Mnemonic.Lzcnt]),
    ];

    [Fact]
    public void AdvertisedFeaturesAreImplemented()
    {
        var missing = new List<string>();
        foreach ((uint leaf, int register, int bit, Mnemonic[] mnemonics) in Features)
        {
            (uint eax, uint ebx, uint ecx, uint edx) = CpuModel.Query(leaf, 0, 0);
            uint value = register switch { 0 => eax, 1 => ebx, 2 => ecx, _ => edx };
            if ((value & (1u << bit)) == 0)
            {
                continue;
            }

            missing.AddRange(Enum.GetValues<Code>()
                .Where(c => mnemonics.Contains(c.Mnemonic()) && c.ToOpCode() is { Encoding: EncodingKind.Legacy or EncodingKind.VEX, Mode64: true, DecoderOption: DecoderOptions.None } && !HandlerTable.IsImplemented(c))
                .Select(c => $"leaf {leaf:x} bit {bit}: {c}"));
        }

        Assert.True(missing.Count == 0, "advertised but not implemented:\n" + string.Join("\n", missing));
    }

    [Theory]
    [InlineData(0, 1, 0)]
    [InlineData(1, 2, 1)]
    [InlineData(2, 3, 2)]
    [InlineData(5, 8, 3)]
    [InlineData(8, 9, 4)]
    public void ExtendedTopologyGivesTheX2ApicIdAndOneThreadPerCore(int apicId, int processors, uint coreShift)
    {
        // Intel SDM Vol. 2A CPUID leaf 0BH (Table 3-8): EDX the x2APIC ID at every subleaf; ECX[7:0]
        // the subleaf, ECX[15:8] the level type (1 SMT, 2 core, 0 invalid); EBX[15:0] the logical
        // processors at the level; EAX[4:0] the x2APIC ID shift to the next level's ID.
        Assert.Equal((0u, 1u, 0x100u, (uint)apicId), CpuModel.Query(0xb, 0, apicId, processors));
        Assert.Equal((coreShift, (uint)processors, 0x201u, (uint)apicId), CpuModel.Query(0xb, 1, apicId, processors));
        Assert.Equal((0u, 0u, 2u, (uint)apicId), CpuModel.Query(0xb, 2, apicId, processors));
        Assert.True(CpuModel.Query(0, 0, 0).Eax >= 0xb);
        Assert.True(CpuModel.IsIndexed(0xb));

        // CPUID.01H: EBX[31:24] the initial APIC ID, the same as the x2APIC ID's low byte (9.4.5);
        // with more than one logical processor HTT is set and EBX[23:16] reserves a power of two of
        // APIC IDs for the package, as many as leaf 0BH's core-level shift covers.
        (_, uint ebx, _, uint edx) = CpuModel.Query(1, 0, apicId, processors);
        Assert.Equal((uint)apicId, ebx >> 24);
        Assert.Equal(processors > 1, (edx & (1u << 28)) != 0);
        Assert.Equal(processors > 1 ? 1u << (int)coreShift : 1u, (ebx >> 16) & 0xFF);

        // Leaf 04H: the package's core IDs (EAX[31:26] + 1, rounded up to a power of two) are those
        // leaf 0BH's core-level shift spans (Intel SDM Vol. 2A CPUID leaf 04H; Vol. 3A 9.9.1).
        uint coreIds = (CpuModel.Query(4, 0, apicId, processors).Eax >> 26) + 1;
        Assert.Equal(1u << (int)coreShift, BitOperations.RoundUpToPowerOf2(coreIds));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void LeafFourDescribesTheDocumentedCachesAsTheSdmEncodesThem(int processors)
    {
        // Decoded as Intel SDM Vol. 2A CPUID leaf 04H (Table 3-8) says, subleaf by subleaf until the
        // null type: EAX[4:0] type (1 data, 2 instruction, 3 unified), [7:5] level, [8] self-
        // initializing, [9] fully associative, [25:14] logical processors sharing - 1, [31:26] cores
        // - 1; EBX[11:0] line size - 1, [21:12] partitions - 1, [31:22] ways - 1; ECX sets - 1; size
        // = ways x partitions x line size x sets.
        var caches = new List<(uint Type, uint Level, long Size, uint Ways, uint Line, uint Sets, uint Sharing)>();
        for (uint subleaf = 0; ; subleaf++)
        {
            (uint eax, uint ebx, uint ecx, uint edx) = CpuModel.Query(4, subleaf, 0, processors);
            if ((eax & 0x1F) == 0)
            {
                Assert.Equal((0u, 0u, 0u, 0u), (eax, ebx, ecx, edx));
                Assert.Equal((uint)CpuModel.Subleaves(4).Count - 1, subleaf);
                break;
            }

            uint line = (ebx & 0xFFF) + 1, partitions = ((ebx >> 12) & 0x3FF) + 1, ways = (ebx >> 22) + 1, sets = ecx + 1;
            Assert.Equal(1u, (eax >> 8) & 1);
            Assert.Equal(0u, (eax >> 9) & 1);
            Assert.Equal(1u, partitions);
            caches.Add((eax & 0x1F, (eax >> 5) & 7, (long)ways * partitions * line * sets, ways, line, sets, ((eax >> 14) & 0xFFF) + 1));
            Assert.True(subleaf < 16, "no null subleaf ends leaf 04H");
        }

        // The hierarchy CpuModel.CacheHierarchy documents: L1d and L1i 32 KiB 8-way, L2 2 MiB
        // 16-way per core, L3 16 MiB 16-way shared by the package; 64-byte lines.
        uint packageIds = BitOperations.RoundUpToPowerOf2((uint)processors);
        Assert.Equal(
            [(1u, 1u, 32L << 10, 8u, 64u, 64u, 1u), (2u, 1u, 32L << 10, 8u, 64u, 64u, 1u), (3u, 2u, 2L << 20, 16u, 64u, 2048u, 1u), (3u, 3u, 16L << 20, 16u, 64u, 16384u, packageIds)],
            caches);

        // CPUID.01H:EBX[15:8], the CLFLUSH line size in 8-byte units, agrees with the caches' lines.
        Assert.Equal(64u / 8, (CpuModel.Query(1, 0, 0, processors).Ebx >> 8) & 0xFF);

        // Leaf 02H: AL = 01H and descriptor FFH, "use CPUID leaf 4" (Table 3-12); no other descriptor.
        Assert.Equal((0xFF01u, 0u, 0u, 0u), CpuModel.Query(2, 0, 0, processors));
        Assert.True(CpuModel.IsIndexed(4));
        Assert.Contains(4u, CpuModel.Leaves);
    }

    [Fact]
    public void MaximumLeavesCoverTheAdvertisedOnes()
    {
        Assert.True(CpuModel.Query(0, 0, 0).Eax >= 0xd);
        Assert.True(CpuModel.Query(0x8000_0000, 0, 0).Eax >= 0x8000_0001);
    }
}
