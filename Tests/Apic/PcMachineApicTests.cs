using Emulator.Backends.Chardev;
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

    private static ulong ReadIoApicVersion(AddressSpace memory)
    {
        memory.WriteUInt(new GuestPhysicalAddress(IoApic.DefaultBase), 4, 1);
        return memory.ReadUInt(new GuestPhysicalAddress(IoApic.DefaultBase + 0x10), 4);
    }
}
