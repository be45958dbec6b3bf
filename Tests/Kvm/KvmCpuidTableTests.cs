using Emulator.Core.Cpu;
using Emulator.Kvm;
using Emulator.Kvm.Native;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>The CPUID table given to KVM: the model's leaves, feature bits filtered by what the host offers.</summary>
public sealed class KvmCpuidTableTests
{
    private static KvmCpuidEntry2 Supported(uint leaf, uint ecx, uint edx, uint index = 0, uint eax = 0) => new() { Function = leaf, Index = index, Eax = eax, Ebx = ~0u, Ecx = ecx, Edx = edx };

    // Everything the model's feature bits can name, leaf 0DH's XCR0 bits (subleaf 0) and XSAVE extensions (subleaf 1) included.
    private static KvmCpuidEntry2[] HostWithEverything(uint leaf1Edx = ~0u, uint xcr0 = ~0u, uint leaf1Ecx = ~0u) =>
        [Supported(1, leaf1Ecx, leaf1Edx), Supported(7, ~0u, ~0u), Supported(0xd, 0, ~0u, 0, xcr0), Supported(0xd, 0, 0, 1, ~0u), Supported(0x8000_0001, ~0u, ~0u), Supported(0x8000_0007, 0, ~0u)];

    [Fact]
    public void EveryLeafOfTheModelIsGivenWithTheModelsValuesWhenTheHostOffersEverything()
    {
        (KvmCpuidEntry2[] entries, IReadOnlyList<string> missing) = KvmCpuidTable.Build(apicId: 3, processorCount: 4, HostWithEverything(), KvmApicFeatures.InKernel(tscDeadlineCapability: true));

        Assert.Empty(missing);
        Assert.Equal(CpuModel.Leaves.SelectMany(l => CpuModel.Subleaves(l).Select(s => (l, s))), entries.Select(e => (e.Function, e.Index)));
        foreach (KvmCpuidEntry2 e in entries)
        {
            Assert.Equal(CpuModel.Query(e.Function, e.Index, 3, 4), (e.Eax, e.Ebx, e.Ecx, e.Edx));
            Assert.Equal(e.Function is 4 or 7 or 0xb or 0xd ? KvmCpuidEntry2.SignificantIndex : 0u, e.Flags);
        }

        // Leaf 0DH: x87, SSE, AVX and PKRU state, XSAVEOPT, and the AVX and PKRU components' sizes and offsets (Intel SDM Vol. 1 Table 13-1).
        Assert.Equal(0x207u, entries.Single(e => e.Function == 0xd && e.Index == 0).Eax);
        Assert.Equal((8u, 2688u), entries.Single(e => e.Function == 0xd && e.Index == 9) is var pkru ? (pkru.Eax, pkru.Ebx) : default);
        Assert.Equal(1u, entries.Single(e => e.Function == 0xd && e.Index == 1).Eax);
        Assert.Equal((256u, 576u), entries.Single(e => e.Function == 0xd && e.Index == 2) is var avx ? (avx.Eax, avx.Ebx) : default);
    }

    [Fact]
    public void AHostWithoutAvxOrPkruStateClearsTheirXcr0Bits()
    {
        (KvmCpuidEntry2[] entries, IReadOnlyList<string> missing) = KvmCpuidTable.Build(apicId: 0, processorCount: 1, HostWithEverything(xcr0: 3), KvmApicFeatures.InKernel(tscDeadlineCapability: true));

        Assert.Equal(["CPUID.DH:EAX[2]", "CPUID.DH:EAX[9]"], missing);
        Assert.Equal(3u, entries.Single(e => e.Function == 0xd && e.Index == 0).Eax);
    }

