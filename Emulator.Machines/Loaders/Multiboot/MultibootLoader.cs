using Emulator.Core.Cpu;
using Emulator.Core.Memory;
using Emulator.Machines.Acpi;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Loaders.Multiboot;

/// <summary>
/// Loads a Multiboot 0.6.96 kernel: the image from its ELF32 program headers or, when header flag 16
/// is set, from the a.out kludge address fields (3.1.3), anywhere in RAM below 4 GiB (also below
/// 1 MiB); modules page-aligned after the kernel (from 1 MiB up); the information structure (3.3);
/// and the entry state of 3.2 (EAX = 0x2BADB002, EBX = the structure, flat 32-bit protected mode,
/// paging and interrupts off).
/// </summary>
public static class MultibootLoader
{
    private const ulong Page = 4096;

    // What emu writes in low RAM for a kernel boot, which a kernel may not overlap: the BDA's EBDA
    // segment word (written by AcpiTables) and the flat GDT of the entry state.
    private static readonly (ulong Start, ulong Length, string What)[] FixedTables =
    [
        (AcpiTables.BdaEbdaSegment, 2, "the BIOS data area's EBDA pointer emu writes"),
        (FlatSegments.GdtAddress, FlatSegments.GdtSize, "the GDT emu writes for the entry state"),
    ];

    /// <summary>Loads <paramref name="image"/> (already known to hold <paramref name="header"/>) into <paramref name="memory"/>.</summary>
    public static LoadedKernel Load(AddressSpace memory, E820Map map, MultibootHeader header, byte[] image, string name,
        IReadOnlyList<(string Name, byte[] Data)> modules, string cmdline)
    {
        string where = $"--kernel {name}";
        uint unsupported = header.Flags & 0xffff & ~(MultibootHeader.PageAlignModules | MultibootHeader.MemoryInfo);
        if ((unsupported & MultibootHeader.VideoMode) != 0)
        {
            throw new MachineConfigException($"{where}: the multiboot header requires video mode information (flag 2), which emu does not provide");
        }

        if (unsupported != 0)
        {
            throw new MachineConfigException($"{where}: the multiboot header requires features emu does not know (flags 0x{unsupported:x}); Multiboot 0.6.96 3.1.2 says to refuse such a kernel");
        }

        var pieces = new List<(ulong Address, byte[] Source, int Offset, int Length, ulong MemorySize)>();
        uint entry;
        string format;
        if (header.HasAoutKludge)
        {
            entry = AoutPieces(header, image, where, pieces);
            format = "a.out kludge";
        }
        else if (Elf32Image.IsElf(image))
        {
            entry = ElfPieces(Elf32Image.Parse(image, name), image, pieces);
            format = "ELF32";
        }
        else
        {
            throw new MachineConfigException($"{where}: the multiboot header does not set the address fields (flag 16) and the file is not ELF, so emu cannot tell where to load it");
        }

        // The kernel may ask for any RAM (Multiboot 0.6.96 3.1.3 leaves the address to it; real-mode
        // test kernels load at 0x8000 and QEMU loads them there), but not the EBDA, the VGA hole or
        // the BIOS ROM (not RAM in the E820 map), nor what emu itself writes in low RAM.
        ulong kernelEnd = 0;
        foreach ((ulong address, _, _, _, ulong size) in pieces)
        {
            if (!GuestRam.Holds(map, address, size))
            {
                throw new MachineConfigException($"{where}: the kernel wants 0x{size:x} bytes at 0x{address:x}, which is not in guest RAM (RAM is 0-0x{E820Map.EbdaStart:x} below 1 MiB, then 0x{PcMemoryMap.ExtendedStart:x}-0x{map.LowRamEnd:x}; try more --memory for a kernel above that)");
            }

            foreach ((ulong start, ulong length, string what) in FixedTables)
            {
                if (address < start + length && start < address + size)
                {
                    throw new MachineConfigException($"{where}: the kernel's 0x{size:x} bytes at 0x{address:x} overlap {what} at 0x{start:x}-0x{start + length - 1:x}");
                }
            }

            kernelEnd = Math.Max(kernelEnd, address + size);
        }

        if (!pieces.Any(p => entry >= p.Address && entry < p.Address + p.MemorySize))
        {
            throw new MachineConfigException($"{where}: the entry point 0x{entry:x} is outside the loaded kernel");
        }

        // Modules follow the kernel, and never go below 1 MiB, where the EBDA and the VGA hole are near.
        var placed = new List<MultibootModule>();
        ulong next = AlignUp(Math.Max(kernelEnd, PcMemoryMap.ExtendedStart));
        foreach ((string moduleName, byte[] data) in modules)
        {
            ulong size = Math.Max((ulong)data.Length, 1);
            if (next + size > map.LowRamEnd)
            {
                throw new MachineConfigException($"--initrd {moduleName}: {data.Length} bytes do not fit in guest RAM after the kernel and earlier modules (RAM ends at 0x{map.LowRamEnd:x}; try more --memory)");
            }

            placed.Add(new MultibootModule((uint)next, (uint)(next + (ulong)data.Length), moduleName));
            next = AlignUp(next + size);
        }

        // The kernel's command line starts with its own file name, as a boot loader's "kernel" line
        // does (GRUB) and as QEMU's -kernel passes it: a kernel that builds argv from it, as
        // kvm-unit-tests does, takes the first word as argv[0] and the --append words as its arguments.
        cmdline = $"{name} {cmdline}";

        // The information block goes at its usual place unless the kernel is there (a low kernel);
        // then after the last module.
        uint infoAddress = MultibootInfo.Address;
        byte[] info = MultibootInfo.Build(map, cmdline, placed, infoAddress);
        if (pieces.Any(p => p.Address < infoAddress + (ulong)info.Length && infoAddress < p.Address + p.MemorySize))
        {
            if (next + (ulong)info.Length > map.LowRamEnd)
            {
                throw new MachineConfigException($"{where}: the kernel covers 0x{MultibootInfo.Address:x}, where emu puts the multiboot information, and there is no RAM left after it and its modules for that (RAM ends at 0x{map.LowRamEnd:x}; try more --memory)");
            }

            infoAddress = (uint)next;
            info = MultibootInfo.Build(map, cmdline, placed, infoAddress);
        }

        // Everything is checked: only now is guest memory written.
        foreach ((ulong address, byte[] source, int offset, int length, ulong size) in pieces)
        {
            memory.Write(new GuestPhysicalAddress(address), source.AsSpan(offset, length));
            GuestRam.Zero(memory, address + (ulong)length, size - (ulong)length);
        }

        for (int i = 0; i < modules.Count; i++)
        {
            memory.Write(new GuestPhysicalAddress(placed[i].Start), modules[i].Data);
        }

        memory.Write(new GuestPhysicalAddress(infoAddress), info);
        FlatSegments.WriteGdt(memory, longMode: false);
        CpuState state = FlatSegments.ProtectedMode(entry);
        state.Gpr[(int)Gpr.Rax] = MultibootHeader.BootloaderMagic;
        state.Gpr[(int)Gpr.Rbx] = infoAddress;
        return new LoadedKernel(state, $"multiboot {format} kernel, entry 0x{entry:x}, {modules.Count} module(s)", Multiboot: true);
    }

