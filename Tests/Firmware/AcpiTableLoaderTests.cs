using System.Buffers.Binary;
using System.Text;
using Emulator.Devices.FwCfg;
using Emulator.Machines.Acpi;
using Xunit;

namespace Emulator.Tests.Firmware;

/// <summary>
/// The "etc/table-loader" script emu gives SeaBIOS, executed here the way SeaBIOS's
/// romfile_loader.c defines the commands (128-byte entries; ALLOCATE, ADD_POINTER adding the source
/// file's address to a little-endian field, ADD_CHECKSUM subtracting the range's byte sum): the
/// result must be valid ACPI (ACPI 6.5 5.2: every checksum sums to zero, RSDP -> XSDT -> FADT, MADT,
/// FADT -> DSDT) wherever firmware happens to place the files, and equal what emu links itself.
/// </summary>
public sealed class AcpiTableLoaderTests
{
    private static string Name(byte[] command, int offset) => Encoding.ASCII.GetString(command, offset, 56).TrimEnd('\0');

    private static byte Sum(ReadOnlySpan<byte> b)
    {
        byte s = 0;
        foreach (byte x in b)
        {
            s += x;
        }

        return s;
    }

    // Runs the script over the files with a chosen placement; returns the files as firmware leaves them.
    private static Dictionary<string, (ulong Address, byte[] Data)> Execute(byte[] script, Dictionary<string, byte[]> files, Dictionary<string, ulong> placement)
    {
        Assert.Equal(0, script.Length % 128);
        var loaded = new Dictionary<string, (ulong Address, byte[] Data)>();
        for (int at = 0; at < script.Length; at += 128)
        {
            byte[] c = script[at..(at + 128)];
            switch (BinaryPrimitives.ReadUInt32LittleEndian(c))
            {
                case 1:
                    string file = Name(c, 4);
                    uint align = BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(60));
                    Assert.True(align != 0 && (align & (align - 1)) == 0);
                    Assert.Equal(0UL, placement[file] % align);
                    Assert.Contains(c[64], new byte[] { 1, 2 });
                    if (file == AcpiTableSet.RsdpFile)
                    {
                        Assert.Equal(2, c[64]); // the RSDP must be in the F segment, where an OS scans for it
                    }

                    loaded[file] = (placement[file], (byte[])files[file].Clone());
                    break;
                case 2:
                    (ulong _, byte[] dest) = loaded[Name(c, 4)];
                    ulong source = loaded[Name(c, 60)].Address;
                    int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(116));
                    int size = c[120];
                    ulong value = 0;
                    for (int i = 0; i < size; i++)
                    {
                        value |= (ulong)dest[offset + i] << (8 * i);
                    }

                    value += source;
                    for (int i = 0; i < size; i++)
                    {
                        dest[offset + i] = (byte)(value >> (8 * i));
                    }

                    break;
                case 3:
                    byte[] data = loaded[Name(c, 4)].Data;
                    int sumAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(60));
                    int start = (int)BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(64));
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(68));
                    data[sumAt] -= Sum(data.AsSpan(start, length));
                    break;
                default:
                    Assert.Fail($"unknown loader command at {at}");
                    break;
            }
        }

        return loaded;
    }

    private static byte[] TableAt(Dictionary<string, (ulong Address, byte[] Data)> loaded, ulong address)
    {
        (ulong b, byte[] data) = loaded[AcpiTableSet.TablesFile];
        Assert.InRange(address, b, b + (ulong)data.Length - 36);
        int o = (int)(address - b);
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(o + 4));
        byte[] table = data[o..(o + length)];
        Assert.Equal(0, Sum(table));
        return table;
    }

    [Theory]
    [InlineData(0x7fe_0000UL, 0xf_5a40UL, 1)]
    [InlineData(0x1fff_0040UL, 0xf_0000UL, 4)]
    public void LoaderScriptBuildsValidTablesWhereverFirmwarePutsThem(ulong tablesAt, ulong rsdpAt, int cpus)
    {
        AcpiTableSet set = AcpiTableSet.Build(cpus);
        var files = new Dictionary<string, byte[]> { [AcpiTableSet.TablesFile] = set.Tables, [AcpiTableSet.RsdpFile] = set.Rsdp };
        var loaded = Execute(set.LoaderScript(), files, new() { [AcpiTableSet.TablesFile] = tablesAt, [AcpiTableSet.RsdpFile] = rsdpAt });

        byte[] rsdp = loaded[AcpiTableSet.RsdpFile].Data;
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal(0, Sum(rsdp.AsSpan(0, 20)));
        Assert.Equal(0, Sum(rsdp.AsSpan(0, 36)));
        byte[] xsdt = TableAt(loaded, BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(24)));
        Assert.Equal("XSDT", Encoding.ASCII.GetString(xsdt, 0, 4));
        var signatures = new List<string>();
        byte[]? fadt = null;
        for (int o = 36; o < xsdt.Length; o += 8)
        {
            byte[] t = TableAt(loaded, BinaryPrimitives.ReadUInt64LittleEndian(xsdt.AsSpan(o)));
            string sig = Encoding.ASCII.GetString(t, 0, 4);
            signatures.Add(sig);
            fadt = sig == "FACP" ? t : fadt;
        }

        Assert.Equal(["FACP", "APIC", "HPET"], signatures);
        byte[] rsdt = TableAt(loaded, BinaryPrimitives.ReadUInt32LittleEndian(rsdp.AsSpan(16)));
        Assert.Equal("RSDT", Encoding.ASCII.GetString(rsdt, 0, 4));
        Assert.Equal(0, Sum(rsdt));
        Assert.Equal(["FACP", "APIC", "HPET"], Enumerable.Range(0, (rsdt.Length - 36) / 4)
            .Select(i => Encoding.ASCII.GetString(TableAt(loaded, BinaryPrimitives.ReadUInt32LittleEndian(rsdt.AsSpan(36 + (4 * i)))), 0, 4)));
        ulong dsdt32 = BinaryPrimitives.ReadUInt32LittleEndian(fadt!.AsSpan(40));
        ulong dsdt64 = BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(140));
        Assert.Equal(dsdt32, dsdt64);
        Assert.Equal("DSDT", Encoding.ASCII.GetString(TableAt(loaded, dsdt64), 0, 4));

        // The FACS (no checksum): FIRMWARE_CTRL only, 64-byte aligned wherever the blob lands (ACPI 6.5 5.2.10).
        ulong facs = BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(36));
        Assert.Equal(0ul, BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(132)));
        Assert.Equal(0ul, facs % 64);
        (ulong blobAt, byte[] blob) = loaded[AcpiTableSet.TablesFile];
        Assert.InRange(facs, blobAt, blobAt + (ulong)blob.Length - 64);
        Assert.Equal("FACS", Encoding.ASCII.GetString(blob, (int)(facs - blobAt), 4));

        // The same bytes emu writes itself for a direct kernel boot at that address.
        (byte[] tables, byte[] linkedRsdp) = set.Link(tablesAt);
        Assert.Equal(tables, loaded[AcpiTableSet.TablesFile].Data);
        Assert.Equal(linkedRsdp, rsdp);
    }

    [Fact]
    public void CommandsAre128BytesWithNulTerminatedNames()
    {
        byte[] script = new FwCfgTableLoader().AllocateFile("etc/acpi/rsdp", 16, TableLoaderZone.FSeg)
            .AddPointerTo("etc/acpi/rsdp", "etc/acpi/tables", 24, 8).AddChecksumOf("etc/acpi/rsdp", 8, 0, 20).ToArray();
        Assert.Equal(3 * 128, script.Length);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(script));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(script.AsSpan(60)));
        Assert.Equal(2, script[64]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(script.AsSpan(128)));
        Assert.Equal("etc/acpi/tables", Name(script[128..256], 60));
        Assert.Equal(24u, BinaryPrimitives.ReadUInt32LittleEndian(script.AsSpan(128 + 116)));
        Assert.Equal(8, script[128 + 120]);
        Assert.Throws<ArgumentException>(() => new FwCfgTableLoader().AllocateFile(new string('x', 56), 16, TableLoaderZone.High));
    }
}
