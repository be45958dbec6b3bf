using Emulator.Devices.FwCfg;

namespace Emulator.Machines.Acpi;

/// <summary>A pointer field in one of the two blobs of an <see cref="AcpiTableSet"/>; it holds an offset into the tables blob until linked.</summary>
/// <param name="InRsdp">True for a field of the RSDP blob, false for the tables blob.</param>
/// <param name="Offset">Where the field is in its blob.</param>
/// <param name="Size">4 or 8 bytes, little-endian.</param>
public readonly record struct AcpiPointer(bool InRsdp, int Offset, byte Size);

/// <summary>A checksum byte and the range it makes sum to zero.</summary>
/// <param name="InRsdp">True for the RSDP blob.</param>
/// <param name="Offset">The checksum byte.</param>
/// <param name="Start">First byte of the covered range.</param>
/// <param name="Length">Bytes covered.</param>
public readonly record struct AcpiChecksum(bool InRsdp, int Offset, int Start, int Length);

/// <summary>
/// The machine's ACPI tables before they have an address: the FACS, DSDT, FADT, MADT, HPET, XSDT and RSDT in one
/// blob whose pointers hold offsets from the blob's start, and the RSDP in a second blob pointing
/// into the first. The same set is placed two ways: <see cref="Link"/> adds a base address itself
/// (direct kernel boot, where emu plays the firmware), and <see cref="LoaderScript"/> tells firmware
/// (SeaBIOS, through fw_cfg "etc/table-loader") to do exactly that wherever it allocates them. Each
/// table's checksum is correct for the offsets and is fixed again after every pointer is added.
/// </summary>
public sealed class AcpiTableSet
{
    /// <summary>The fw_cfg file names QEMU uses for this interface, which SeaBIOS looks for.</summary>
    public const string TablesFile = "etc/acpi/tables", RsdpFile = "etc/acpi/rsdp", LoaderFile = "etc/table-loader";

    // ACPI tables are 8-byte aligned at least; 16 keeps the layout of the directly booted machine.
    private const int Align = 16;

    /// <summary>
    /// The blob's alignment, which firmware honours: the FACS at its start must be on a 64-byte
    /// boundary (ACPI 6.5 5.2.10).
    /// </summary>
    public const int BlobAlignment = Facs.Alignment;

    /// <summary>
    /// Bytes at the blob's start that belong to the FACS: a page, so that a direct boot can report
    /// it as ACPI NVS memory (preserved, never reclaimed) apart from the tables that follow, which
    /// an OS may reclaim once read.
    /// </summary>
    public const int FacsPage = 4096;

    private readonly List<AcpiPointer> _pointers = [];
    private readonly List<AcpiChecksum> _checksums = [];
    private readonly List<byte> _tables = [];
    private readonly List<(int Offset, int Length)> _placed = [];

    private AcpiTableSet()
    {
    }

    /// <summary>The tables blob (DSDT first).</summary>
    public byte[] Tables { get; private set; } = [];

    /// <summary>The RSDP.</summary>
    public byte[] Rsdp { get; private set; } = [];

    /// <summary>The pointer fields to patch.</summary>
    public IReadOnlyList<AcpiPointer> Pointers => _pointers;

    /// <summary>The checksums to fix after patching, in order.</summary>
    public IReadOnlyList<AcpiChecksum> Checksums => _checksums;

