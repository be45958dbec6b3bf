using System.Buffers.Binary;
using System.Text;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The 36-byte System Description Table Header every ACPI table but the RSDP starts with (ACPI 6.5
/// 5.2.6, Table 5.4), and the byte checksum rule shared by all tables (the bytes sum to zero).
/// </summary>
public static class SdtHeader
{
    /// <summary>Size of the header.</summary>
    public const int Size = 36;

    /// <summary>OEMID (6 bytes).</summary>
    public const string OemId = "EMU   ";

    /// <summary>OEM Table ID (8 bytes).</summary>
    public const string OemTableId = "EMUPC   ";

    /// <summary>Creator ID (4 bytes): the ASL compiler or tool that made the table.</summary>
    public const string CreatorId = "EMU ";

    /// <summary>Offsets in the header.</summary>
    public const int LengthOffset = 4, RevisionOffset = 8, ChecksumOffset = 9;

    /// <summary>Fills the header of <paramref name="table"/> (whose length is the span's) and its checksum; call last.</summary>
    public static void Finish(Span<byte> table, string signature, byte revision)
    {
        Encoding.ASCII.GetBytes(signature, table[0..4]);
        BinaryPrimitives.WriteUInt32LittleEndian(table[LengthOffset..], (uint)table.Length);
        table[RevisionOffset] = revision;
        Encoding.ASCII.GetBytes(OemId, table[10..16]);
        Encoding.ASCII.GetBytes(OemTableId, table[16..24]);
        BinaryPrimitives.WriteUInt32LittleEndian(table[24..], 1); // OEM Revision
        Encoding.ASCII.GetBytes(CreatorId, table[28..32]);
        BinaryPrimitives.WriteUInt32LittleEndian(table[32..], 1); // Creator Revision
        table[ChecksumOffset] = 0;
        table[ChecksumOffset] = Checksum(table);
    }

    /// <summary>The byte that makes <paramref name="bytes"/> sum to zero when stored as its checksum.</summary>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)-sum;
    }
}
