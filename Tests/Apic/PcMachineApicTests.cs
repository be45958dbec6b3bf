using Emulator.Backends.Chardev;
using Emulator.Core.Cpu;
using Emulator.Core.Memory;
using Emulator.Devices.Intc;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Apic;

/// <summary>How the PC machine wires the APICs.</summary>
public sealed class PcMachineApicTests
{
    [Fact]
    public void EveryVcpuGetsALocalApicAsItsInterruptSourceAndThePagesAreMapped()
    {
        using var machine = new PcMachine(new PcConfig { Cpus = 3, MemoryBytes = 16UL << 20, DeterministicTime = true }, new NullSerialBackend());

        Assert.Equal(3, machine.LocalApics.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Same(machine.LocalApics[i], machine.Vcpus[i].InterruptSource);
            Assert.Equal(i, machine.LocalApics[i].Id);
            Assert.Equal(i != 0, machine.LocalApics[i].WaitingForStartup);
        }

        Assert.Equal(RegionKind.Mmio, machine.Platform.Memory.Find(LocalApic.DefaultBase)!.Kind);
        Assert.Same(machine.IoApic, machine.Platform.Memory.Find(IoApic.DefaultBase + 0x10)!.Device);
        Assert.Equal(0x0017_0011ul, ReadIoApicVersion(machine.Platform.Memory));
    }

    [Fact]
    public void RelocatingTheApicMovesItsPageForThatVcpuOnly()
    {
        // Intel SDM Vol. 3A 11.4.4: IA32_APIC_BASE[MAXPHYADDR-1:12] is where the processor's APIC
        // registers are; each processor addresses its own APIC, so only vCPU 0 moves here.
        const ulong moved = 0xFED4_0000, version = 0x30;
        using var machine = new PcMachine(new PcConfig { Cpus = 2, MemoryBytes = 16UL << 20, DeterministicTime = true }, new NullSerialBackend());
        AddressSpace memory = machine.Platform.Memory;
        Assert.Null(memory.Find(moved));

        using (VcpuContext.Enter(0))
        {
            lock (machine.Platform.DeviceLock)
            {
                Assert.True(machine.LocalApics[0].WriteApicBase(moved | 0x900));
            }

            Assert.Equal(0x0005_0014ul, memory.ReadUInt(new GuestPhysicalAddress(moved + version), 4));
            Assert.Equal(0xFFFF_FFFFul, memory.ReadUInt(new GuestPhysicalAddress(LocalApic.DefaultBase + version), 4));
        }

        using (VcpuContext.Enter(1))
        {
            Assert.Equal(0xFFFF_FFFFul, memory.ReadUInt(new GuestPhysicalAddress(moved + version), 4));
            Assert.Equal(0x0005_0014ul, memory.ReadUInt(new GuestPhysicalAddress(LocalApic.DefaultBase + version), 4));
        }

        // Back at the default base, nothing is mapped at the old address any more; a base over RAM
        // is not decoded (the address space has no overlays) and RAM stays RAM.
        lock (machine.Platform.DeviceLock)
        {
            Assert.True(machine.LocalApics[0].WriteApicBase(LocalApic.DefaultBase | 0x900));
            Assert.Null(memory.Find(moved));
            Assert.True(machine.LocalApics[0].WriteApicBase(0x10_0000 | 0x900));
        }

        Assert.Equal(RegionKind.Ram, memory.Find(0x10_0000)!.Kind);
        machine.LocalApics[0].Reset();
        Assert.Equal(RegionKind.Mmio, memory.Find(LocalApic.DefaultBase)!.Kind);
    }

    private static ulong ReadIoApicVersion(AddressSpace memory)
    {
        memory.WriteUInt(new GuestPhysicalAddress(IoApic.DefaultBase), 4, 1);
        return memory.ReadUInt(new GuestPhysicalAddress(IoApic.DefaultBase + 0x10), 4);
    }
}
