using Emulator.Core.Cpu;
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
        if (Kernel.Multiboot)
        {
            BiosInterruptVectors.Set(Platform.Memory);
            lock (Platform.DeviceLock)
            {
                BiosInterruptSetup.Set(Platform.Io, LocalApics[0]);
            }
        }

        Vcpus[0].SetState(WithFirmwareMtrrs(Kernel.Entry));
        for (int i = 1; i < Vcpus.Count; i++)
        {
            Vcpus[i].SetState(WithFirmwareMtrrs(CpuState.AtReset()));
        }
    }

    /// <summary>
    /// <paramref name="state"/> with the MTRRs firmware leaves enabled before it starts an operating
    /// system: after RESET they are disabled, which makes all memory uncacheable (Intel SDM Vol. 3A
    /// 12.11.2.1), and Linux 6.1 then leaves the PAT unused too ("x86/PAT: MTRRs disabled, skipping
    /// PAT initialization too."). As Firecracker's loader does (MSR_MTRRdefType = E | WB), every
    /// vCPU gets IA32_MTRR_DEF_TYPE = E | WB and no range: all memory write-back, which is also what
    /// the emulated memory does whatever the MTRRs say. Every vCPU alike, as firmware sets up the
    /// application processors the same way as the bootstrap one (12.11.8).
    /// </summary>
    private static CpuState WithFirmwareMtrrs(CpuState state)
    {
        CpuState s = state.Clone();
        s.Msrs[Mtrr.DefType] = Mtrr.Enabled | Mtrr.WriteBack;
        return s;
    }
}
