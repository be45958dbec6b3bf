using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Devices.Intc;
using Xunit;

namespace Emulator.Tests.Apic;

/// <summary>The local APIC against Intel SDM Vol. 3A chapter 11.</summary>
public sealed class LocalApicTests : IDisposable
{
    private const int Id = 0x20, Version = 0x30, Tpr = 0x80, Ppr = 0xA0, Eoi = 0xB0, Ldr = 0xD0, Dfr = 0xE0, Svr = 0xF0,
        Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280, IcrLow = 0x300, IcrHigh = 0x310, LvtTimer = 0x320,
        LvtLint0 = 0x350, LvtError = 0x370, InitialCount = 0x380, CurrentCount = 0x390, Dcr = 0x3E0;

    private readonly ApicTestRig _rig = new(3);

    public void Dispose() => _rig.Dispose();

    private LocalApic A0 => _rig.Apics[0];
    private LocalApic A1 => _rig.Apics[1];
    private LocalApic A2 => _rig.Apics[2];

    private static uint R(LocalApic a, int offset) => ApicTestRig.Read(a, offset);

    private static void W(LocalApic a, int offset, uint value) => ApicTestRig.Write(a, offset, value);

    private static void Ipi(LocalApic from, byte destination, uint low)
    {
        W(from, IcrHigh, (uint)destination << 24);
        W(from, IcrLow, low);
    }

    [Fact]
    public void RegistersHaveTheirPowerUpValues()
    {
        // Intel SDM Vol. 3A 11.4.7.1.
        foreach (LocalApic a in _rig.Apics)
        {
            Assert.Equal((uint)a.Index << 24, R(a, Id));
            Assert.Equal(0x0005_0014u, R(a, Version));
            Assert.Equal(0u, R(a, Tpr));
            Assert.Equal(0u, R(a, Ppr));
            Assert.Equal(0u, R(a, Ldr));
            Assert.Equal(0xFFFF_FFFFu, R(a, Dfr));
            Assert.Equal(0xFFu, R(a, Svr));
            for (int i = 0; i < 8; i++)
            {
                Assert.Equal(0u, R(a, Isr + (i * 16)));
                Assert.Equal(0u, R(a, Tmr + (i * 16)));
                Assert.Equal(0u, R(a, Irr + (i * 16)));
            }

            Assert.Equal(0u, R(a, Esr));
            Assert.Equal(0u, R(a, IcrLow));
            Assert.Equal(0u, R(a, IcrHigh));
            for (int lvt = LvtTimer; lvt <= LvtError; lvt += 16)
            {
                // The BSP's LINT0 is in virtual wire mode (ExtINT, unmasked): see LocalApic's remarks.
                uint expected = a.Index == 0 && lvt == LvtLint0 ? 0x700u : 0x10000u;
                Assert.Equal(expected, R(a, lvt));
            }

            Assert.Equal(0u, R(a, InitialCount));
            Assert.Equal(0u, R(a, CurrentCount));
            Assert.Equal(0u, R(a, Dcr));
        }

        Assert.Equal(0xFEE0_0900ul, A0.ReadApicBase());
        Assert.Equal(0xFEE0_0800ul, A1.ReadApicBase());
        Assert.False(A0.WaitingForStartup);
        Assert.True(A1.WaitingForStartup);
    }

    [Fact]
    public void FixedIpiReachesTheDestinationsIrrAndIsAcknowledgedIntoIsr()
    {
        _rig.EnableAll();
        Ipi(A0, 1, 0x4041); // fixed, physical, assert, vector 0x41

        Assert.True(A1.IsRequested(0x41));
        Assert.Equal(1u << 1, R(A1, Irr + 0x20));
        Assert.False(A2.IsRequested(0x41));
        Assert.False(A0.IsRequested(0x41));
        Assert.True(A1.HasInterrupt);
        Assert.Equal(0u, R(A0, IcrLow) & (1u << 12)); // delivery status idle

        Assert.Equal(0x41, A1.Acknowledge());
        Assert.False(A1.IsRequested(0x41));
        Assert.True(A1.IsInService(0x41));
        Assert.Equal(0x40u, R(A1, Ppr));

        W(A1, Eoi, 0);
        Assert.False(A1.IsInService(0x41));
        Assert.Equal(0u, R(A1, Ppr));
    }

