using Emulator.Core.Memory;
using Emulator.Machines.Loaders.Linux;
using Emulator.Machines.Loaders.Multiboot;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Loaders;

/// <summary>Reads the files of a --kernel boot, tells a Linux bzImage from a multiboot kernel, and hands them to the right loader.</summary>
public static class KernelLoader
{
    /// <summary>
    /// Loads the kernel into <paramref name="memory"/>; <paramref name="rsdp"/> is the ACPI RSDP's address (0 for none);
    /// <paramref name="vgaText"/>: the VGA was put in text mode 3 for the kernel (a Linux kernel is told so in boot_params).
    /// </summary>
    public static LoadedKernel Load(AddressSpace memory, E820Map map, KernelBootConfig config, ulong rsdp, bool vgaText = false)
    {
        string tooLarge = $"is larger than the guest RAM below 4 GiB (0x{map.LowRamEnd:x} bytes): give more --memory";
        byte[] kernel = KernelFile.Read("--kernel", config.KernelPath, map.LowRamEnd, tooLarge);
        var initrds = config.InitrdPaths.Select(p => (Name: p, Data: KernelFile.Read("--initrd", p, map.LowRamEnd, tooLarge))).ToList();

        if (SetupHeader.HasMagic(kernel))
        {
            if (initrds.Count > 1)
            {
                throw new MachineConfigException($"--initrd: a Linux kernel takes one initrd, {initrds.Count} were given (concatenate them: the kernel unpacks a series of cpio archives)");
            }

            return LinuxLoader.Load(memory, map, kernel, config.KernelPath, initrds.Count == 1 ? initrds[0] : null, config.CommandLine, rsdp, config.LinuxLongModeEntry, vgaText);
        }

        MultibootHeader? multiboot = MultibootHeader.Find(kernel, config.KernelPath);
        if (multiboot is not null)
        {
            return MultibootLoader.Load(memory, map, multiboot, kernel, config.KernelPath, initrds, config.CommandLine);
        }

        throw new MachineConfigException(kernel.Length == 0
            ? $"--kernel {config.KernelPath}: the file is empty"
            : $"--kernel {config.KernelPath}: neither a Linux bzImage (no \"HdrS\" at offset 0x202) nor a multiboot kernel (no multiboot header in the first {MultibootHeader.SearchLength} bytes)");
    }
}
