using Emulator.Core.Devices;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The Differentiated System Description Table (ACPI 6.5 5.2.11.1): a header then AML. emu's holds
/// one object, <c>\_S5</c>, the package whose first two elements are the SLP_TYP values for soft-off
/// (7.4.2) that the OS writes to PM1a_CNT and PM1b_CNT; <see cref="AcpiPmControl"/> powers off on
/// <see cref="AcpiPmControl.SlpTypS5"/>.
/// </summary>
public static class Dsdt
{
    /// <summary>AML opcodes and prefixes used (ACPI 6.5 20.2: NameOp, PackageOp, BytePrefix, ZeroOp).</summary>
    public const byte NameOp = 0x08, PackageOp = 0x12, BytePrefix = 0x0a, ZeroOp = 0x00;

    /// <summary>
    /// <c>Name (_S5, Package (4) { SlpTypS5, SlpTypS5, Zero, Zero })</c> in AML: NameOp, the NameSeg
    /// "_S5_", PackageOp, PkgLength (one byte: it counts itself, NumElements and the elements), NumElements.
    /// </summary>
    public static byte[] S5Object()
    {
        byte typ = AcpiPmControl.SlpTypS5;
        byte[] elements = [BytePrefix, typ, BytePrefix, typ, ZeroOp, ZeroOp];
        int pkgLength = 1 + 1 + elements.Length;
        return [NameOp, (byte)'_', (byte)'S', (byte)'5', (byte)'_', PackageOp, (byte)pkgLength, 4, .. elements];
    }

    /// <summary>Builds the table (revision 2: integers are 64 bits).</summary>
    public static byte[] Build()
    {
        byte[] aml = S5Object();
        byte[] t = new byte[SdtHeader.Size + aml.Length];
        aml.CopyTo(t, SdtHeader.Size);
        SdtHeader.Finish(t, "DSDT", 2);
        return t;
    }
}
