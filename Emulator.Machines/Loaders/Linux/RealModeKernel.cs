using System.Buffers.Binary;
using System.Text;

namespace Emulator.Machines.Loaders.Linux;

/// <summary>
/// A bzImage booted the way boot.rst's "Loading The Rest of The Kernel" and "Running the Kernel"
/// describe for a real-mode boot loader: its setup code runs first, in real mode, on top of a BIOS.
/// Linux does not need that (emu enters it directly in protected mode, <see cref="LinuxLoader"/>),
/// but images that only borrow the Linux header do: iPXE's ipxe.lkrn has no 32-bit entry
/// (code32_start 0) and calls the BIOS from its setup code. emu boots those through SeaBIOS and its
/// own option ROM (Roms/optionroms/linuxboot.asm), which copies these pieces from fw_cfg and jumps
/// to the setup code. The layout is decided here, once, and the setup header is filled in as the
/// boot loader must; the ROM only copies.
/// <para>Layout: setup at 0x10000 (segment 0x1000), its heap and stack up to 0x1E000, the command
/// line at 0x1E000; the protected-mode part at 1 MiB (LOADED_HIGH); the initrd at the top of RAM
/// below initrd_addr_max, clear of the last MiB, where SeaBIOS keeps its tables.</para>
/// </summary>
public sealed record RealModeKernel(byte[] Setup, byte[] Kernel, byte[] Initrd, uint InitrdAddress, byte[] Cmdline)
{
    /// <summary>Where the setup code (boot sector and setup sectors) goes: a segment boundary below the EBDA.</summary>
    public const uint SetupAddress = 0x1_0000;

    /// <summary>End of the setup code's stack and heap, from the setup address (boot.rst's sample boot loader uses 0xE000).</summary>
    public const uint HeapEnd = 0xe000;

    /// <summary>Where the command line goes: right after the heap.</summary>
    public const uint CmdlineAddress = SetupAddress + HeapEnd;

    /// <summary>Where the protected-mode part goes (LOADED_HIGH).</summary>
    public const uint KernelAddress = 0x10_0000;

    /// <summary>RAM at the top of low memory the initrd stays out of: SeaBIOS's high zone and the ACPI tables it installs.</summary>
    public const ulong FirmwareReserve = 1 << 20;

    /// <summary>type_of_loader: 0xFF, "undefined" (boot.rst assigns no id to emu).</summary>
    public const byte LoaderType = 0xff;

    // The command line ends at 0x20000 at the latest.
    private const uint CmdlineRoom = 0x2000;

    private const uint Page = 4096;

    /// <summary>
    /// True when <paramref name="image"/> is a bzImage that cannot be entered in protected mode:
    /// code32_start is 0 (boot.rst: the address of the protected-mode entry, which Linux sets to
    /// its load address). Such an image needs the real-mode path and a BIOS.
    /// </summary>
    public static bool Needed(ReadOnlySpan<byte> image) =>
        SetupHeader.HasMagic(image) && image.Length >= SetupHeader.Code32StartOffset + 4
        && BinaryPrimitives.ReadUInt32LittleEndian(image[SetupHeader.Code32StartOffset..]) == 0;

    /// <summary>True when the file at <paramref name="path"/> is such an image (false when it cannot be read: the loader reports that).</summary>
    public static bool Needed(string path)
    {
        try
        {
            using FileStream f = File.OpenRead(path);
            byte[] head = new byte[SetupHeader.Code32StartOffset + 4];
            return f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && Needed(head);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Reads the files of <paramref name="config"/> and lays them out for a machine whose RAM below 4 GiB ends at <paramref name="lowRamEnd"/>.</summary>
    public static RealModeKernel Build(KernelBootConfig config, ulong lowRamEnd)
    {
        string tooLarge = $"is larger than the guest RAM below 4 GiB (0x{lowRamEnd:x} bytes): give more --memory";
        byte[] image = KernelFile.Read("--kernel", config.KernelPath, lowRamEnd, tooLarge);
        SetupHeader h = SetupHeader.Parse(image, config.KernelPath);
        string where = $"--kernel {config.KernelPath}";
        if (config.InitrdPaths.Count > 1)
        {
            throw new MachineConfigException($"--initrd: a Linux kernel takes one initrd, {config.InitrdPaths.Count} were given (concatenate them)");
        }

        if (h.KernelOffset + 0x200 > HeapEnd)
        {
            throw new MachineConfigException($"{where}: {h.SetupSects} setup sectors leave no room for the setup code's stack below 0x{CmdlineAddress:x}");
        }

        byte[] cmdline = Encoding.UTF8.GetBytes(config.CommandLine + "\0");
        ulong cmdMax = Math.Min(h.CmdlineSize, CmdlineRoom - 1);
        if ((ulong)cmdline.Length - 1 > cmdMax)
        {
            throw new MachineConfigException($"--append: {cmdline.Length - 1} bytes is longer than the {cmdMax} the kernel accepts (cmdline_size)");
        }

        byte[] kernel = image[h.KernelOffset..];
        ulong kernelEnd = KernelAddress + Math.Max((ulong)kernel.Length, h.ProtectedModeSize);
        byte[] initrd = config.InitrdPaths.Count == 1 ? KernelFile.Read("--initrd", config.InitrdPaths[0], lowRamEnd, tooLarge) : [];
        ulong top = Math.Min(lowRamEnd > FirmwareReserve ? lowRamEnd - FirmwareReserve : 0, (ulong)h.InitrdAddrMax + 1);
        ulong initrdAddress = 0;
        if (initrd.Length > 0)
        {
            initrdAddress = top >= (ulong)initrd.Length ? (top - (ulong)initrd.Length) & ~(ulong)(Page - 1) : 0;
            if (initrdAddress < kernelEnd)
            {
                throw new MachineConfigException($"--initrd {config.InitrdPaths[0]}: {initrd.Length} bytes do not fit in guest RAM between the kernel (ends 0x{kernelEnd:x}) and 0x{top:x}: give more --memory");
            }
        }
        else if (kernelEnd > top)
        {
            throw new MachineConfigException($"{where}: the kernel needs RAM up to 0x{kernelEnd:x}; give more --memory");
        }

        // boot.rst, "Details of Header Fields": what a boot loader writes into the header it loaded.
        byte[] setup = image[..h.KernelOffset];
        setup[SetupHeader.TypeOfLoaderOffset] = LoaderType;
        setup[SetupHeader.LoadFlagsOffset] |= SetupHeader.CanUseHeap;
        BinaryPrimitives.WriteUInt16LittleEndian(setup.AsSpan(SetupHeader.HeapEndPtrOffset), (ushort)(HeapEnd - 0x200));
        BinaryPrimitives.WriteUInt32LittleEndian(setup.AsSpan(SetupHeader.CmdLinePtrOffset), CmdlineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(setup.AsSpan(SetupHeader.RamdiskImageOffset), (uint)initrdAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(setup.AsSpan(SetupHeader.RamdiskSizeOffset), (uint)initrd.Length);
        return new RealModeKernel(setup, kernel, initrd, (uint)initrdAddress, cmdline);
    }
}
