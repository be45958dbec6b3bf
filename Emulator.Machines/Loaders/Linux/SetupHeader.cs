using System.Buffers.Binary;

namespace Emulator.Machines.Loaders.Linux;

/// <summary>
/// The real-mode kernel header of a bzImage (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
/// Header"): the fields a 32/64-bit boot loader reads, at their offsets in the file (which are also
/// their offsets in boot_params).
/// </summary>
public sealed class SetupHeader
{
    /// <summary>Start of the header in the file and in boot_params (setup_sects).</summary>
    public const int Start = 0x1f1;

    /// <summary>"HdrS", the magic at 0x202.</summary>
    public const uint HdrSMagic = 0x53726448;

    /// <summary>The oldest protocol emu boots: 2.06 added cmdline_size and is the first whose 32-bit entry is documented fully.</summary>
    public const ushort MinimumVersion = 0x206;

    /// <summary>loadflags bit 0: the protected-mode code is loaded at 0x100000.</summary>
    public const byte LoadedHigh = 1 << 0;

    /// <summary>loadflags bit 7: heap_end_ptr is valid.</summary>
    public const byte CanUseHeap = 1 << 7;

    /// <summary>xloadflags bit 0: the kernel has the legacy 64-bit entry point at 0x200.</summary>
    public const ushort XlfKernel64 = 1 << 0;

    /// <summary>Field offsets (boot.rst, the header table).</summary>
    public const int SetupSectsOffset = 0x1f1, BootFlagOffset = 0x1fe, JumpOffset = 0x200, HeaderOffset = 0x202, VersionOffset = 0x206,
        VidModeOffset = 0x1fa, SysSizeOffset = 0x1f4, TypeOfLoaderOffset = 0x210, LoadFlagsOffset = 0x211, Code32StartOffset = 0x214,
        RamdiskImageOffset = 0x218, RamdiskSizeOffset = 0x21c, HeapEndPtrOffset = 0x224, CmdLinePtrOffset = 0x228,
        InitrdAddrMaxOffset = 0x22c, KernelAlignmentOffset = 0x230, RelocatableOffset = 0x234, XLoadFlagsOffset = 0x236,
        CmdlineSizeOffset = 0x238, PayloadOffsetOffset = 0x248, PayloadLengthOffset = 0x24c, PrefAddressOffset = 0x258, InitSizeOffset = 0x260;

    private SetupHeader()
    {
    }

    /// <summary>Number of 512-byte setup sectors after the boot sector (0 means 4).</summary>
    public int SetupSects { get; private init; }

    /// <summary>Boot protocol version, e.g. 0x20f for 2.15.</summary>
    public ushort Version { get; private init; }

    /// <summary>loadflags.</summary>
    public byte LoadFlags { get; private init; }

    /// <summary>Highest address the initrd may occupy (its last byte).</summary>
    public uint InitrdAddrMax { get; private init; }

    /// <summary>Physical alignment the kernel needs when relocated.</summary>
    public uint KernelAlignment { get; private init; }

    /// <summary>Whether the protected-mode kernel may be loaded at any suitably aligned address.</summary>
    public bool Relocatable { get; private init; }

    /// <summary>xloadflags (protocol 2.12+, else 0).</summary>
    public ushort XLoadFlags { get; private init; }

    /// <summary>Maximum command line length without the terminating NUL.</summary>
    public uint CmdlineSize { get; private init; }

    /// <summary>The preferred load address (2.10+, else 0x100000).</summary>
    public ulong PrefAddress { get; private init; }

    /// <summary>Bytes the kernel needs from its load address while it decompresses (2.10+, else 0).</summary>
    public uint InitSize { get; private init; }

    /// <summary>
    /// Size of the protected-mode kernel the header claims: syssize (16-byte paragraphs) times 16.
    /// The file may end up to 15 bytes before it (the last paragraph rounded up); the loader pads with zeros.
    /// </summary>
    public ulong ProtectedModeSize { get; private init; }

    /// <summary>
    /// Where the compressed kernel (payload) starts, from the start of the protected-mode code (2.08+,
    /// else 0). boot.rst, "payload_offset": the format is told by its magic number.
    /// </summary>
    public uint PayloadOffset { get; private init; }

    /// <summary>The payload's length in bytes (2.08+, else 0).</summary>
    public uint PayloadLength { get; private init; }

    /// <summary>Offset of the first byte after the header: 0x202 plus the byte at 0x201 (the jump's displacement).</summary>
    public int End { get; private init; }

    /// <summary>File offset of the protected-mode kernel: (setup_sects + 1) * 512.</summary>
    public int KernelOffset => (SetupSects + 1) * 512;

    /// <summary>True when the file has the "HdrS" magic at 0x202: a bzImage of some protocol version.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> image) =>
        image.Length >= HeaderOffset + 4 && BinaryPrimitives.ReadUInt32LittleEndian(image[HeaderOffset..]) == HdrSMagic;

