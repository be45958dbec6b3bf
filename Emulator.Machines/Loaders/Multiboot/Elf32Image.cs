using System.Buffers.Binary;

namespace Emulator.Machines.Loaders.Multiboot;

/// <summary>One PT_LOAD program header of an ELF32 executable.</summary>
/// <param name="FileOffset">p_offset.</param>
/// <param name="VirtualAddress">p_vaddr.</param>
/// <param name="PhysicalAddress">p_paddr: where a boot loader places it.</param>
/// <param name="FileSize">p_filesz: bytes copied from the file.</param>
/// <param name="MemorySize">p_memsz: bytes occupied in memory, the rest zero-filled.</param>
public readonly record struct Elf32Segment(uint FileOffset, uint VirtualAddress, uint PhysicalAddress, uint FileSize, uint MemorySize);

/// <summary>
/// The parts of an ELF32 i386 executable a multiboot loader needs (System V ABI, "ELF Header" and
/// "Program Header"): the entry point and the loadable segments, every offset bound-checked against the file.
/// </summary>
public sealed class Elf32Image
{
    private const uint PtLoad = 1;

    private Elf32Image(uint entry, IReadOnlyList<Elf32Segment> segments)
    {
        Entry = entry;
        Segments = segments;
    }

    /// <summary>e_entry.</summary>
    public uint Entry { get; }

    /// <summary>The PT_LOAD segments, in file order.</summary>
    public IReadOnlyList<Elf32Segment> Segments { get; }

    /// <summary>True when the file starts with the ELF magic.</summary>
    public static bool IsElf(ReadOnlySpan<byte> image) =>
        image.Length >= 4 && image[0] == 0x7f && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F';

    /// <summary>Parses the headers; a malformed file gives one line naming it.</summary>
    public static Elf32Image Parse(ReadOnlySpan<byte> image, string name)
    {
        string where = $"--kernel {name}";
        if (image.Length < 52)
        {
            throw new MachineConfigException($"{where}: the ELF header is truncated ({image.Length} bytes)");
        }

        if (image[4] != 1 || image[5] != 1)
        {
            throw new MachineConfigException($"{where}: a multiboot ELF kernel must be 32-bit little-endian (ELFCLASS32, ELFDATA2LSB); use the a.out kludge (flag 16) for other formats");
        }

        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(image[16..]);
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(image[18..]);
        if (type != 2 || machine != 3)
        {
            throw new MachineConfigException($"{where}: not an i386 executable (e_type {type}, e_machine {machine}; expected ET_EXEC 2, EM_386 3)");
        }

        uint entry = BinaryPrimitives.ReadUInt32LittleEndian(image[24..]);
        uint phoff = BinaryPrimitives.ReadUInt32LittleEndian(image[28..]);
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(image[42..]);
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(image[44..]);
        if (phnum == 0 || phentsize < 32)
        {
            throw new MachineConfigException($"{where}: the ELF file has no usable program headers (e_phnum {phnum}, e_phentsize {phentsize})");
        }

        if ((ulong)phoff + ((ulong)phnum * phentsize) > (ulong)image.Length)
        {
            throw new MachineConfigException($"{where}: the program headers (offset {phoff}, {phnum} x {phentsize} bytes) run past the end of the file ({image.Length} bytes)");
        }

        var segments = new List<Elf32Segment>();
        for (int i = 0; i < phnum; i++)
        {
            ReadOnlySpan<byte> ph = image.Slice((int)phoff + (i * phentsize), 32);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad)
            {
                continue;
            }

            var s = new Elf32Segment(
                BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]),
                BinaryPrimitives.ReadUInt32LittleEndian(ph[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(ph[12..]),
                BinaryPrimitives.ReadUInt32LittleEndian(ph[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(ph[20..]));
            if ((ulong)s.FileOffset + s.FileSize > (ulong)image.Length)
            {
                throw new MachineConfigException($"{where}: program header {i} takes {s.FileSize} bytes at offset {s.FileOffset}, past the end of the file ({image.Length} bytes): truncated?");
            }

            if (s.FileSize > s.MemorySize)
            {
                throw new MachineConfigException($"{where}: program header {i} has p_filesz {s.FileSize} larger than p_memsz {s.MemorySize}");
            }

            if (s.MemorySize != 0)
            {
                segments.Add(s);
            }
        }

        if (segments.Count == 0)
        {
            throw new MachineConfigException($"{where}: the ELF file has no PT_LOAD segment");
        }

        return new Elf32Image(entry, segments);
    }
}
