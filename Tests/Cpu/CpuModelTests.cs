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

    [Fact]
    public void MaximumLeavesCoverTheAdvertisedOnes()
    {
        Assert.True(CpuModel.Query(0, 0, 0).Eax >= 0xd);
        Assert.True(CpuModel.Query(0x8000_0000, 0, 0).Eax >= 0x8000_0001);
    }
}
