namespace Emulator.Machines.Acpi;

/// <summary>
/// The Root System Description Table (ACPI 6.5 5.2.7, Table 5.7): the header then 32-bit table
/// addresses. The XSDT supersedes it for ACPI 2.0+ OSes, but a reader of only the ACPI 1.0 part
/// of the RSDP finds the tables through RsdtAddress alone: GRUB's <c>halt</c> looks up the FADT
/// (and so PM1a_CNT and the DSDT's <c>\_S5</c>) that way, and without an RSDT it did not power off.
/// </summary>
public static class Rsdt
{
    /// <summary>Builds the table listing <paramref name="tables"/> (each below 4 GiB).</summary>
    public static byte[] Build(IReadOnlyList<ulong> tables) => Xsdt.Build("RSDT", 4, tables);
}