    [Fact]
    public void AFeatureTheHostLacksIsClearedAndNamedButVendorAndSignatureStay()
    {
        // A host without CMOV (CPUID.1:EDX bit 15, Intel SDM Vol. 2A Table 3-11).
        KvmCpuidEntry2[] host = HostWithEverything(leaf1Edx: ~(1u << 15));

        (KvmCpuidEntry2[] entries, IReadOnlyList<string> missing) = KvmCpuidTable.Build(apicId: 0, processorCount: 1, host, KvmApicFeatures.InKernel(tscDeadlineCapability: true));

        Assert.Equal(["CPUID.1H:EDX[15]"], missing);
        KvmCpuidEntry2 leaf1 = entries.Single(e => e.Function == 1);
        Assert.Equal(CpuModel.Query(1, 0, 0).Edx & ~(1u << 15), leaf1.Edx);
        Assert.Equal(CpuModel.Query(1, 0, 0).Eax, leaf1.Eax);
        KvmCpuidEntry2 leaf0 = entries.Single(e => e.Function == 0);
        Assert.Equal(CpuModel.Query(0, 0, 0), (leaf0.Eax, leaf0.Ebx, leaf0.Ecx, leaf0.Edx));
    }

    [Fact]
    public void TheInKernelApicGivesTscDeadlineFromTheCapabilityThoughSupportedCpuidLacksIt()
    {
        // KVM_GET_SUPPORTED_CPUID does not report CPUID.1:ECX[24]; KVM_CAP_TSC_DEADLINE_TIMER does (api.rst).
        KvmCpuidEntry2[] host = HostWithEverything(leaf1Ecx: ~CpuModel.TscDeadline);

        (KvmCpuidEntry2[] with, IReadOnlyList<string> missingWith) = KvmCpuidTable.Build(0, 1, host, KvmApicFeatures.InKernel(tscDeadlineCapability: true));
        (KvmCpuidEntry2[] without, IReadOnlyList<string> missingWithout) = KvmCpuidTable.Build(0, 1, host, KvmApicFeatures.InKernel(tscDeadlineCapability: false));

        Assert.Empty(missingWith);
        Assert.Equal(CpuModel.Query(1, 0, 0).Ecx, with.Single(e => e.Function == 1).Ecx);
        Assert.Equal(["CPUID.1H:ECX[24]"], missingWithout);
        Assert.Equal(0u, without.Single(e => e.Function == 1).Ecx & CpuModel.TscDeadline);
        Assert.NotEqual(0u, without.Single(e => e.Function == 1).Ecx & CpuModel.X2Apic);
    }

    [Fact]
    public void BehindTheUserIrqchipNeitherX2ApicNorTscDeadlineIsOffered()
    {
        // The machine's APIC model cannot be reached through the x2APIC MSRs under KVM, so CPUID
        // must not promise x2APIC or TSC-deadline mode even where KVM itself reports them.
        KvmCpuidEntry2[] host = HostWithEverything();

        (KvmCpuidEntry2[] entries, IReadOnlyList<string> missing) = KvmCpuidTable.Build(0, 1, host, KvmApicFeatures.UserIrqchip);

        Assert.Equal(["CPUID.1H:ECX[21]", "CPUID.1H:ECX[24]"], missing);
        Assert.Equal(CpuModel.Query(1, 0, 0).Ecx & ~(CpuModel.X2Apic | CpuModel.TscDeadline), entries.Single(e => e.Function == 1).Ecx);
    }

    [Fact]
    public void DeviationNamesChangedRegistersAndAddedLeaves()
    {
        CpuidLeaf[] asked = [new(0, 0, 1, 2, 3, 4), new(1, 0, 5, 6, 0, 0x8030)];
        CpuidLeaf[] applied = [new(0, 0, 1, 2, 3, 4), new(1, 0, 5, 6, 0x76d8_1203, 0x1f8b_f9ff), new(0xd, 0, 7, 0, 0, 0), new(0xd, 1, 1, 0, 0, 0)];

        CpuidDeviation d = CpuidDeviation.Between(asked, applied, []);

        Assert.False(d.IsEmpty);
        Assert.Equal(["CPUID.1H:ECX", "CPUID.1H:EDX"], d.Changed.Select(c => c.ToString()));
        Assert.Equal(0x1f8b_f9ffu, d.Changed[1].Applied);
        Assert.Equal(2, d.Added.Count);
        Assert.Equal("it changes CPUID.1H:ECX, CPUID.1H:EDX and adds leaf DH (2 subleaves)", d.ToString());
        Assert.True(CpuidDeviation.Between(asked, asked, []).IsEmpty);
    }
}
