using Emulator.Core.Cpu;
using Emulator.Kvm;
using Emulator.Kvm.Native;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// Which MSRs the KVM backend moves and how it survives a host KVM that refuses some, without
/// /dev/kvm: the kernel is played by a fake that behaves as api.rst describes KVM_GET_MSRS and
/// KVM_SET_MSRS (entries processed in order, stopping at the first refused one, the count returned).
/// </summary>
public sealed class KvmMsrTransferTests
{
    private const uint Pat = 0x277, TscAux = 0xc000_0103, Lstar = 0xc000_0082;

    // What KVM_GET_MSR_INDEX_LIST names on a host with every candidate (msrs_to_save in arch/x86/kvm/x86.c).
    private static readonly HashSet<uint> FullIndexList = [0x10, 0x174, 0x175, 0x176, Pat, 0xc000_0081, Lstar, 0xc000_0083, 0xc000_0084, 0xc000_0102, TscAux];

    // A kernel that refuses the indexes in `refused`: processes entries from the first, stops at a
    // refused one, reads back index * 3 as the value, and counts its calls.
    private sealed class FakeKvm(params uint[] refused)
    {
        public List<uint> Processed { get; } = [];

        public int Calls { get; private set; }

        public int Transfer(Span<KvmMsrEntry> entries)
        {
            Calls++;
            for (int i = 0; i < entries.Length; i++)
            {
                if (refused.Contains(entries[i].Index))
                {
                    return i;
                }

                entries[i].Data = entries[i].Index * 3ul;
                Processed.Add(entries[i].Index);
            }

            return entries.Length;
        }
    }

    private static KvmMsrEntry[] Entries(IEnumerable<uint> indexes) => [.. indexes.Select(i => new KvmMsrEntry { Index = i })];

    [Fact]
    public void OnlyCandidatesTheIndexListNamesAreMovedButMtrrsAlways()
    {
        HashSet<uint> older = [.. FullIndexList.Where(i => i is not (Pat or TscAux))];

        uint[] moved = KvmMsrState.Transferred(older, machineCheck: false);

        Assert.DoesNotContain(Pat, moved);
        Assert.DoesNotContain(TscAux, moved);
        Assert.Contains(Lstar, moved);
        // The MTRRs are never in the list (QEMU moves them by CPUID.1:EDX.MTRR): 8 variable pairs,
        // 11 fixed-range registers and IA32_MTRR_DEF_TYPE (Intel SDM Vol. 3A 12.11.1).
        Assert.Equal(16 + 11 + 1, moved.Count(Mtrr.Owns));
        Assert.DoesNotContain(moved, MachineCheck.Owns);
        Assert.Equal(moved.Length, moved.Distinct().Count());
    }

    [Fact]
    public void MachineCheckRegistersAreMovedOnlyWhenKvmTakesTheModelsBanks()
    {
        uint[] moved = KvmMsrState.Transferred(FullIndexList, machineCheck: true);

        // IA32_MCG_STATUS, IA32_MCG_CTL and four registers per bank; IA32_MCG_CAP is a constant of the model.
        Assert.Equal(2 + 4 * MachineCheck.BankCount, moved.Count(MachineCheck.Owns));
        Assert.DoesNotContain(MachineCheck.McgCap, moved);
        Assert.Single(moved, i => i == Pat);
    }

    [Theory]
    // Linux's supported_mce_cap is MCG_CTL_P | MCG_SER_P (kvm_x86_vendor_init), KVM_MAX_MCE_BANKS 32.
    [InlineData(32, 0x1000100ul, true)]
    [InlineData(10, 0x100ul, true)]
    [InlineData(9, 0x1000100ul, false)] // fewer banks than the model's 10
    [InlineData(0, 0x1000100ul, false)] // no KVM_CAP_MCE
    [InlineData(32, 0x1000000ul, false)] // no MCG_CTL_P
    public void MachineCheckFitsFollowsBankCountAndCapabilityBits(int banks, ulong supported, bool fits) =>
        Assert.Equal(fits, KvmMsrState.MachineCheckFits(banks, supported));

    [Fact]
    public void AFailedMceCapQueryMeansNoMachineCheck() => Assert.False(KvmMsrState.MachineCheckFits(32, null));

    [Fact]
    public void EverythingAcceptedTakesOneCall()
    {
        var kvm = new FakeKvm();
        KvmMsrEntry[] entries = Entries(KvmMsrState.Transferred(FullIndexList, machineCheck: true));

        List<uint> refused = KvmMsrTransfer.Run(entries, kvm.Transfer, "KVM_GET_MSRS");

        Assert.Empty(refused);
        Assert.Equal(1, kvm.Calls);
        Assert.All(entries, e => Assert.Equal(e.Index * 3ul, e.Data));
    }