    [Fact]
    public void IcrTriggerModeDoesNotMakeAFixedIpiLevelTriggered()
    {
        _rig.EnableAll();
        Ipi(A0, 1, (1u << 15) | (1u << 14) | 0x42);
        Assert.True(A1.IsRequested(0x42));
        Assert.Equal(0u, R(A1, Tmr + 0x20));
    }

    [Fact]
    public void DestinationShorthandsSelectSelfAllAndAllButSelf()
    {
        _rig.EnableAll();
        W(A1, IcrLow, (1u << 18) | 0x50);
        Assert.Equal([false, true, false], _rig.Apics.Select(a => a.IsRequested(0x50)));

        W(A1, IcrLow, (3u << 18) | 0x51);
        Assert.Equal([true, false, true], _rig.Apics.Select(a => a.IsRequested(0x51)));

        W(A1, IcrLow, (2u << 18) | 0x52);
        Assert.Equal([true, true, true], _rig.Apics.Select(a => a.IsRequested(0x52)));
    }

    [Fact]
    public void PhysicalBroadcastReachesEveryApic()
    {
        _rig.EnableAll();
        Ipi(A0, 0xFF, 0x60);
        Assert.All(_rig.Apics, a => Assert.True(a.IsRequested(0x60)));
    }

    [Fact]
    public void LogicalFlatModeMatchesLdrBits()
    {
        _rig.EnableAll();
        W(A0, Ldr, 0x01u << 24);
        W(A1, Ldr, 0x02u << 24);
        W(A2, Ldr, 0x04u << 24);

        Ipi(A0, 0x06, (1u << 11) | 0x70);

        Assert.Equal([false, true, true], _rig.Apics.Select(a => a.IsRequested(0x70)));
    }

    [Fact]
    public void LogicalClusterModeMatchesClusterAndMemberBits()
    {
        _rig.EnableAll();
        foreach (LocalApic a in _rig.Apics)
        {
            W(a, Dfr, 0x0FFF_FFFF);
        }

        W(A0, Ldr, 0x11u << 24); // cluster 1, member 1
        W(A1, Ldr, 0x12u << 24); // cluster 1, member 2
        W(A2, Ldr, 0x21u << 24); // cluster 2, member 1

        Ipi(A0, 0x13, (1u << 11) | 0x71);
        Assert.Equal([true, true, false], _rig.Apics.Select(a => a.IsRequested(0x71)));

        Ipi(A0, 0x21, (1u << 11) | 0x72);
        Assert.Equal([false, false, true], _rig.Apics.Select(a => a.IsRequested(0x72)));
    }

    [Fact]
    public void LowestPriorityGoesToTheApicWithTheLowestPriority()
    {
        _rig.EnableAll();
        W(A0, Tpr, 0x40);
        W(A1, Tpr, 0x20);
        W(A2, Tpr, 0x30);

        Ipi(A0, 0xFF, (1u << 8) | 0x80);

        Assert.Equal([false, true, false], _rig.Apics.Select(a => a.IsRequested(0x80)));
    }

    [Fact]
    public void TaskPriorityHoldsBackVectorsOfItsClassAndBelow()
    {
        _rig.EnableAll();
        W(A1, Tpr, 0x50);
        Assert.Equal(0x50u, R(A1, Ppr));

        Ipi(A0, 1, 0x55);
        Assert.True(A1.IsRequested(0x55));
        Assert.False(A1.HasInterrupt);

        Ipi(A0, 1, 0x61);
        Assert.True(A1.HasInterrupt);
        Assert.Equal(0x61, A1.Acknowledge());
        Assert.Equal(0x60u, R(A1, Ppr)); // ISR class above TPR

        // 0x65 is in the class in service: held until the EOI.
        Ipi(A0, 1, 0x65);
        Assert.False(A1.HasInterrupt);
        Ipi(A0, 1, 0x71);
        Assert.Equal(0x71, A1.Acknowledge());
        W(A1, Eoi, 0);
        Assert.True(A1.IsInService(0x61));
        Assert.False(A1.IsInService(0x71));
        W(A1, Eoi, 0);
        Assert.Equal(0x65, A1.Acknowledge());
        W(A1, Eoi, 0);

        // Lowering TPR releases 0x55.
        W(A1, Tpr, 0);
        Assert.Equal(0x55, A1.Acknowledge());
    }

    [Fact]
    public void AcknowledgeWithNothingDeliverableReturnsTheSpuriousVector()
    {
        W(A1, Svr, 0x1EF);
        Assert.Equal(0xEF, A1.Acknowledge());
    }

