using System.Buffers.Binary;

namespace Emulator.Machines.Loaders.Multiboot;

/// <summary>
/// The Multiboot header (Multiboot 0.6.96 3.1): a 32-bit aligned structure within the first 8192
/// bytes of the kernel file whose magic, flags and checksum sum to zero.
/// </summary>
public sealed class MultibootHeader
{
    /// <summary>The header magic (3.1.2).</summary>
    public const uint Magic = 0x1BADB002;

    /// <summary>The value EAX holds at entry (3.2).</summary>
    public const uint BootloaderMagic = 0x2BADB002;

    /// <summary>The header must lie entirely within this many bytes of the start of the file (3.1).</summary>
    public const int SearchLength = 8192;

    /// <summary>Flag bit 0: align modules on 4 KiB pages.</summary>
    public const uint PageAlignModules = 1 << 0;

    /// <summary>Flag bit 1: mem_* fields (and the memory map) must be provided.</summary>
    public const uint MemoryInfo = 1 << 1;

    /// <summary>Flag bit 2: video mode information must be provided.</summary>
    public const uint VideoMode = 1 << 2;

    /// <summary>Flag bit 16: the address fields (the "a.out kludge") are valid.</summary>
    public const uint AoutKludge = 1 << 16;

    private MultibootHeader(int offset, uint flags, uint headerAddr, uint loadAddr, uint loadEndAddr, uint bssEndAddr, uint entryAddr)
    {
        Offset = offset;
        Flags = flags;
        HeaderAddr = headerAddr;
        LoadAddr = loadAddr;
        LoadEndAddr = loadEndAddr;
        BssEndAddr = bssEndAddr;
        EntryAddr = entryAddr;
    }

    /// <summary>File offset of the magic.</summary>
    public int Offset { get; }

    /// <summary>The flags field.</summary>
    public uint Flags { get; }

    /// <summary>header_addr (a.out kludge): the physical address the magic is loaded at.</summary>
    public uint HeaderAddr { get; }

    /// <summary>load_addr: physical address of the start of the text segment.</summary>
    public uint LoadAddr { get; }

    /// <summary>load_end_addr: end of the data segment, 0 for "the rest of the file".</summary>
    public uint LoadEndAddr { get; }

    /// <summary>bss_end_addr: end of the bss, 0 for none.</summary>
    public uint BssEndAddr { get; }

    /// <summary>entry_addr: where the boot loader jumps.</summary>
    public uint EntryAddr { get; }

    /// <summary>True when the address fields are to be used instead of the ELF headers.</summary>
    public bool HasAoutKludge => (Flags & AoutKludge) != 0;

    /// <summary>Finds the header, or returns null when the file has none.</summary>
    public static MultibootHeader? Find(ReadOnlySpan<byte> image, string name)
    {
        int end = Math.Min(image.Length, SearchLength);
        for (int off = 0; off + 12 <= end; off += 4)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(image[off..]);
            if (magic != Magic)
            {
                continue;
            }

            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(image[(off + 4)..]);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(image[(off + 8)..]);
            if (unchecked(magic + flags + checksum) != 0)
            {
                continue;
            }

            if ((flags & AoutKludge) == 0)
            {
                return new MultibootHeader(off, flags, 0, 0, 0, 0, 0);
            }

            if (off + 32 > image.Length)
            {
                throw new MachineConfigException($"--kernel {name}: the multiboot header at offset {off} sets the address fields (flag 16) but the file ends inside them");
            }

            ReadOnlySpan<byte> h = image[off..];
            return new MultibootHeader(off, flags,
                BinaryPrimitives.ReadUInt32LittleEndian(h[12..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h[20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h[24..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h[28..]));
        }

        return null;
    }
}