    [Fact]
    public void RefusedOptionalMsrsAreSkippedAndTheRestTransferredOnceInOrder()
    {
        uint[] moved = KvmMsrState.Transferred(FullIndexList, machineCheck: true);
        // A KVM with fewer banks than asked (MC9) and one without PAT or the last fixed MTRR.
        uint[] refusedByKvm = [Pat, MachineCheck.Mc0Ctl + 36, MachineCheck.Mc0Ctl + 39, Mtrr.Fix4KC0000 + 7];
        var kvm = new FakeKvm(refusedByKvm);
        KvmMsrEntry[] entries = Entries(moved);

        List<uint> refused = KvmMsrTransfer.Run(entries, kvm.Transfer, "KVM_SET_MSRS");

        Assert.Equal(moved.Where(refusedByKvm.Contains), refused);
        Assert.Equal(moved.Where(i => !refusedByKvm.Contains(i)), kvm.Processed);
        Assert.Equal(refusedByKvm.Length + 1, kvm.Calls);
        Assert.All(entries.Where(e => !refusedByKvm.Contains(e.Index)), e => Assert.Equal(e.Index * 3ul, e.Data));
        Assert.All(entries.Where(e => refusedByKvm.Contains(e.Index)), e => Assert.Equal(0ul, e.Data));
    }

    [Fact]
    public void ALastRefusedEntryEndsTheTransfer()
    {
        var kvm = new FakeKvm(Mtrr.DefType);
        List<uint> refused = KvmMsrTransfer.Run(Entries([0x10, Mtrr.DefType]), kvm.Transfer, "KVM_GET_MSRS");

        Assert.Equal([Mtrr.DefType], refused);
        Assert.Equal(1, kvm.Calls);
    }

    [Fact]
    public void ARefusedEssentialMsrFailsLoudlyNamingIt()
    {
        var kvm = new FakeKvm(Lstar);
        KvmMsrEntry[] entries = [new() { Index = 0x10 }, new() { Index = Lstar, Data = 0xffff_ffff_8100_0000 }, new() { Index = Pat }];

        KvmException e = Assert.Throws<KvmException>(() => KvmMsrTransfer.Run(entries, kvm.Transfer, "KVM_SET_MSRS"));

        Assert.Contains("IA32_LSTAR", e.Message);
        Assert.Contains("0xc0000082", e.Message);
        Assert.Contains("0xffffffff81000000", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    public void ACountOutsideWhatWasGivenIsAnError(int count)
    {
        Assert.Throws<KvmException>(() => KvmMsrTransfer.Run(Entries([0x10, Pat, Mtrr.DefType]), _ => count, "KVM_GET_MSRS"));
    }

    [Fact]
    public void AKvmRefusingEveryOptionalMsrStillEnds()
    {
        uint[] optional = [.. KvmMsrState.Transferred(FullIndexList, machineCheck: true).Where(i => !KvmMsrState.IsEssential(i))];
        var kvm = new FakeKvm(optional);

        List<uint> refused = KvmMsrTransfer.Run(Entries(optional), kvm.Transfer, "KVM_SET_MSRS");

        Assert.Equal(optional, refused);
        Assert.Empty(kvm.Processed);
    }

    [Fact]
    public void TheSystemCallAndTimeStampMsrsAreEssentialTheCacheAndMachineCheckOnesAreNot()
    {
        Assert.All(new uint[] { 0x10, 0x174, 0x175, 0x176, 0xc000_0081, Lstar, 0xc000_0083, 0xc000_0084, 0xc000_0102 }, i => Assert.True(KvmMsrState.IsEssential(i)));
        Assert.All(new uint[] { Pat, TscAux, MachineCheck.McgStatus, MachineCheck.McgCtl, MachineCheck.Mc0Ctl, Mtrr.DefType, Mtrr.PhysBase0 }, i => Assert.False(KvmMsrState.IsEssential(i)));
    }

    [Theory]
    // Register addresses from Intel SDM Vol. 4 Table 2-2.
    [InlineData(0x40du, "IA32_MC3_STATUS")]
    [InlineData(0x427u, "IA32_MC9_MISC")]
    [InlineData(0x17bu, "IA32_MCG_CTL")]
    [InlineData(0x20fu, "IA32_MTRR_PHYSMASK7")]
    [InlineData(0x200u, "IA32_MTRR_PHYSBASE0")]
    [InlineData(0x26fu, "IA32_MTRR_FIX4K_F8000")]
    [InlineData(0x259u, "IA32_MTRR_FIX16K_A0000")]
    [InlineData(0x2ffu, "IA32_MTRR_DEF_TYPE")]
    [InlineData(0x277u, "IA32_PAT")]
    [InlineData(0xc0000103u, "IA32_TSC_AUX")]
    public void MsrsAreNamedAsTheSdmNamesThem(uint index, string name) => Assert.Equal(name, KvmMsrState.Name(index));
}