    [Fact]
    public void IllegalVectorsAreReportedInEsr()
    {
        _rig.EnableAll();
        Ipi(A0, 1, 0x0E);
        Assert.False(A1.IsRequested(0x0E));
        Assert.Equal(0u, R(A0, Esr)); // latched only by the next write
        W(A0, Esr, 0);
        Assert.Equal(1u << 5, R(A0, Esr));
        W(A0, Esr, 0);
        Assert.Equal(0u, R(A0, Esr));
    }

    [Fact]
    public void ReservedRegisterAccessSetsIllegalRegisterAddressAndRaisesTheErrorVector()
    {
        _rig.EnableAll();
        W(A0, LvtError, 0xFE);
        Assert.Equal(0u, R(A0, 0x40));
        W(A0, Esr, 0);
        Assert.Equal(1u << 7, R(A0, Esr));
        Assert.True(A0.IsRequested(0xFE));
    }

    [Fact]
    public void AnIllegalVectorInTheErrorEntryIsOneMoreErrorNotALoop()
    {
        // Found by the device fuzzer: the error entry's delivery of vector 5 is itself a receive
        // illegal vector error (11.5.3), which used to signal the error entry again, for ever.
        _rig.EnableAll();
        W(A0, LvtError, 0x05);
        Assert.Equal(0u, R(A0, 0x40));
        W(A0, Esr, 0);
        Assert.Equal((1u << 7) | (1u << 6), R(A0, Esr));
        Assert.False(A0.IsRequested(0x05));
    }

    [Fact]
    public void SoftwareDisableMasksTheLvtAndRefusesFixedInterrupts()
    {
        _rig.EnableAll();
        W(A1, LvtTimer, 0x30);
        Assert.Equal(0x30u, R(A1, LvtTimer));

        W(A1, Svr, 0xFF);
        Assert.Equal(0x10030u, R(A1, LvtTimer));
        W(A1, LvtTimer, 0x31);
        Assert.Equal(0x10031u, R(A1, LvtTimer)); // mask cannot be cleared while disabled
        Ipi(A0, 1, 0x40);
        Assert.False(A1.IsRequested(0x40));
    }

    [Fact]
    public void NmiIpiRaisesTheProcessorsNmi()
    {
        _rig.EnableAll();
        Ipi(A0, 2, 4u << 8);
        Assert.Equal(1, _rig.Processors[2].Nmis);
        Assert.Equal(0, _rig.Processors[1].Nmis);
    }

    [Fact]
    public void SmiIsIgnored()
    {
        _rig.EnableAll();
        Ipi(A0, 1, 2u << 8);
        Assert.Empty(_rig.Processors[1].Events);
        Assert.False(A1.HasInterrupt);
    }

    [Fact]
    public void InitThenStartupStartsAnApplicationProcessorOnce()
    {
        // Intel SDM Vol. 3A 9.4.4: INIT (assert), INIT de-assert, SIPI, SIPI.
        Assert.True(A1.WaitingForStartup);
        Ipi(A0, 1, (5u << 8) | (1u << 14));
        Assert.Equal(["init-wait"], _rig.Processors[1].Events);
        Ipi(A0, 1, (5u << 8) | (1u << 15)); // de-assert: nothing
        Assert.Equal(["init-wait"], _rig.Processors[1].Events);

        Ipi(A0, 1, (6u << 8) | 0x9A);
        Assert.False(A1.WaitingForStartup);
        Ipi(A0, 1, (6u << 8) | 0x9A); // the second SIPI finds the AP running
        Assert.Equal(["init-wait", "sipi 9a"], _rig.Processors[1].Events);
        Assert.Empty(_rig.Processors[2].Events);

        Ipi(A0, 1, (5u << 8) | (1u << 14));
        Assert.True(A1.WaitingForStartup);
        Ipi(A0, 1, (6u << 8) | 0x10);
        Assert.Equal(["init-wait", "sipi 9a", "init-wait", "sipi 10"], _rig.Processors[1].Events);
    }

    [Fact]
    public void StartupAllExcludingSelfStartsEveryWaitingApplicationProcessor()
    {
        W(A0, IcrLow, (3u << 18) | (6u << 8) | 0x08);
        Assert.Equal(["sipi 08"], _rig.Processors[1].Events);
        Assert.Equal(["sipi 08"], _rig.Processors[2].Events);
        Assert.Empty(_rig.Processors[0].Events);
    }