    /// <summary>Builds the tables of a PC with <paramref name="cpus"/> processors, with the HPET table when <paramref name="hpet"/>.</summary>
    public static AcpiTableSet Build(int cpus, bool hpet = true)
    {
        var set = new AcpiTableSet();
        set._tables.AddRange(Facs.Build());
        set._tables.AddRange(new byte[FacsPage - Facs.Size]);
        const int facs = 0;
        int dsdt = set.Place(Dsdt.Build());
        int fadt = set.Place(Fadt.Build(facs, (uint)dsdt));
        set._pointers.Add(new(false, fadt + Fadt.FirmwareCtrlOffset, 4));
        set._pointers.Add(new(false, fadt + Fadt.DsdtOffset, 4));
        set._pointers.Add(new(false, fadt + Fadt.XDsdtOffset, 8));
        int madt = set.Place(Madt.Build(cpus));
        List<ulong> listed = [(ulong)fadt, (ulong)madt];
        if (hpet)
        {
            listed.Add((ulong)set.Place(HpetTable.Build()));
        }

        int xsdt = set.Place(Xsdt.Build(listed));
        int rsdt = set.Place(Rsdt.Build(listed));
        for (int i = 0; i < listed.Count; i++)
        {
            set._pointers.Add(new(false, xsdt + SdtHeader.Size + (8 * i), 8));
            set._pointers.Add(new(false, rsdt + SdtHeader.Size + (4 * i), 4));
        }

        // Every checksum is fixed after every pointer is patched (the loader runs its commands in order).
        foreach ((int table, int length) in set._placed)
        {
            set._checksums.Add(new(false, table + SdtHeader.ChecksumOffset, table, length));
        }

        set.Tables = [.. set._tables];
        set.Rsdp = Acpi.Rsdp.Build((ulong)xsdt, (uint)rsdt);
        set._pointers.Add(new(true, Acpi.Rsdp.RsdtAddressOffset, 4));
        set._pointers.Add(new(true, Acpi.Rsdp.XsdtAddressOffset, 8));
        set._checksums.Add(new(true, Acpi.Rsdp.ChecksumOffset, 0, 20));
        set._checksums.Add(new(true, Acpi.Rsdp.ExtendedChecksumOffset, 0, Acpi.Rsdp.Size));
        return set;
    }

    /// <summary>The blobs as they are once the tables blob sits at <paramref name="tablesBase"/>.</summary>
    public (byte[] Tables, byte[] Rsdp) Link(ulong tablesBase)
    {
        byte[] tables = (byte[])Tables.Clone(), rsdp = (byte[])Rsdp.Clone();
        foreach (AcpiPointer p in _pointers)
        {
            Span<byte> field = (p.InRsdp ? rsdp : tables).AsSpan(p.Offset, p.Size);
            ulong value = p.Size == 8 ? BitConverter.ToUInt64(field) : BitConverter.ToUInt32(field);
            value += tablesBase;
            if (p.Size == 8)
            {
                BitConverter.TryWriteBytes(field, value);
            }
            else
            {
                BitConverter.TryWriteBytes(field, checked((uint)value));
            }
        }

        foreach (AcpiChecksum c in _checksums)
        {
            byte[] blob = c.InRsdp ? rsdp : tables;
            blob[c.Offset] -= Sum(blob.AsSpan(c.Start, c.Length));
        }

        return (tables, rsdp);
    }

    /// <summary>The fw_cfg "etc/table-loader" script that makes firmware do what <see cref="Link"/> does.</summary>
    public byte[] LoaderScript()
    {
        var loader = new FwCfgTableLoader()
            .AllocateFile(RsdpFile, Align, TableLoaderZone.FSeg)
            .AllocateFile(TablesFile, BlobAlignment, TableLoaderZone.High);
        foreach (AcpiPointer p in _pointers)
        {
            loader.AddPointerTo(p.InRsdp ? RsdpFile : TablesFile, TablesFile, (uint)p.Offset, p.Size);
        }

        foreach (AcpiChecksum c in _checksums)
        {
            loader.AddChecksumOf(c.InRsdp ? RsdpFile : TablesFile, (uint)c.Offset, (uint)c.Start, (uint)c.Length);
        }

        return loader.ToArray();
    }

    private int Place(byte[] table)
    {
        while (_tables.Count % Align != 0)
        {
            _tables.Add(0);
        }

        int at = _tables.Count;
        _tables.AddRange(table);
        _placed.Add((at, table.Length));
        return at;
    }

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }
}
