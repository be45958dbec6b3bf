using System.Buffers.Binary;
using System.Text;

namespace Emulator.Devices.FwCfg;

/// <summary>Where firmware places a file it allocates for the table loader.</summary>
public enum TableLoaderZone : byte
{
    /// <summary>High memory (SeaBIOS: the top of RAM below 4 GiB, reserved in its E820 map).</summary>
    High = 1,
    /// <summary>The F segment (0xF0000-0xFFFFF), where the ACPI RSDP must be found by a scan.</summary>
    FSeg = 2,
}

/// <summary>
/// Builds the "etc/table-loader" fw_cfg file: the linker/loader script with which firmware installs
/// tables the machine made, without the machine knowing where they will land. Each command is 128
/// bytes, little-endian: a 32-bit command, then its arguments padded to 124 bytes (the format QEMU
/// writes and SeaBIOS's romfile_loader reads):
/// <list type="bullet">
/// <item>ALLOCATE (1): file[56], align (u32), zone (u8): copy a file into memory.</item>
/// <item>ADD_POINTER (2): dest[56], src[56], offset (u32), size (u8): add the address where src landed
/// to the size-byte little-endian value at dest+offset.</item>
/// <item>ADD_CHECKSUM (3): file[56], offset (u32), start (u32), length (u32): subtract the byte sum of
/// [start, start+length) from the byte at offset, so that the range sums to zero again.</item>
/// </list>
/// </summary>
public sealed class FwCfgTableLoader
{
    /// <summary>Size of one command.</summary>
    public const int CommandSize = 128;

    /// <summary>Command numbers.</summary>
    public const uint Allocate = 1, AddPointer = 2, AddChecksum = 3;

    private const int NameSize = FwCfgDevice.MaxFileName;
    private readonly List<byte[]> _commands = [];

    /// <summary>Asks firmware to load <paramref name="file"/> aligned to <paramref name="align"/> (a power of two) in <paramref name="zone"/>.</summary>
    public FwCfgTableLoader AllocateFile(string file, uint align, TableLoaderZone zone)
    {
        if (!uint.IsPow2(align))
        {
            throw new ArgumentOutOfRangeException(nameof(align), "alignment must be a power of two");
        }

        byte[] c = Command(Allocate);
        Name(c.AsSpan(4), file);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4 + NameSize), align);
        c[4 + NameSize + 4] = (byte)zone;
        return this;
    }

    /// <summary>Asks firmware to add the address of <paramref name="source"/> to the <paramref name="size"/>-byte field at <paramref name="offset"/> in <paramref name="destination"/>.</summary>
    public FwCfgTableLoader AddPointerTo(string destination, string source, uint offset, byte size)
    {
        if (size is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(size), "a pointer is 1, 2, 4 or 8 bytes");
        }

        byte[] c = Command(AddPointer);
        Name(c.AsSpan(4), destination);
        Name(c.AsSpan(4 + NameSize), source);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4 + (2 * NameSize)), offset);
        c[4 + (2 * NameSize) + 4] = size;
        return this;
    }

    /// <summary>Asks firmware to fix the checksum byte at <paramref name="offset"/> of <paramref name="file"/> over [<paramref name="start"/>, +<paramref name="length"/>).</summary>
    public FwCfgTableLoader AddChecksumOf(string file, uint offset, uint start, uint length)
    {
        byte[] c = Command(AddChecksum);
        Name(c.AsSpan(4), file);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4 + NameSize), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4 + NameSize + 4), start);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4 + NameSize + 8), length);
        return this;
    }

    /// <summary>The script: the commands in the order they were added.</summary>
    public byte[] ToArray() => [.. _commands.SelectMany(c => c)];

    private byte[] Command(uint command)
    {
        byte[] c = new byte[CommandSize];
        BinaryPrimitives.WriteUInt32LittleEndian(c, command);
        _commands.Add(c);
        return c;
    }

    private static void Name(Span<byte> field, string name)
    {
        if (name.Length >= NameSize || !Ascii.IsValid(name))
        {
            throw new ArgumentException($"table-loader file name \"{name}\" must be at most {NameSize - 1} ASCII characters", nameof(name));
        }

        Encoding.ASCII.GetBytes(name, field);
    }
}
