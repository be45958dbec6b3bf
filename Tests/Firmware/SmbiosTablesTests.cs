using System.Text.RegularExpressions;
using Emulator.Machines.Smbios;
using Xunit;

namespace Emulator.Tests.Firmware;

/// <summary>
/// emu's SMBIOS entry point and structure table decoded by dmidecode (Debian's, which follows
/// DSP0134 and says where a structure is out of spec), from a dump file laid out as its
/// <c>--dump-bin</c> writes one: the entry point at offset 0, the table at offset 20h.
/// </summary>
public sealed class SmbiosTablesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-smbios").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Decode(SmbiosTables tables)
    {
        string dump = Path.Combine(_dir, "smbios.bin");
        const int TableOffset = 0x20;
        File.WriteAllBytes(dump, [.. tables.EntryPoint(TableOffset), .. new byte[TableOffset - SmbiosTables.EntryPointLength], .. tables.Table]);
        return Dmidecode.Decode("--from-dump", dump);
    }

    /// <summary>dmidecode's block for the one structure of a type (between its "Handle" line and the next blank line).</summary>
    internal static string Block(string output, int type) => Assert.Single(Regex.Matches(output, $@"Handle 0x[0-9A-F]{{4}}, DMI type {type}, [^\n]*\n(.*?\n)\n", RegexOptions.Singleline)).Groups[1].Value;

    private static readonly string[] Specs =
    [
        "type=0,vendor=Test BIOS Vendor,version=4.2-emu,date=07/14/2021,release=4.2",
        "type=1,manufacturer=Acme,, Inc.,product=Road Runner 3000,version=v1,serial=SN-0042,uuid=12345678-9abc-def0-1122-334455667788,sku=SKU-7,family=Birds",
    ];

    [SkippableFact]
    public void TheFieldsGivenDecodeAsGiven()
    {
        Skip.If(Dmidecode.Missing is not null, Dmidecode.Missing);
        SmbiosSettings settings = Specs.Aggregate(new SmbiosSettings(), SmbiosOption.Apply);
        string output = Decode(SmbiosTables.Build(settings, cpus: 1, memoryBytes: 512UL << 20));

        Assert.Contains("SMBIOS 2.8 present.", output, StringComparison.Ordinal);
        string bios = Block(output, 0);
        Assert.Contains("\tVendor: Test BIOS Vendor\n", bios, StringComparison.Ordinal);
        Assert.Contains("\tVersion: 4.2-emu\n", bios, StringComparison.Ordinal);
        Assert.Contains("\tRelease Date: 07/14/2021\n", bios, StringComparison.Ordinal);
        Assert.Contains("\tBIOS Revision: 4.2\n", bios, StringComparison.Ordinal);
        Assert.Contains("\t\tSystem is a virtual machine\n", bios, StringComparison.Ordinal);

        string system = Block(output, 1);
        Assert.Contains("\tManufacturer: Acme, Inc.\n", system, StringComparison.Ordinal);
        Assert.Contains("\tProduct Name: Road Runner 3000\n", system, StringComparison.Ordinal);
        Assert.Contains("\tVersion: v1\n", system, StringComparison.Ordinal);
        Assert.Contains("\tSerial Number: SN-0042\n", system, StringComparison.Ordinal);
        Assert.Contains("\tUUID: 12345678-9abc-def0-1122-334455667788\n", system, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\tSKU Number: SKU-7\n", system, StringComparison.Ordinal);
        Assert.Contains("\tFamily: Birds\n", system, StringComparison.Ordinal);

        Assert.Contains("\tStatus: No errors detected\n", Block(output, 32), StringComparison.Ordinal);
        Assert.Contains("End Of Table", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void WithoutType0TheFirmwareIsLeftToDescribeItself()
    {
        Skip.If(Dmidecode.Missing is not null, Dmidecode.Missing);
        string output = Decode(SmbiosTables.Build(new SmbiosSettings(), cpus: 1, memoryBytes: 128UL << 20));
        Assert.DoesNotContain("DMI type 0,", output, StringComparison.Ordinal);
        Assert.Contains("DMI type 1,", output, StringComparison.Ordinal);
    }

    // 20 GiB on 3 vCPUs: one processor structure for the one socket of 3 cores (QEMU 7.2's -smp 3:
    // socket-id 0, core-id 0-2 in query-cpus-fast, one type 4 per socket), the RAM in two devices of at most 16 GiB, and
    // two mapped ranges around the PCI hole (3 GiB below it; 17 GiB from 4 GiB, ending at 21 GiB - 1).
    [SkippableFact]
    public void ProcessorsAndMemoryDescribeTheMachine()
    {
        Skip.If(Dmidecode.Missing is not null, Dmidecode.Missing);
        string output = Decode(SmbiosTables.Build(new SmbiosSettings(), cpus: 3, memoryBytes: 20UL << 30));

        MatchCollection processors = Regex.Matches(output, @"Processor Information\n(.*?)\n\n", RegexOptions.Singleline);
        string p = Assert.Single(processors).Groups[1].Value;
        Assert.Contains("\tSocket Designation: CPU 0\n", p, StringComparison.Ordinal);
        Assert.Contains("\tType: Central Processor\n", p, StringComparison.Ordinal);
        Assert.Contains("\tStatus: Populated, Enabled\n", p, StringComparison.Ordinal);
        Assert.Contains("\tCore Count: 3\n", p, StringComparison.Ordinal);
        Assert.Contains("\tCore Enabled: 3\n", p, StringComparison.Ordinal);
        Assert.Contains("\tThread Count: 3\n", p, StringComparison.Ordinal);

        string array = Block(output, 16);
        Assert.Contains("\tUse: System Memory\n", array, StringComparison.Ordinal);
        Assert.Contains("\tMaximum Capacity: 20 GB\n", array, StringComparison.Ordinal);
        Assert.Contains("\tNumber Of Devices: 2\n", array, StringComparison.Ordinal);

        string[] sizes = [.. Regex.Matches(output, @"Memory Device\n.*?\tSize: ([^\n]*)\n", RegexOptions.Singleline).Select(m => m.Groups[1].Value)];
        Assert.Equal(["16 GB", "4 GB"], sizes);

        string[] ranges = [.. Regex.Matches(output, @"Memory Array Mapped Address\n\tStarting Address: (\S+)\n\tEnding Address: (\S+)\n\tRange Size: ([^\n]*)\n")
            .Select(m => $"{m.Groups[1].Value}-{m.Groups[2].Value} {m.Groups[3].Value}")];
        Assert.Equal(["0x00000000000-0x000BFFFFFFF 3 GB", "0x00100000000-0x0053FFFFFFF 17 GB"], ranges);
    }

    // A snapshot records the settings as --smbios values: applied again, they give the same settings.
    [Theory]
    [InlineData("")]
    [InlineData("type=1,product=Road Runner 3000")]
    [InlineData("type=0,release=0.0")]
    [InlineData("type=1,family=x,,y|type=0,vendor=Test BIOS Vendor,version=4.2-emu,date=07/14/2021,release=4.2|"
        + "type=1,manufacturer=Acme,, Inc.,product=Road Runner 3000,version=v1,serial=SN-0042,uuid=12345678-9ABC-def0-1122-334455667788,sku=SKU-7,family=Birds,,,,")]
    public void SpecsGiveTheSettingsBack(string values)
    {
        string[] given = values.Split('|', StringSplitOptions.RemoveEmptyEntries);
        SmbiosSettings settings = given.Aggregate(new SmbiosSettings(), SmbiosOption.Apply);
        IReadOnlyList<string> specs = SmbiosOption.Specs(settings);
        Assert.Equal(settings, specs.Aggregate(new SmbiosSettings(), SmbiosOption.Apply));
        Assert.Equal(given.Length == 0 ? 0 : given.Select(g => g[..6]).Distinct().Count(), specs.Count);
    }

    [Theory]
    [InlineData("type=2,manufacturer=x", "only type=0 (BIOS) and type=1 (system) can be set")]
    [InlineData("vendor=x", "expected type=0 or type=1 first")]
    [InlineData("type=1", "sets no field")]
    [InlineData("type=1,uuid=1234", "is not a UUID")]
    [InlineData("type=1,colour=red", "type=1 has no field 'colour'")]
    [InlineData("type=0,date=2021-07-14", "is not mm/dd/yyyy")]
    [InlineData("type=0,release=4", "is not MAJOR.MINOR")]
    [InlineData("type=1,serial=", "must be 1 to 64 printable ASCII characters")]
    [InlineData("type=1,product=caf\u00e9", "must be 1 to 64 printable ASCII characters")]
    public void BadValuesAreRefused(string spec, string why)
    {
        FormatException e = Assert.Throws<FormatException>(() => SmbiosOption.Apply(new SmbiosSettings(), spec));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }
}