    private static uint AoutPieces(MultibootHeader h, byte[] image, string where, List<(ulong, byte[], int, int, ulong)> pieces)
    {
        // 3.1.3: header_addr is where the magic lands, so the file offset of load_addr is
        // Offset - (header_addr - load_addr).
        if (h.LoadAddr > h.HeaderAddr || h.HeaderAddr - h.LoadAddr > (uint)h.Offset)
        {
            throw new MachineConfigException($"{where}: the multiboot address fields are inconsistent (load_addr 0x{h.LoadAddr:x}, header_addr 0x{h.HeaderAddr:x}, header at file offset {h.Offset})");
        }

        long fileStart = h.Offset - (h.HeaderAddr - h.LoadAddr);
        ulong textLength;
        if (h.LoadEndAddr == 0)
        {
            textLength = (ulong)(image.Length - fileStart);
        }
        else
        {
            if (h.LoadEndAddr <= h.LoadAddr)
            {
                throw new MachineConfigException($"{where}: load_end_addr 0x{h.LoadEndAddr:x} is not above load_addr 0x{h.LoadAddr:x}");
            }

            textLength = h.LoadEndAddr - h.LoadAddr;
            if ((ulong)fileStart + textLength > (ulong)image.Length)
            {
                throw new MachineConfigException($"{where}: the multiboot header asks for {textLength} bytes from file offset {fileStart} but the file has {image.Length} bytes: truncated?");
            }
        }

        ulong memorySize = textLength;
        if (h.BssEndAddr != 0)
        {
            if (h.BssEndAddr < h.LoadAddr + textLength)
            {
                throw new MachineConfigException($"{where}: bss_end_addr 0x{h.BssEndAddr:x} is below the end of the loaded image 0x{h.LoadAddr + textLength:x}");
            }

            memorySize = h.BssEndAddr - h.LoadAddr;
        }

        pieces.Add((h.LoadAddr, image, (int)fileStart, (int)textLength, memorySize));
        return h.EntryAddr;
    }

    private static uint ElfPieces(Elf32Image elf, byte[] image, List<(ulong, byte[], int, int, ulong)> pieces)
    {
        uint entry = elf.Entry;
        bool physical = false;
        foreach (Elf32Segment s in elf.Segments)
        {
            pieces.Add((s.PhysicalAddress, image, (int)s.FileOffset, (int)s.FileSize, s.MemorySize));
            physical |= entry >= s.PhysicalAddress && entry - s.PhysicalAddress < s.MemorySize;
        }

        // A kernel linked high (p_vaddr != p_paddr) may give a virtual e_entry: paging is off at
        // entry, so translate it through the segment that holds it.
        if (!physical)
        {
            foreach (Elf32Segment s in elf.Segments)
            {
                if (entry >= s.VirtualAddress && entry - s.VirtualAddress < s.MemorySize)
                {
                    return entry - s.VirtualAddress + s.PhysicalAddress;
                }
            }
        }

        return entry;
    }

    private static ulong AlignUp(ulong v) => (v + Page - 1) & ~(Page - 1);
}
