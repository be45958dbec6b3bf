using System.Text;
using Emulator.Core.Cpu;
using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Loaders.Linux;

/// <summary>
/// The Linux x86 boot protocol for a bzImage (Documentation/arch/x86/boot.rst), entered directly in
/// protected mode as "32-bit Boot Protocol" describes (or in long mode, "64-bit Boot Protocol"): the
/// real-mode setup code is not run, so emu fills boot_params itself.
/// <para>Low memory: GDT at 0x500, boot_params at 0x7000, page tables (64-bit entry) at 0x9000,
/// command line at 0x20000; the protected-mode kernel at 1 MiB; the initrd at the top of RAM below
/// initrd_addr_max and the ACPI tables.</para>
/// </summary>
public static class LinuxLoader
{
    /// <summary>Where boot_params is written.</summary>
    public const ulong BootParamsAddress = 0x7000;

    /// <summary>Where the command line is written.</summary>
    public const ulong CmdlineAddress = 0x2_0000;

    /// <summary>The room for the command line (up to the EBDA).</summary>
    public const ulong CmdlineRoom = E820Map.EbdaStart - CmdlineAddress;

    /// <summary>Where the protected-mode kernel is loaded (boot.rst: "loaded at 0x100000").</summary>
    public const ulong KernelAddress = 0x10_0000;

    private const ulong Page = 4096;

    /// <summary>Loads a bzImage and its initrd; nothing is written to guest memory unless every check passes.</summary>
    public static LoadedKernel Load(AddressSpace memory, E820Map map, byte[] image, string name, (string Name, byte[] Data)? initrd,
        string cmdline, ulong rsdp, bool longModeEntry, bool vgaText = false)
    {
        string where = $"--kernel {name}";
        SetupHeader h = SetupHeader.Parse(image, name);
        if (longModeEntry && (h.XLoadFlags & SetupHeader.XlfKernel64) == 0)
        {
            throw new MachineConfigException($"{where}: the kernel has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)");
        }

        byte[] cmdBytes = Encoding.UTF8.GetBytes(cmdline);
        ulong cmdMax = Math.Min(h.CmdlineSize, CmdlineRoom - 1);
        if ((ulong)cmdBytes.Length > cmdMax)
        {
            throw new MachineConfigException($"--append: {cmdBytes.Length} bytes is longer than the {cmdMax} the kernel accepts (cmdline_size)");
        }

        // The decompressor runs from pref_address (boot.rst, "pref_address": a non-relocatable kernel
        // moves there; a relocatable one never runs below it, its LOAD_PHYSICAL_ADDR) and needs
        // init_size bytes there ("init_size"); the initrd must stay clear of that.
        ulong held = (ulong)(image.Length - h.KernelOffset);
        ulong kernelSize = Math.Max(held, h.ProtectedModeSize);
        ulong runStart = Math.Max(KernelAddress, h.PrefAddress);
        ulong kernelEnd = Math.Max(KernelAddress + kernelSize, runStart + h.InitSize);
        if (kernelEnd > map.LowRamEnd)
        {
            throw new MachineConfigException($"{where}: the kernel needs RAM up to 0x{kernelEnd:x} ({(kernelEnd + (1 << 20) - 1) >> 20} MiB) to decompress; guest RAM below the PCI hole ends at 0x{map.LowRamEnd:x}: give more --memory");
        }

        uint ramdiskImage = 0, ramdiskSize = 0;
        if (initrd is (string initrdName, byte[] data))
        {
            // boot.rst: initrd_addr_max is the highest address the initrd's last byte may occupy.
            ulong top = Math.Min(map.LowRamEnd, (ulong)h.InitrdAddrMax + 1);
            ulong start = top >= (ulong)data.Length ? (top - (ulong)data.Length) & ~(Page - 1) : 0;
            if (start < kernelEnd)
            {
                throw new MachineConfigException($"--initrd {initrdName}: {data.Length} bytes do not fit in guest RAM between the kernel (ends 0x{kernelEnd:x}) and 0x{top:x}: give more --memory");
            }

            ramdiskImage = (uint)start;
            ramdiskSize = (uint)data.Length;
        }

        byte[] zeroPage = BootParams.Build(image, h, map, (uint)CmdlineAddress, ramdiskImage, ramdiskSize, rsdp, vgaText);

        memory.Write(new GuestPhysicalAddress(KernelAddress), image.AsSpan(h.KernelOffset));
        GuestRam.Zero(memory, KernelAddress + held, kernelSize - held); // syssize's last paragraph, rounded up
        if (initrd is (_, byte[] bytes))
        {
            memory.Write(new GuestPhysicalAddress(ramdiskImage), bytes);
        }

        GuestRam.Zero(memory, CmdlineAddress, (ulong)cmdBytes.Length + 1);
        memory.Write(new GuestPhysicalAddress(CmdlineAddress), cmdBytes);
        memory.Write(new GuestPhysicalAddress(BootParamsAddress), zeroPage);
        FlatSegments.WriteGdt(memory, longModeEntry);

        CpuState state;
        string entryKind;
        if (longModeEntry)
        {
            // 64-bit boot protocol: entry at the load address + 0x200, RSI = boot_params.
            state = FlatSegments.LongMode(KernelAddress + 0x200, IdentityPageTables.Write(memory));
            entryKind = "64-bit";
        }
        else
        {
            // 32-bit boot protocol: entry at the load address, ESI = boot_params, EBP = EDI = EBX = 0.
            state = FlatSegments.ProtectedMode((uint)KernelAddress);
            entryKind = "32-bit";
        }

        state.Gpr[(int)Gpr.Rsi] = BootParamsAddress;
        return new LoadedKernel(state, $"Linux bzImage, boot protocol {h.Version >> 8}.{h.Version & 0xff:d2}, {entryKind} entry");
    }
}
