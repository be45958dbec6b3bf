using Emulator.Machines.Acpi;
using Emulator.Machines.Loaders;
using Emulator.Machines.Smbios;

namespace Emulator.Machines.Pc;

/// <summary>Direct kernel boot (--kernel): the part of the machine that plays the firmware's role.</summary>
public sealed partial class PcMachine
{
    /// <summary>The memory map firmware would report; the loaders and the ACPI tables use it.</summary>
    public E820Map MemoryMap => E820Map.Build(_config.MemoryBytes, Math.Min((ulong)(_config.Firmware ?? DemoRom.Image).Length, FirmwareImage.LegacyWindow));

    /// <summary>What the kernel loader did, or null when the machine boots firmware.</summary>
    public LoadedKernel? Kernel { get; private set; }

    // With --kernel, emu does what firmware and a boot loader would: ACPI and SMBIOS tables, then the kernel,
    // its initrd or modules and its boot information in RAM, and vCPU 0 at the kernel's entry.
    // Run again at every machine reset, since the guest may have overwritten all of it.
    private void BootKernel()
    {
        // A real-mode kernel is started by firmware, from what PcFwCfg put in fw_cfg.
        if (_config.Kernel is null || _config.Kernel.RealModeEntry)
        {
            return;
        }

        E820Map map = MemoryMap;
        AcpiTables.Build(map, _config.Cpus, _config.Hpet).Write(Platform.Memory);
        KernelBootSmbios.Build(map, _config).Write(Platform.Memory);

        // No VGA BIOS runs: emu leaves the VGA in text mode 3 as one would, for a kernel's console on the screen.
        if (Vga is not null)
        {
            VgaTextMode.Set(Platform.Io);
        }

        Kernel = KernelLoader.Load(Platform.Memory, map, _config.Kernel, AcpiTables.RsdpAddress, vgaText: Vga is not null);
        Vcpus[0].SetState(Kernel.Entry);
    }
}