    [Fact]
    public void InitResetsApicRegistersButKeepsTheId()
    {
        _rig.EnableAll();
        W(A1, Id, 0x07u << 24);
        W(A1, Tpr, 0x30);
        W(A1, Ldr, 0x08u << 24);
        Ipi(A0, 7, (5u << 8) | (1u << 14));

        Assert.Equal(0x07u << 24, R(A1, Id));
        Assert.Equal(0u, R(A1, Tpr));
        Assert.Equal(0u, R(A1, Ldr));
        Assert.Equal(0xFFu, R(A1, Svr));
    }

    [Fact]
    public void InitToTheBootstrapProcessorRestartsIt()
    {
        Ipi(A1, 0, (5u << 8) | (1u << 14));
        Assert.Equal(["init-run"], _rig.Processors[0].Events);
        Assert.False(A0.WaitingForStartup);
    }

    [Fact]
    public void ApicBaseMsrRejectsReservedBitsAndKeepsBsp()
    {
        Assert.False(A0.WriteApicBase(0xFEE0_0900 | 1));
        Assert.False(A0.WriteApicBase(1ul << 40));
        Assert.True(A1.WriteApicBase(0xFEE0_0900));
        Assert.Equal(0xFEE0_0800ul, A1.ReadApicBase());
    }

    [Fact]
    public void GloballyDisabledApicTakesNoIpisAndPassesThePicStraightThrough()
    {
        _rig.EnableAll();
        var pic = new FakePic { Vector = 0x08 };
        A1.ExtIntSource = pic;
        Assert.False(A1.HasInterrupt); // LINT0 masked on an AP

        Assert.True(A1.WriteApicBase(0xFEE0_0000));
        Assert.False(A1.GloballyEnabled);
        Ipi(A0, 1, 0x40);
        Assert.False(A1.IsRequested(0x40));
        Assert.True(A1.HasInterrupt);
        Assert.Equal(0x08, A1.Acknowledge());
    }

    [Fact]
    public void VirtualWireLint0PassesThe8259AToTheBootstrapProcessor()
    {
        var pic = new FakePic { Vector = 0x20 };
        A0.ExtIntSource = pic;
        Assert.True(A0.HasInterrupt);
        Assert.Equal(0x20, A0.Acknowledge());
        Assert.Equal(1, pic.Acknowledged);

        // Masking LINT0 cuts the 8259A off.
        _rig.EnableAll();
        W(A0, LvtLint0, 0x10700);
        Assert.False(A0.HasInterrupt);

        // APIC vectors are served before the 8259A's.
        W(A0, LvtLint0, 0x700);
        Ipi(A1, 0, 0x90);
        Assert.Equal(0x90, A0.Acknowledge());
        Assert.Equal(0x20, A0.Acknowledge());
    }

    [Fact]
    public void Lint1InNmiModeRaisesNmiOnItsRisingEdge()
    {
        _rig.EnableAll();
        W(A0, 0x360, 4u << 8);
        A0.Lint1.Set(true);
        A0.Lint1.Set(true);
        A0.Lint1.Set(false);
        A0.Lint1.Set(true);
        Assert.Equal(2, _rig.Processors[0].Nmis);
    }

    [Fact]
    public void OneShotTimerCountsDownAtTheDividedRateAndFiresOnce()
    {
        _rig.EnableAll();
        W(A0, Dcr, 0x1);            // divide by 4
        W(A0, LvtTimer, 0x30);      // one-shot, vector 0x30
        W(A0, InitialCount, 1000);  // 4000 ns at 1 GHz / 4

        _rig.Timers.AdvanceTo(2000);
        Assert.Equal(500u, R(A0, CurrentCount));
        Assert.False(A0.IsRequested(0x30));

        _rig.Timers.AdvanceTo(3999);
        Assert.False(A0.IsRequested(0x30));
        _rig.Timers.AdvanceTo(4000);
        Assert.True(A0.IsRequested(0x30));
        Assert.Equal(0u, R(A0, CurrentCount));

        Assert.Equal(0x30, A0.Acknowledge());
        W(A0, Eoi, 0);
        _rig.Timers.AdvanceTo(100_000);
        Assert.False(A0.IsRequested(0x30));
        Assert.Equal(1000u, R(A0, InitialCount));
    }

