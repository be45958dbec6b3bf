using System.Buffers.Binary;
using System.Text;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The Root System Description Pointer, ACPI 2.0+ form (ACPI 6.5 5.2.5.3, Table 5.3). The OS finds
/// it on a 16-byte boundary in the first KiB of the EBDA or in E0000-FFFFF (5.2.5.1); emu puts it at
/// the start of the EBDA and also passes its address in boot_params.acpi_rsdp_addr.
/// </summary>
public static class Rsdp
{
    /// <summary>Size of the structure (its Length field).</summary>
    public const int Size = 36;

    /// <summary>Offsets.</summary>
    public const int ChecksumOffset = 8, OemIdOffset = 9, RevisionOffset = 15, RsdtAddressOffset = 16, LengthOffset = 20,
        XsdtAddressOffset = 24, ExtendedChecksumOffset = 32;

    /// <summary>Builds the structure pointing at the RSDT (ACPI 1.0 readers) and the XSDT (revision 2 OSes).</summary>
    public static byte[] Build(ulong xsdt, uint rsdt)
    {
        byte[] r = new byte[Size];
        Encoding.ASCII.GetBytes("RSD PTR ", r.AsSpan(0, 8));
        Encoding.ASCII.GetBytes(SdtHeader.OemId, r.AsSpan(OemIdOffset, 6));
        r[RevisionOffset] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(LengthOffset), Size);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(RsdtAddressOffset), rsdt);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(XsdtAddressOffset), xsdt);

        // The first checksum covers the ACPI 1.0 part (bytes 0-19), the extended one all 36 bytes.
        r[ChecksumOffset] = SdtHeader.Checksum(r.AsSpan(0, 20));
        r[ExtendedChecksumOffset] = SdtHeader.Checksum(r);
        return r;
    }
}
