using System.Buffers.Binary;
using System.Text;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Loaders.Multiboot;

/// <summary>A module as the boot loader placed it.</summary>
/// <param name="Start">mod_start: first byte in guest memory.</param>
/// <param name="End">mod_end: the first byte after it.</param>
/// <param name="Name">The string the kernel sees for it (the file name given to --initrd).</param>
public readonly record struct MultibootModule(uint Start, uint End, string Name);

/// <summary>
/// Builds the Multiboot information structure (Multiboot 0.6.96 3.3) and what it points to, as one
/// block of bytes to be written at one address (normally <see cref="Address"/>): the 88-byte structure, the module list, the
/// memory map, then the strings.
/// </summary>
public static class MultibootInfo
{
    /// <summary>Where the block is normally written, above the GDT; a kernel loaded over it moves it after the modules (<see cref="MultibootLoader"/>).</summary>
    public const uint Address = 0x1_0000;

    /// <summary>The most the block may take (up to 0x20000).</summary>
    public const int MaxSize = 0x1_0000;

    /// <summary>Size of the structure up to and including the APM table pointer and the VBE fields (3.3).</summary>
    public const int StructureSize = 88;

    /// <summary>flags bit 0: mem_lower and mem_upper are valid.</summary>
    public const uint FlagMemory = 1 << 0;
    /// <summary>flags bit 2: cmdline is valid.</summary>
    public const uint FlagCmdline = 1 << 2;
    /// <summary>flags bit 3: mods_count and mods_addr are valid.</summary>
    public const uint FlagMods = 1 << 3;
    /// <summary>flags bit 6: mmap_length and mmap_addr are valid.</summary>
    public const uint FlagMmap = 1 << 6;
    /// <summary>flags bit 9: boot_loader_name is valid.</summary>
    public const uint FlagLoaderName = 1 << 9;

    /// <summary>The boot loader name emu reports.</summary>
    public const string LoaderName = "emu";

    /// <summary>Lays out the block for <paramref name="address"/> (normally <see cref="Address"/>; its pointers are absolute).</summary>
    public static byte[] Build(E820Map map, string cmdline, IReadOnlyList<MultibootModule> modules, uint address = Address)
    {
        var block = new List<byte>(new byte[StructureSize]);
        uint At() => address + (uint)block.Count;

        uint modsAddr = At();
        var strings = new List<(int FieldOffset, string Text)>();
        for (int i = 0; i < modules.Count; i++)
        {
            // mod_start, mod_end, string, reserved (3.3, "mods").
            strings.Add((block.Count + 8, modules[i].Name));
            Append(block, modules[i].Start);
            Append(block, modules[i].End);
            Append(block, 0);
            Append(block, 0);
        }

        uint mmapAddr = At();
        foreach (E820Entry e in map.Entries)
        {
            // size (20: the entry without this field), base_addr, length, type (3.3, "mmap").
            Append(block, 20);
            Append64(block, e.Address);
            Append64(block, e.Size);
            Append(block, (uint)e.Type);
        }

        uint mmapLength = At() - mmapAddr;
        uint cmdlineAddr = AppendString(block, cmdline);
        uint nameAddr = AppendString(block, LoaderName);
        foreach ((int field, string text) in strings)
        {
            uint a = AppendString(block, text);
            BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(block)[field..], a);
        }

        if (block.Count > MaxSize)
        {
            throw new MachineConfigException($"--append/--initrd: the command line and module names take {block.Count} bytes of multiboot information, more than the {MaxSize} emu reserves");
        }

        Span<byte> s = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(block);
        BinaryPrimitives.WriteUInt32LittleEndian(s[0..], FlagMemory | FlagCmdline | FlagMods | FlagMmap | FlagLoaderName);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], map.MemLowerKiB);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], map.MemUpperKiB);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], cmdlineAddr);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)modules.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], modsAddr);
        BinaryPrimitives.WriteUInt32LittleEndian(s[44..], mmapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(s[48..], mmapAddr);
        BinaryPrimitives.WriteUInt32LittleEndian(s[64..], nameAddr);
        return [.. block];

        uint AppendString(List<byte> b, string text)
        {
            uint a = address + (uint)b.Count;
            b.AddRange(Encoding.UTF8.GetBytes(text));
            b.Add(0);
            return a;
        }
    }

    private static void Append(List<byte> b, uint v)
    {
        Span<byte> t = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(t, v);
        b.AddRange(t);
    }

    private static void Append64(List<byte> b, ulong v)
    {
        Append(b, (uint)v);
        Append(b, (uint)(v >> 32));
    }
}
