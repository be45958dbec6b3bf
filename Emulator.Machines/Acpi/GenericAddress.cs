using System.Buffers.Binary;

namespace Emulator.Machines.Acpi;

/// <summary>The 12-byte Generic Address Structure (ACPI 6.5 5.2.3.2, Table 5.1).</summary>
public static class GenericAddress
{
    /// <summary>Size of the structure.</summary>
    public const int Size = 12;

    /// <summary>Address Space IDs: System Memory, System I/O.</summary>
    public const byte SystemMemory = 0, SystemIo = 1;

    /// <summary>Access sizes: byte, word, dword.</summary>
    public const byte ByteAccess = 1, WordAccess = 2, DwordAccess = 3;

    /// <summary>Writes a structure for a register of <paramref name="bitWidth"/> bits at <paramref name="port"/>.</summary>
    public static void WriteIo(Span<byte> at, ushort port, byte bitWidth, byte accessSize)
    {
        at[0] = SystemIo;
        at[1] = bitWidth;
        at[2] = 0; // bit offset
        at[3] = accessSize;
        BinaryPrimitives.WriteUInt64LittleEndian(at[4..], port);
    }

    /// <summary>Writes a structure for a register block of <paramref name="bitWidth"/> bits at physical address <paramref name="address"/> (access size undefined).</summary>
    public static void WriteMemory(Span<byte> at, ulong address, byte bitWidth)
    {
        at[0] = SystemMemory;
        at[1] = bitWidth;
        at[2] = 0; // bit offset
        at[3] = 0; // access size: undefined (the device states its own rules)
        BinaryPrimitives.WriteUInt64LittleEndian(at[4..], address);
    }
}
