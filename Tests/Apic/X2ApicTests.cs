using Emulator.Core.Cpu;
using Emulator.Devices.Intc;
using Xunit;

namespace Emulator.Tests.Apic;

/// <summary>
/// The local APIC's x2APIC mode against Intel SDM Vol. 3A 11.12: the IA32_APIC_BASE transitions of
/// Figure 11-27, the MSR register map of Table 11-6 with its #GP rules (11.12.1.2, 11.12.1.3), the
/// 32-bit x2APIC ID and the logical ID derived from it (11.12.10.2), the 64-bit ICR (11.12.9) and
/// SELF IPI (11.12.11), and that the MSRs and the xAPIC page are two ways into one register set.
/// </summary>
public sealed class X2ApicTests : IDisposable
{
    private const ulong Base = 0xFEE0_0000, En = 1ul << 11, Extd = 1ul << 10, Bsp = 1ul << 8;
    private const uint Tpr = 0x808, Ppr = 0x80A, Eoi = 0x80B, Ldr = 0x80D, Svr = 0x80F, Isr = 0x810, Irr = 0x820, Esr = 0x828,
        Icr = 0x830, LvtTimer = 0x832, InitialCount = 0x838, CurrentCount = 0x839, Dcr = 0x83E, SelfIpi = 0x83F;

    private readonly ApicTestRig _rig = new(20);

    public void Dispose() => _rig.Dispose();

    private LocalApic A0 => _rig.Apics[0];

    private static ulong? Rd(LocalApic a, uint msr) => a.TryReadMsr(msr, 0, out ulong v) ? v : null;

    private static MsrWriteResult Wr(LocalApic a, uint msr, ulong value) => a.WriteMsr(msr, value, 0);

    private void EnterX2Apic(LocalApic a)
    {
        Assert.Equal(MsrWriteResult.Done, Wr(a, LocalApic.ApicBaseMsr, Base | En | Extd | (a.Index == 0 ? Bsp : 0)));
        Assert.True(a.X2ApicMode);
        Assert.Equal(MsrWriteResult.Done, Wr(a, Svr, 0x1FF));
    }

    [Fact]
    public void TheModeTransitionsOfFigure11_27()
    {
        // xAPIC -> x2APIC is legal; x2APIC -> xAPIC is not; x2APIC -> disabled -> xAPIC is.
        Assert.True(A0.WriteApicBase(Base | En | Extd));
        Assert.Equal(Base | En | Extd | Bsp, A0.ReadApicBase());
        Assert.False(A0.WriteApicBase(Base | En));
        Assert.False(A0.WriteApicBase(Base | Extd));          // EXTD without EN: the invalid state
        Assert.True(A0.X2ApicMode);
        Assert.True(A0.WriteApicBase(Base));
        Assert.False(A0.GloballyEnabled);
        // Disabled -> x2APIC and disabled -> EXTD alone are illegal; disabled -> xAPIC is legal.
        Assert.False(A0.WriteApicBase(Base | En | Extd));
        Assert.False(A0.WriteApicBase(Base | Extd));
        Assert.True(A0.WriteApicBase(Base | En));
        Assert.False(A0.X2ApicMode);
        Assert.Equal(Base | En | Bsp, A0.ReadApicBase());
    }