    [Fact]
    public void PeriodicTimerReloadsFromTheInitialCount()
    {
        _rig.EnableAll();
        W(A0, Dcr, 0xB);                      // divide by 1
        W(A0, LvtTimer, (1u << 17) | 0x31);   // periodic
        W(A0, InitialCount, 20_000);

        var fired = new List<long>();
        for (long t = 1000; t <= 100_000; t += 1000)
        {
            _rig.Timers.AdvanceTo(t);
            if (A0.IsRequested(0x31))
            {
                fired.Add(t);
                Assert.Equal(0x31, A0.Acknowledge());
                W(A0, Eoi, 0);
            }
        }

        Assert.Equal([20_000L, 40_000, 60_000, 80_000, 100_000], fired);
        _rig.Timers.AdvanceTo(105_000);
        Assert.Equal(15_000u, R(A0, CurrentCount));
    }

    [Theory]
    [InlineData(0x0, 2)]
    [InlineData(0x1, 4)]
    [InlineData(0x2, 8)]
    [InlineData(0x3, 16)]
    [InlineData(0x8, 32)]
    [InlineData(0x9, 64)]
    [InlineData(0xA, 128)]
    [InlineData(0xB, 1)]
    public void DivideConfigurationSetsTheCountRate(uint dcr, long divisor)
    {
        // Intel SDM Vol. 3A Figure 11-10.
        _rig.EnableAll();
        W(A0, Dcr, dcr);
        W(A0, LvtTimer, 0x32);
        W(A0, InitialCount, 100);

        _rig.Timers.AdvanceTo((100 * divisor) - 1);
        Assert.False(A0.IsRequested(0x32));
        Assert.Equal(1u, R(A0, CurrentCount));
        _rig.Timers.AdvanceTo(100 * divisor);
        Assert.True(A0.IsRequested(0x32));
        Assert.Equal(dcr, R(A0, Dcr));
    }

    [Fact]
    public void MaskedTimerCountsWithoutInterrupting()
    {
        _rig.EnableAll();
        W(A0, Dcr, 0xB);
        W(A0, LvtTimer, 0x10033);
        W(A0, InitialCount, 50);
        _rig.Timers.AdvanceTo(25);
        Assert.Equal(25u, R(A0, CurrentCount));
        _rig.Timers.AdvanceTo(1000);
        Assert.Equal(0u, R(A0, CurrentCount));
        Assert.False(A0.IsRequested(0x33));
    }

    [Fact]
    public void ZeroInitialCountStopsTheTimer()
    {
        _rig.EnableAll();
        W(A0, LvtTimer, 0x34);
        W(A0, InitialCount, 100);
        W(A0, InitialCount, 0);
        _rig.Timers.AdvanceTo(1_000_000);
        Assert.False(A0.IsRequested(0x34));
    }

    [Fact]
    public void TscDeadlineModeFiresWhenTheTscReachesTheDeadline()
    {
        _rig.EnableAll();
        W(A0, LvtTimer, (2u << 17) | 0x35);
        W(A0, InitialCount, 5); // ignored in TSC-deadline mode
        Assert.Equal(0u, R(A0, InitialCount));

        A0.WriteTscDeadline(deadline: 10_000, tscNow: 4_000);
        Assert.Equal(10_000ul, A0.ReadTscDeadline());
        _rig.Timers.AdvanceTo(5_999);
        Assert.False(A0.IsRequested(0x35));
        _rig.Timers.AdvanceTo(6_000);
        Assert.True(A0.IsRequested(0x35));
        Assert.Equal(0ul, A0.ReadTscDeadline());
    }

    [Fact]
    public void ADeadlineTheTscHasReachedFiresDuringTheWrite()
    {
        // Intel SDM Vol. 3A 11.5.4.1: the interrupt comes when the TSC "equals or exceeds" the
        // deadline, and firing clears IA32_TSC_DEADLINE; no time needs to pass.
        _rig.EnableAll();
        W(A0, LvtTimer, (2u << 17) | 0x3A);
        A0.WriteTscDeadline(deadline: 5_000, tscNow: 5_000);
        Assert.True(A0.IsRequested(0x3A));
        Assert.Equal(0ul, A0.ReadTscDeadline());
        Assert.Equal(0x3A, A0.Acknowledge());
        W(A0, Eoi, 0);

        A0.WriteTscDeadline(deadline: 1, tscNow: 9_000);
        Assert.True(A0.IsRequested(0x3A));
        Assert.Equal(0ul, A0.ReadTscDeadline());
    }