    /// <summary>Parses and checks the header of a bzImage; problems give one line naming the file.</summary>
    public static SetupHeader Parse(ReadOnlySpan<byte> image, string name)
    {
        string where = $"--kernel {name}";
        if (!HasMagic(image))
        {
            throw new MachineConfigException($"{where}: not a Linux bzImage (no \"HdrS\" at offset 0x202)");
        }

        if (image.Length < VersionOffset + 2)
        {
            throw new MachineConfigException($"{where}: truncated: the file ends inside the setup header ({image.Length} bytes)");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(image[VersionOffset..]);
        if (version < MinimumVersion)
        {
            throw new MachineConfigException($"{where}: boot protocol {version >> 8}.{version & 0xff:d2} is too old; emu needs 2.06 or newer");
        }

        if (image.Length < JumpOffset + 2)
        {
            throw new MachineConfigException($"{where}: truncated: the file ends inside the setup header ({image.Length} bytes)");
        }

        // The jump at 0x200 skips the header, so its displacement gives the header's end.
        int end = HeaderOffset + image[JumpOffset + 1];
        int needed = version >= 0x20a ? InitSizeOffset + 4 : CmdlineSizeOffset + 4;
        if (image.Length < Math.Max(end, needed))
        {
            throw new MachineConfigException($"{where}: truncated: the file ends inside the setup header ({image.Length} bytes)");
        }

        if (end < needed)
        {
            throw new MachineConfigException($"{where}: the setup header ends at 0x{end:x} (jump at 0x200), before the fields protocol {version >> 8}.{version & 0xff:d2} defines");
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(image[BootFlagOffset..]) != 0xaa55)
        {
            throw new MachineConfigException($"{where}: the boot sector signature at 0x1fe is not 0xAA55");
        }

        byte loadFlags = image[LoadFlagsOffset];
        if ((loadFlags & LoadedHigh) == 0)
        {
            throw new MachineConfigException($"{where}: a zImage (loadflags LOADED_HIGH clear) loads below 1 MiB; emu boots only bzImages");
        }

        int sects = image[SetupSectsOffset] == 0 ? 4 : image[SetupSectsOffset];
        int kernelOffset = (sects + 1) * 512;
        if (kernelOffset >= image.Length)
        {
            throw new MachineConfigException($"{where}: truncated: {sects} setup sectors claimed but the file has {image.Length} bytes, leaving no protected-mode kernel");
        }

        // boot.rst, "syssize": the protected-mode code's size in 16-byte paragraphs (32 bits wide from
        // protocol 2.04 on). Counted in paragraphs, it rounds the size up: an image whose tool did not
        // pad it (memtest86+'s .bin, which GRUB and QEMU boot) ends up to 15 bytes before syssize * 16,
        // and the loader pads those with zeros. A file shorter by a whole paragraph or more was cut
        // off, e.g. by an interrupted download; the decompressor would fail inside the guest with
        // nothing to say which file was at fault.
        ulong payload = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(image[SysSizeOffset..]) * 16;
        ulong held = (ulong)(image.Length - kernelOffset);
        if (held + 15 < payload)
        {
            throw new MachineConfigException($"{where}: truncated: the header's syssize claims {payload} bytes of protected-mode kernel ({payload / 16} paragraphs) but the file holds {held}");
        }

        return new SetupHeader
        {
            SetupSects = sects,
            Version = version,
            LoadFlags = loadFlags,
            InitrdAddrMax = BinaryPrimitives.ReadUInt32LittleEndian(image[InitrdAddrMaxOffset..]),
            KernelAlignment = BinaryPrimitives.ReadUInt32LittleEndian(image[KernelAlignmentOffset..]),
            Relocatable = image[RelocatableOffset] != 0,
            XLoadFlags = version >= 0x20c ? BinaryPrimitives.ReadUInt16LittleEndian(image[XLoadFlagsOffset..]) : (ushort)0,
            CmdlineSize = BinaryPrimitives.ReadUInt32LittleEndian(image[CmdlineSizeOffset..]),
            PrefAddress = version >= 0x20a ? BinaryPrimitives.ReadUInt64LittleEndian(image[PrefAddressOffset..]) : 0x10_0000,
            InitSize = version >= 0x20a ? BinaryPrimitives.ReadUInt32LittleEndian(image[InitSizeOffset..]) : 0,
            PayloadOffset = version >= 0x208 && end >= PayloadLengthOffset + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(image[PayloadOffsetOffset..]) : 0,
            PayloadLength = version >= 0x208 && end >= PayloadLengthOffset + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(image[PayloadLengthOffset..]) : 0,
            End = end,
            ProtectedModeSize = payload,
        };
    }
}
