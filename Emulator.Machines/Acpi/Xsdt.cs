using System.Buffers.Binary;

namespace Emulator.Machines.Acpi;

/// <summary>The Extended System Description Table (ACPI 6.5 5.2.8, Table 5.8): the header then 64-bit table addresses.</summary>
public static class Xsdt
{
    /// <summary>Builds the table listing <paramref name="tables"/>.</summary>
    public static byte[] Build(IReadOnlyList<ulong> tables) => Build("XSDT", 8, tables);

    /// <summary>A header then the table addresses, <paramref name="width"/> bytes each: the XSDT (8) and the <see cref="Rsdt"/> (4).</summary>
    internal static byte[] Build(string signature, int width, IReadOnlyList<ulong> tables)
    {
        byte[] t = new byte[SdtHeader.Size + (width * tables.Count)];
        for (int i = 0; i < tables.Count; i++)
        {
            Span<byte> entry = t.AsSpan(SdtHeader.Size + (width * i), width);
            if (width == 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(entry, tables[i]);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entry, checked((uint)tables[i]));
            }
        }

        SdtHeader.Finish(t, signature, 1);
        return t;
    }
}
