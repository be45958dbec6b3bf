using System.Buffers.Binary;

namespace Emulator.Machines.Acpi;

/// <summary>The Extended System Description Table (ACPI 6.5 5.2.8, Table 5.8): the header then 64-bit table addresses.</summary>
public static class Xsdt
{
    /// <summary>Builds the table listing <paramref name="tables"/>.</summary>
    public static byte[] Build(IReadOnlyList<ulong> tables)
    {
        byte[] t = new byte[SdtHeader.Size + (8 * tables.Count)];
        for (int i = 0; i < tables.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(SdtHeader.Size + (8 * i)), tables[i]);
        }

        SdtHeader.Finish(t, "XSDT", 1);
        return t;
    }
}