    [Fact]
    public void WithoutX2ApicInTheModelExtdIsReserved()
    {
        A0.X2ApicAvailable = false;
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, LocalApic.ApicBaseMsr, Base | En | Extd | Bsp));
        Assert.False(A0.X2ApicMode);
    }

    [Fact]
    public void InXapicModeEveryX2ApicMsrFaultsAndInX2ApicModeThePageIsGone()
    {
        for (uint msr = LocalApic.X2ApicMsrFirst; msr <= LocalApic.X2ApicMsrLast; msr++)
        {
            Assert.Null(Rd(A0, msr));
            Assert.Equal(MsrWriteResult.Fault, Wr(A0, msr, 0));
        }

        var mmio = new LocalApicMmio(_rig.Bus);
        Span<byte> b = stackalloc byte[4];
        using (VcpuContext.Enter(0))
        {
            mmio.Read(0x30, b);
            Assert.Equal(0x0005_0014u, BitConverter.ToUInt32(b));
            EnterX2Apic(A0);
            mmio.Read(0x30, b);
            Assert.Equal(0xFFFF_FFFFu, BitConverter.ToUInt32(b));
        }
    }

    [Fact]
    public void OnlyTheRegistersOfTable11_6ExistAndEachOnlyInItsDirections()
    {
        EnterX2Apic(A0);
        uint[] readable = [0x802, 0x803, Tpr, Ppr, Ldr, Svr, .. Enumerable.Range(0x810, 0x18).Select(i => (uint)i), Esr, Icr,
            0x832, 0x833, 0x834, 0x835, 0x836, 0x837, InitialCount, CurrentCount, Dcr];
        uint[] writable = [Tpr, Eoi, Svr, Esr, Icr, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, InitialCount, Dcr, SelfIpi];
        for (uint msr = LocalApic.X2ApicMsrFirst; msr <= LocalApic.X2ApicMsrLast; msr++)
        {
            Assert.True(readable.Contains(msr) == Rd(A0, msr).HasValue, $"RDMSR {msr:X}");
            if (!writable.Contains(msr))
            {
                Assert.True(Wr(A0, msr, 0) == MsrWriteResult.Fault, $"WRMSR {msr:X} (read-only or reserved)");
            }
        }
    }

    [Fact]
    public void ReservedBitsAndNonZeroEoiOrEsrWritesFault()
    {
        EnterX2Apic(A0);
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, Tpr, 0x100));               // TPR bits 31:8
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, Tpr, 1ul << 32));           // bits 63:32 of a 32-bit register
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, Eoi, 1));
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, Esr, 1));
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, SelfIpi, 0x100));
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, Dcr, 4));
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, Icr, 1u << 12));            // the delivery status bit is gone in x2APIC mode
        Assert.Equal(MsrWriteResult.Fault, Wr(A0, LvtTimer, 1u << 19));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Tpr, 0x20));
        Assert.Equal(0x20ul, Rd(A0, Tpr));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Esr, 0));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Eoi, 0));
    }

    [Theory]
    [InlineData(0, 0x0000_0001u)]
    [InlineData(5, 0x0000_0020u)]
    [InlineData(15, 0x0000_8000u)]
    [InlineData(16, 0x0001_0001u)]
    [InlineData(19, 0x0001_0008u)]
    public void TheX2ApicIdIsTheInitialIdAndTheLogicalIdIsDerivedFromIt(int cpu, uint logical)
    {
        LocalApic a = _rig.Apics[cpu];
        EnterX2Apic(a);
        Assert.Equal((ulong)cpu, Rd(a, 0x802));
        Assert.Equal(logical, Rd(a, Ldr));
    }

    [Fact]
    public void TheMsrsAndThePageReachTheSameRegisters()
    {
        // Set through the page in xAPIC mode, read through the MSRs after the switch: preserved (11.12.5.1).
        ApicTestRig.Write(A0, 0x80, 0x30);
        ApicTestRig.Write(A0, 0xF0, 0x1FF);
        ApicTestRig.Write(A0, 0x320, 0x0002_0040);
        ApicTestRig.Write(A0, 0x310, 0x0500_0000);
        ApicTestRig.Write(A0, 0xD0, 0x0200_0000);
        Assert.True(A0.WriteApicBase(Base | En | Extd | Bsp));
        Assert.Equal(0x30ul, Rd(A0, Tpr));
        Assert.Equal(0x1FFul, Rd(A0, Svr));
        Assert.Equal(0x0002_0040ul, Rd(A0, LvtTimer));
        Assert.Equal(0ul, Rd(A0, Icr) >> 32);                                  // ICR[63:32] is not kept
        Assert.Equal(1ul, Rd(A0, Ldr));                                        // nor the LDR written through the page
    }

    [Fact]
    public void SelfIpiAndIcrDeliverWithThirtyTwoBitDestinations()
    {
        foreach (LocalApic a in _rig.Apics)
        {
            EnterX2Apic(a);
        }

        Assert.Equal(MsrWriteResult.Done, Wr(A0, SelfIpi, 0x41));
        Assert.True(A0.IsRequested(0x41));

        // Physical destination 17; logical cluster 1, member bit 0 (x2APIC ID 16); broadcast FFFFFFFFH.
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Icr, (17ul << 32) | 0x42));
        Assert.Equal([17], Requested(0x42));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Icr, (0x0001_0001ul << 32) | (1u << 11) | 0x43));
        Assert.Equal([16], Requested(0x43));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Icr, (0xFFFF_FFFFul << 32) | 0x44));
        Assert.Equal(Enumerable.Range(0, 20), Requested(0x44));
        Assert.Equal((0xFFFF_FFFFul << 32) | 0x44, Rd(A0, Icr));

        // An EOI through the MSR ends the interrupt taken through INTA.
        Assert.Equal(0x44, A0.Acknowledge());
        Assert.True(A0.IsInService(0x44));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Eoi, 0));
        Assert.False(A0.IsInService(0x44));
    }

    [Fact]
    public void AnIoApicMessageReachesAnX2ApicByItsEightBitDestination()
    {
        EnterX2Apic(_rig.Apics[3]);
        _rig.Bus.Deliver(new ApicMessage(0x51, ApicDeliveryMode.Fixed, Logical: false, Destination: 3));
        Assert.True(_rig.Apics[3].IsRequested(0x51));
        _rig.Bus.Deliver(new ApicMessage(0x52, ApicDeliveryMode.Fixed, Logical: false, Destination: 0xFF));
        Assert.True(_rig.Apics[3].IsRequested(0x52));
    }

    [Fact]
    public void InitKeepsX2ApicModeAndTheIdAndResetsTheRest()
    {
        // Intel SDM Vol. 3A 11.12.5.1, "x2APIC Transitions From x2APIC Mode": INIT keeps x2APIC mode
        // and the x2APIC ID, and initializes every other register.
        LocalApic a2 = _rig.Apics[2];
        EnterX2Apic(A0);
        EnterX2Apic(a2);
        Assert.Equal(MsrWriteResult.Done, Wr(a2, Tpr, 0x50));
        Assert.Equal(MsrWriteResult.Done, Wr(A0, Icr, (2ul << 32) | (5u << 8) | (1u << 14)));
        Assert.Equal(["init-wait"], _rig.Processors[2].Events);
        Assert.True(a2.X2ApicMode);
        Assert.Equal(2ul, Rd(a2, 0x802));
        Assert.Equal(0ul, Rd(a2, Tpr));
        Assert.Equal(0xFFul, Rd(a2, Svr));
    }

    [Fact]
    public void LeavingX2ApicModeResetsTheRegistersButKeepsTheLegacyId()
    {
        LocalApic a5 = _rig.Apics[5];
        EnterX2Apic(a5);
        Assert.Equal(MsrWriteResult.Done, Wr(a5, Tpr, 0x50));
        Assert.True(a5.WriteApicBase(Base));
        Assert.True(a5.WriteApicBase(Base | En));
        Assert.Equal(5u << 24, ApicTestRig.Read(a5, 0x20));
        Assert.Equal(0u, ApicTestRig.Read(a5, 0x80));
        Assert.Equal(0xFFu, ApicTestRig.Read(a5, 0xF0));
    }

    private int[] Requested(int vector) => [.. _rig.Apics.Where(a => a.IsRequested(vector)).Select(a => a.Index)];
}
