using Emulator.Backends.Chardev;
using Emulator.Core.Input;
using Emulator.Core.Machine;
using Emulator.Devices.Timers;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Platform;

/// <summary>The platform devices as the PC assembles them: ports, IRQ routing to the 8259A pair, the BSP's INTR, CMOS fields.</summary>
public sealed class PcMachineWiringTests : IDisposable
{
    private const byte MasterBase = 0x08, SlaveBase = 0x70;

    private readonly PcMachine _pc = new(new PcConfig { DeterministicTime = true, MemoryBytes = 64UL << 20, RtcStart = new DateTime(2030, 6, 15, 12, 0, 0) }, new NullSerialBackend());

    public void Dispose() => _pc.Dispose();

    private void Out(ushort port, byte value) => _pc.Platform.Io.Write(port, 1, value);

    private byte In(ushort port) => (byte)_pc.Platform.Io.Read(port, 1);

    private void InitializePics()
    {
        byte[][] sequences = [[0x20, 0x11, MasterBase, 0x04, 0x01], [0xA0, 0x11, SlaveBase, 0x02, 0x01]];
        foreach (byte[] s in sequences)
        {
            Out(s[0], s[1]);
            Out((ushort)(s[0] + 1), s[2]);
            Out((ushort)(s[0] + 1), s[3]);
            Out((ushort)(s[0] + 1), s[4]);
        }
    }

    [Fact]
    public void ThePicPairReachesTheBootstrapProcessorThroughLint0()
    {
        // Virtual-wire mode (Intel SDM Vol. 3A 10.5.1, MP spec 3.6.2.2): the BSP's local APIC is the
        // vCPU's interrupt source and passes the 8259A's ExtINT through LINT0.
        Assert.Same(_pc.LocalApics[0], _pc.Vcpus[0].InterruptSource);
        Assert.Same(_pc.Pic, _pc.ExtIntSource);
        InitializePics();
        Out(PcMachine.Com1Port + 4, 0x08);
        Out(PcMachine.Com1Port + 1, 0x02);
        Assert.True(_pc.Vcpus[0].InterruptSource!.HasInterrupt);
        Assert.Equal(MasterBase + 4, _pc.Vcpus[0].InterruptSource!.Acknowledge());
    }

    [Fact]
    public void Com1InterruptsOnIrq4()
    {
        InitializePics();
        Out(PcMachine.Com1Port + 4, 0x08); // MCR OUT2: the board's IRQ gate
        Out(PcMachine.Com1Port + 1, 0x02); // IER: THR empty

        Assert.True(_pc.Pic.HasInterrupt);
        Assert.Equal(MasterBase + 4, _pc.Pic.Acknowledge());
    }

    [Fact]
    public void PitCounter0InterruptsOnIrq0()
    {
        InitializePics();
        Out(0x43, 0x34);
        Out(0x40, 0xA9);
        Out(0x40, 0x04); // 1193: about 1 ms

        _pc.Platform.Timers.AdvanceTo(1_000_000 + 1_000);

        Assert.True(_pc.Pic.HasInterrupt);
        Assert.Equal(MasterBase + 0, _pc.Pic.Acknowledge());
    }

    // IA-PC HPET 1.0a 2.3.9: with LEG_RT_CNF "the 8254 timer will not cause any interrupts"; the
    // HPET's timer 0 interrupts on IRQ 0 instead.
    [Fact]
    public void HpetLegacyRouteSilencesThePitAndInterruptsOnIrq0()
    {
        Emulator.Core.Memory.AddressSpace memory = _pc.Platform.Memory;
        Assert.Equal(0x8086_A201ul, memory.ReadUInt(new(Hpet.DefaultBase), 4));
        InitializePics();
        Out(0x43, 0x34);
        Out(0x40, 0xA9);
        Out(0x40, 0x04); // about 1 ms, periodic
        memory.WriteUInt(new(Hpet.DefaultBase + 0x10), 4, Hpet.EnableCnf | Hpet.LegacyRouteCnf);
        _pc.Platform.Timers.AdvanceTo(_pc.Platform.Timers.Clock.NowNanoseconds + 5_000_000);
        Assert.False(_pc.Pic.HasInterrupt);

        ulong counter = memory.ReadUInt(new(Hpet.DefaultBase + 0xF0), 8);
        memory.WriteUInt(new(Hpet.DefaultBase + 0x100), 4, 1 << 2); // Tn_INT_ENB_CNF, one-shot, edge
        memory.WriteUInt(new(Hpet.DefaultBase + 0x108), 8, counter + 1000);
        _pc.Platform.Timers.AdvanceTo(_pc.Platform.Timers.Clock.NowNanoseconds + 20_000);
        Assert.True(_pc.Pic.HasInterrupt);
        Assert.Equal(MasterBase + 0, _pc.Pic.Acknowledge());

        // Route off: the PIT's next period reaches IRQ 0 again.
        Out(0x20, 0x20); // EOI
        memory.WriteUInt(new(Hpet.DefaultBase + 0x10), 4, Hpet.EnableCnf);
        _pc.Platform.Timers.AdvanceTo(_pc.Platform.Timers.Clock.NowNanoseconds + 1_100_000);
        Assert.True(_pc.Pic.HasInterrupt);
        Assert.Equal(MasterBase + 0, _pc.Pic.Acknowledge());
    }

    [Fact]
    public void WithoutTheHpetNothingAnswersAtItsAddress()
    {
        using var pc = new PcMachine(new PcConfig { DeterministicTime = true, MemoryBytes = 64UL << 20, Hpet = false }, new NullSerialBackend());
        Assert.Null(pc.Hpet);
        Assert.Equal(0xFFFF_FFFFul, pc.Platform.Memory.ReadUInt(new(Hpet.DefaultBase), 4));
    }

    [Fact]
    public void RtcInterruptsOnIrq8ThroughTheSlave()
    {
        InitializePics();
        Out(0x70, Mc146818.RegisterB);
        Out(0x71, Mc146818.Uie | Mc146818.Hours24);

        _pc.Platform.Timers.AdvanceTo(1_000_000_001);

        Assert.True(_pc.Pic.HasInterrupt);
        Assert.Equal(SlaveBase + 0, _pc.Pic.Acknowledge());
        Out(0x70, Mc146818.Hours);
        Assert.Equal(0x12, In(0x71));
    }

    [Fact]
    public void KeyboardInterruptsOnIrq1()
    {
        InitializePics();
        Out(0x64, 0x60);
        Out(0x60, 0x01); // command byte: keyboard interrupt

        _pc.Keyboard.KeyDown(Ps2Key.Enter);

        Assert.Equal(MasterBase + 1, _pc.Pic.Acknowledge());
        Assert.Equal(0x5A, In(0x60));
    }

    [Fact]
    public void ResetPathsAndA20ReachTheMachine()
    {
        Out(0x92, 0x00);
        Out(0x64, 0xDD);
        Assert.False(_pc.Platform.A20.Enabled);
        Out(0x92, 0x02);
        Assert.True(_pc.Platform.A20.Enabled);

        Out(0x64, 0xFE);

        Assert.Equal(MachineRequest.Reset, _pc.Platform.Control.Request);
    }

    [Fact]
    public void CmosDescribesTheConfiguredMemory()
    {
        Out(0x70, 0x17);
        int extended = In(0x71);
        Out(0x70, 0x18);
        extended |= In(0x71) << 8;
        Out(0x70, 0x35);
        int above16M = In(0x71) << 8;
        Out(0x70, 0x34);
        above16M |= In(0x71);

        Assert.Equal(63 * 1024, extended);
        Assert.Equal(48 * 16, above16M);
    }
}