    [Fact]
    public void WritingZeroDisarmsTheDeadline()
    {
        _rig.EnableAll();
        W(A0, LvtTimer, (2u << 17) | 0x3B);
        A0.WriteTscDeadline(deadline: 10_000, tscNow: 0);
        A0.WriteTscDeadline(deadline: 0, tscNow: 100);
        _rig.Timers.AdvanceTo(50_000);
        Assert.False(A0.IsRequested(0x3B));
        Assert.Equal(0ul, A0.ReadTscDeadline());
    }

    [Theory]
    [InlineData(0u)]        // one-shot
    [InlineData(1u << 17)]  // periodic
    public void EnteringTscDeadlineModeDisarmsTheCountAndLeavingItDisarmsTheDeadline(uint countingMode)
    {
        // Intel SDM Vol. 3A 11.5.4.1: "Transitioning between TSC-deadline mode and other timer modes
        // also disarms the timer"; in TSC-deadline mode the current count reads 0.
        _rig.EnableAll();
        W(A0, Dcr, 0xB);
        W(A0, LvtTimer, countingMode | 0x3C);
        W(A0, InitialCount, 1000);
        _rig.Timers.AdvanceTo(100);
        W(A0, LvtTimer, (2u << 17) | 0x3C);
        Assert.Equal(0u, R(A0, InitialCount));
        Assert.Equal(0u, R(A0, CurrentCount));
        _rig.Timers.AdvanceTo(10_000);
        Assert.False(A0.IsRequested(0x3C));

        A0.WriteTscDeadline(deadline: 20_000, tscNow: 10_000);
        W(A0, LvtTimer, countingMode | 0x3C);
        Assert.Equal(0ul, A0.ReadTscDeadline());
        Assert.Equal(0u, R(A0, InitialCount));
        Assert.Equal(0u, R(A0, CurrentCount));
        _rig.Timers.AdvanceTo(100_000);
        Assert.False(A0.IsRequested(0x3C));
    }

    [Fact]
    public void BetweenOneShotAndPeriodicTheCountRunsOn()
    {
        // The count runs from the initial count down to 0 at the divided rate; a periodic count
        // reloads from the initial count at 0, a one-shot stops there (Intel SDM Vol. 3A 11.5.4).
        // A mode change between the two keeps the initial count and the count under way (what
        // kvm-unit-tests' apic.flat expects of a processor, and KVM does).
        _rig.EnableAll();
        W(A0, Dcr, 0xB);
        W(A0, LvtTimer, 0x3D);
        W(A0, InitialCount, 100_000);
        _rig.Timers.AdvanceTo(40_000);
        W(A0, LvtTimer, (1u << 17) | 0x3D);   // one-shot -> periodic at count 60,000
        Assert.Equal(100_000u, R(A0, InitialCount));
        Assert.Equal(60_000u, R(A0, CurrentCount));
        _rig.Timers.AdvanceTo(100_000);
        Assert.True(A0.IsRequested(0x3D));
        Assert.Equal(0x3D, A0.Acknowledge());
        W(A0, Eoi, 0);
        _rig.Timers.AdvanceTo(130_000);
        Assert.Equal(70_000u, R(A0, CurrentCount));  // reloaded at 0

        W(A0, LvtTimer, 0x3D);                 // periodic -> one-shot at count 70,000
        Assert.Equal(70_000u, R(A0, CurrentCount));
        _rig.Timers.AdvanceTo(200_000);
        Assert.True(A0.IsRequested(0x3D));
        Assert.Equal(0x3D, A0.Acknowledge());
        W(A0, Eoi, 0);
        _rig.Timers.AdvanceTo(250_000);
        Assert.Equal(0u, R(A0, CurrentCount));  // one-shot: stays at 0

        W(A0, LvtTimer, (1u << 17) | 0x3D);   // a count already at 0 does not restart
        _rig.Timers.AdvanceTo(500_000);
        Assert.Equal(0u, R(A0, CurrentCount));
        Assert.False(A0.IsRequested(0x3D));
        Assert.Equal(100_000u, R(A0, InitialCount));
    }

