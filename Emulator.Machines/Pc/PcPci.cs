using Emulator.Core.Block;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Net;
using Emulator.Devices.Chipset;
using Emulator.Devices.Display;
using Emulator.Devices.Ide;
using Emulator.Devices.Pci;
using Emulator.Devices.Virtio;

namespace Emulator.Machines.Pc;

/// <summary>
/// The PC's PCI side: the host bridge on ports 0xCF8-0xCFF, bus 0 with the i440FX at 00.0, the
/// PIIX3 at 01.0, virtio-rng at 02.0, one virtio-blk per <c>--drive</c> from 03.0 on and one
/// virtio-net per <c>--nic</c> in the slots after the drives. Because emu
/// boots without a BIOS it also does the firmware's part: BARs in the 32-bit hole from
/// <see cref="MemoryWindowStart"/>, decoding and bus mastering on, PIRQ A-D steered to IRQ 10/10/11/11.
/// </summary>
public sealed class PcPci : IDisposable
{
    /// <summary>Slot of the always-present virtio-rng.</summary>
    public const int RngSlot = 2;

    /// <summary>Slot of the standard VGA (the last one, away from the drives' consecutive slots).</summary>
    public const int VgaSlot = 0x1f;

    /// <summary>Slot of the first virtio-blk; further drives take the next slots.</summary>
    public const int FirstDriveSlot = 3;

    /// <summary>Where the firmware role places memory BARs (the start of the PCI hole).</summary>
    public const ulong MemoryWindowStart = PcMemoryMap.PciHoleStart;

    /// <summary>Last address of the memory window: below the IOAPIC at 0xFEC00000.</summary>
    public const ulong MemoryWindowEnd = 0xfebf_ffff;

    /// <summary>The I/O window for I/O BARs (as SeaBIOS uses).</summary>
    public const ushort IoWindowStart = 0xc000;

    private readonly List<VirtioPci> _virtio = [];

    /// <summary>Builds the bus; the drives' disks are already open and are owned from here on.</summary>
    /// <param name="platform">Memory, ports and the device lock.</param>
    /// <param name="isaIrqs">The 16 ISA IRQ inputs (PIC and IOAPIC) that PCI interrupts are steered to.</param>
    /// <param name="drives">The opened disks.</param>
    /// <param name="nics">The network cards' host ends, MACs and MTUs.</param>
    /// <param name="resetRequest">Called on a reset through port 0xCF9.</param>
    /// <param name="ide">The PIIX3's IDE function, attached at 01.1, or null for none.</param>
    /// <param name="vga">The VGA, attached at <see cref="VgaSlot"/>, or null for none.</param>
    public PcPci(MachinePlatform platform, IReadOnlyList<IInterruptLine> isaIrqs, IReadOnlyList<IBlockBackend> drives,
        IReadOnlyList<(INetBackend Backend, byte[] Mac, int Mtu)> nics, Action resetRequest, Piix3Ide? ide = null, VgaPci? vga = null)
    {
        if (FirstDriveSlot + drives.Count + nics.Count > VgaSlot)
        {
            throw new MachineConfigException($"--drive and --nic: at most {VgaSlot - FirstDriveSlot} virtio disks and network cards fit on the PCI bus");
        }

        Bus = new PciBus(platform.Memory, platform.Io, platform.GuestErrors);
        Piix3 = new Piix3(isaIrqs, platform.GuestErrors);
        Bus.IntxRouter = Piix3.IntxLine;
        HostBridge = new PciHostBridge(Bus, resetRequest);
        platform.Io.Register(PciHostBridge.AddressPort, PciHostBridge.PortCount, HostBridge);
        Bus.Attach(0, 0, new I440fx());
        Bus.Attach(1, 0, Piix3);
        Ide = ide;
        if (ide is not null)
        {
            Bus.Attach(1, 1, ide);
        }

        if (vga is not null)
        {
            Bus.Attach(VgaSlot, 0, vga);
        }

        var rng = new VirtioPci("virtio-rng@02.0", new VirtioRng(), platform.Memory, platform.GuestErrors);
        _virtio.Add(rng);
        Bus.Attach(RngSlot, 0, rng);
        for (int i = 0; i < drives.Count; i++)
        {
            int slot = FirstDriveSlot + i;
            var blk = new VirtioPci($"virtio-blk@{slot:x2}.0", new VirtioBlk(drives[i], platform.GuestErrors), platform.Memory, platform.GuestErrors);
            _virtio.Add(blk);
            Bus.Attach(slot, 0, blk);
        }

        for (int i = 0; i < nics.Count; i++)
        {
            int slot = FirstDriveSlot + drives.Count + i;
            var nic = new VirtioNet(nics[i].Backend, platform.DeviceLock, nics[i].Mac, nics[i].Mtu, platform.GuestErrors, platform.Timers);
            var pci = new VirtioPci($"virtio-net@{slot:x2}.0", nic, platform.Memory, platform.GuestErrors);
            _virtio.Add(pci);
            Nics.Add(nic);
            Bus.Attach(slot, 0, pci);
        }

        ProgramAsFirmware();
    }

    /// <summary>The network cards, in --nic order.</summary>
    public List<VirtioNet> Nics { get; } = [];

    /// <summary>PCI bus 0.</summary>
    public PciBus Bus { get; }

    /// <summary>Configuration mechanism #1.</summary>
    public PciHostBridge HostBridge { get; }

    /// <summary>The ISA bridge with the PIRQ router.</summary>
    public Piix3 Piix3 { get; }

    /// <summary>The IDE function at 01.1, or null.</summary>
    public Piix3Ide? Ide { get; }

    /// <summary>The host bridge and every function, for machine reset and saved state.</summary>
    public IEnumerable<IDevice> Devices => Bus.Functions.Cast<IDevice>().Prepend(HostBridge);

    /// <summary>
    /// After a machine reset the functions are back at their power-on state; emu, having no BIOS,
    /// programs them again.
    /// </summary>
    public void ProgramAsFirmware()
    {
        Bus.AssignResources(MemoryWindowStart, MemoryWindowEnd, IoWindowStart, 0xffff);
        Piix3.ProgramDefaultRouting();
        Ide?.EnableDecode();
    }

    /// <summary>Flushes every disk to stable storage and closes it: nothing the guest wrote is lost.</summary>
    public void Dispose()
    {
        foreach (VirtioPci v in _virtio)
        {
            v.Dispose();
        }

        _virtio.Clear();
    }
}
