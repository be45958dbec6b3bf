using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Core.Memory;
using Emulator.Devices.Chipset;
using Emulator.Devices.Pci;

namespace Emulator.Tests.Pci;

/// <summary>An interrupt wire that remembers its level and counts rising edges.</summary>
internal sealed class RecordingLine : IInterruptLine
{
    public bool Level { get; private set; }

    public int RisingEdges { get; private set; }

    public void Set(bool asserted)
    {
        if (asserted && !Level)
        {
            RisingEdges++;
        }

        Level = asserted;
    }
}

/// <summary>
/// A PCI machine without CPUs: 2 MiB of RAM at 0, the port bus with the host bridge at 0xCF8, the
/// i440FX at 00.0 and the PIIX3 at 01.0 whose ISA IRQ outputs are recorded. Tests play the guest
/// through real port and memory accesses.
/// </summary>
internal sealed class PciTestBench : IDisposable
{
    public const ulong RamSize = 2 << 20;

    public PciTestBench()
    {
        Memory = new AddressSpace(DeviceLock);
        Io = new IoPortBus(DeviceLock);
        Memory.AddRam("ram", new GuestPhysicalAddress(0), RamSize, Ram);
        Bus = new PciBus(Memory, Io);
        Piix3 = new Piix3(IsaIrqs);
        Bus.IntxRouter = Piix3.IntxLine;
        Bridge = new PciHostBridge(Bus, () => ResetRequests++);
        Io.Register(PciHostBridge.AddressPort, PciHostBridge.PortCount, Bridge);
        Bus.Attach(0, 0, I440fx);
        Bus.Attach(1, 0, Piix3);
    }

    public Lock DeviceLock { get; } = new();

    public HostMapping Ram { get; } = new(RamSize);

    public AddressSpace Memory { get; }

    public IoPortBus Io { get; }

    public PciBus Bus { get; }

    public PciHostBridge Bridge { get; }

    public I440fx I440fx { get; } = new();

    public Piix3 Piix3 { get; }

    public RecordingLine[] IsaIrqs { get; } = [.. Enumerable.Range(0, 16).Select(_ => new RecordingLine())];

    public int ResetRequests { get; private set; }

    /// <summary>Configuration mechanism #1 read: address to 0xCF8 (dword), data from 0xCFC + (register &amp; 3).</summary>
    public uint ConfigRead(int slot, int function, int register, int size)
    {
        Io.Write(0xcf8, 4, ConfigAddress(slot, function, register));
        return Io.Read((ushort)(0xcfc + (register & 3)), size);
    }

    /// <summary>Configuration mechanism #1 write.</summary>
    public void ConfigWrite(int slot, int function, int register, int size, uint value)
    {
        Io.Write(0xcf8, 4, ConfigAddress(slot, function, register));
        Io.Write((ushort)(0xcfc + (register & 3)), size, value);
    }

    /// <summary>What firmware does: BARs placed, decoding on, PIRQs steered to IRQ 10/11.</summary>
    public void Firmware()
    {
        Bus.AssignResources(0xc000_0000, 0xfebf_ffff, 0xc000, 0xffff);
        Piix3.ProgramDefaultRouting();
    }

    public void Dispose() => Ram.Dispose();

    private static uint ConfigAddress(int slot, int function, int register) =>
        0x8000_0000u | ((uint)slot << 11) | ((uint)function << 8) | ((uint)register & 0xfc);
}