    [Fact]
    public void ApicBaseMovesOnlyWithinThePhysicalAddressWidthAndSaysSo()
    {
        // Intel SDM Vol. 3A 11.4.4, Figure 11-5: the base is bits 12 to MAXPHYADDR-1 (CPUID.80000008H:EAX[7:0]).
        var moves = new List<ulong>();
        A0.BaseMoved += a => moves.Add(a.BaseAddress);
        ulong top = 1ul << (CpuModel.PhysicalAddressBits - 1);
        Assert.True(A0.WriteApicBase(top | 0xFED4_0000 | 0x900));
        Assert.Equal(top | 0xFED4_0000, A0.BaseAddress);
        Assert.False(A0.WriteApicBase((top << 1) | 0x900));
        Assert.True(A0.WriteApicBase(0xFED4_0000 | 0x900));
        Assert.True(A0.WriteApicBase(0xFED4_0000 | 0x800));   // the BSP flag is read-only: no move
        A0.Reset();
        Assert.Equal([top | 0xFED4_0000, 0xFED4_0000, LocalApic.DefaultBase], moves);
    }

    [Fact]
    public void TscDeadlineWritesOutsideThatModeAreIgnored()
    {
        _rig.EnableAll();
        W(A0, LvtTimer, 0x36);
        A0.WriteTscDeadline(100, 0);
        Assert.Equal(0ul, A0.ReadTscDeadline());
        _rig.Timers.AdvanceTo(1_000);
        Assert.False(A0.IsRequested(0x36));
    }

    [Fact]
    public void NarrowAndMisalignedWritesAreDropped()
    {
        _rig.EnableAll();
        A0.Write(Tpr, [0x40]);
        A0.Write(Tpr + 4, [0x40, 0, 0, 0]);
        Assert.Equal(0u, R(A0, Tpr));
        Span<byte> b = stackalloc byte[1];
        A0.Read(Version + 2, b);
        Assert.Equal(0x05, b[0]);
        A0.Read(0x1000 + Version, b);
        Assert.Equal(0, b[0]);
    }

    [Fact]
    public void SaveAndRestoreKeepRegistersAndTheRunningTimer()
    {
        _rig.EnableAll();
        W(A1, Tpr, 0x20);
        W(A1, Ldr, 0x04u << 24);
        Ipi(A0, 1, 0x44);
        Ipi(A0, 1, 0x58);
        Assert.Equal(0x58, A1.Acknowledge());
        W(A1, Dcr, 0xB);
        W(A1, LvtTimer, 0x37);
        W(A1, InitialCount, 1000);
        _rig.Timers.AdvanceTo(400);

        DeviceState saved = A1.Save();
        A1.Reset();
        Assert.Equal(0u, R(A1, Tpr));
        A1.Restore(saved);

        Assert.Equal(0x20u, R(A1, Tpr));
        Assert.Equal(0x04u << 24, R(A1, Ldr));
        Assert.True(A1.IsRequested(0x44));
        Assert.True(A1.IsInService(0x58));
        Assert.Equal(600u, R(A1, CurrentCount));
        _rig.Timers.AdvanceTo(1000);
        Assert.True(A1.IsRequested(0x37));
        Assert.Throws<InvalidDataException>(() => A1.Restore(saved with { Version = 99 }));
        Assert.Throws<InvalidDataException>(() => A1.Restore(saved with { Data = saved.Data[..10] }));
    }

    [Fact]
    public void MmioWindowSendsEachAccessToTheAccessingVcpusApic()
    {
        var window = new LocalApicMmio(_rig.Bus);
        Span<byte> b = stackalloc byte[4];
        window.Read(Id, b);
        Assert.Equal([0xFF, 0xFF, 0xFF, 0xFF], b.ToArray()); // no vCPU on this thread

        using (VcpuContext.Enter(2))
        {
            window.Read(Id, b);
            Assert.Equal(2, b[3]);
            window.Write(Tpr, [0x30, 0, 0, 0]);
        }

        Assert.Equal(0x30u, R(A2, Tpr));
        Assert.Equal(0u, R(A0, Tpr));
        using (VcpuContext.Enter(7))
        {
            window.Read(Id, b);
            Assert.Equal(0xFF, b[3]); // an index with no APIC
        }
    }

    private sealed class FakePic : IInterruptSource
    {
        public int Vector { get; init; }
        public int Acknowledged { get; private set; }
        public bool HasInterrupt => true;

        public int Acknowledge()
        {
            Acknowledged++;
            return Vector;
        }
    }
}
