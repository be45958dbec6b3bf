using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Emulator.Backends.Chardev;
using Emulator.Core.Memory;
using Emulator.Machines.Loaders;
using Emulator.Machines.Pc;
using Emulator.Machines.Smbios;
using Emulator.Tests.EndToEnd;
using Emulator.Tests.Firmware;
using Xunit;

namespace Emulator.Tests.Boot;

/// <summary>
/// The SMBIOS tables emu places itself for a directly booted kernel (here the multiboot test kernel;
/// the stock Linux kernel reads them in Tests/EndToEnd/SmbiosTests), found the way an OS without
/// EFI finds them: dmidecode reading the machine's physical memory as it reads /dev/mem scans
/// F0000-FFFFF for the entry point and decodes the table where it points.
/// </summary>
public sealed class KernelBootSmbiosTests : IDisposable
{
    private const ulong Memory = 64UL << 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("emu-kernel-smbios").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PcMachine Machine(SmbiosSettings smbios, int cpus = 1) => new(
        new PcConfig
        {
            MemoryBytes = Memory,
            Cpus = cpus,
            Vga = false,
            Kernel = new KernelBootConfig { KernelPath = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "multiboot.bin") },
            Smbios = smbios,
        },
        new NullSerialBackend());

    // The machine's physical memory as a file, as dmidecode -d reads /dev/mem: the first MiB and
    // the E820 map's reserved ranges above it at their addresses, the rest a hole.
    private string Dump(PcMachine machine)
    {
        string path = Path.Combine(_dir, "mem.bin");
        using var file = new FileStream(path, FileMode.Create);
        IEnumerable<(ulong Address, ulong Size)> ranges = machine.MemoryMap.Entries
            .Where(e => e.Type == E820Type.Reserved && e.Address >= PcMemoryMap.ExtendedStart)
            .Select(e => (e.Address, e.Size))
            .Prepend((0UL, PcMemoryMap.ExtendedStart));
        foreach ((ulong address, ulong size) in ranges)
        {
            byte[] bytes = new byte[size];
            machine.Platform.Memory.Read(new GuestPhysicalAddress(address), bytes);
            file.Position = (long)address;
            file.Write(bytes);
        }

        file.SetLength((long)Memory);
        return path;
    }

    [SkippableFact]
    public void AScanOfPhysicalMemoryFindsTheFieldsGivenInReservedMemory()
    {
        Skip.If(Dmidecode.Missing is not null, Dmidecode.Missing);
        string[] specs =
        [
            "type=0,vendor=Test BIOS Vendor,version=4.2-emu,date=07/14/2021,release=4.2",
            "type=1,manufacturer=Acme,, Inc.,product=Road Runner 3000,serial=SN-0042,uuid=12345678-9abc-def0-1122-334455667788",
        ];
        using PcMachine machine = Machine(specs.Aggregate(new SmbiosSettings(), SmbiosOption.Apply), cpus: 2);
        string output = Dmidecode.Decode("--no-sysfs", "-d", Dump(machine));

        Assert.Contains("SMBIOS 2.8 present.", output, StringComparison.Ordinal);
        ulong table = ulong.Parse(Regex.Match(output, @"Table at 0x([0-9A-F]{8})\.").Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Assert.Contains(machine.MemoryMap.Entries, e => e.Type == E820Type.Reserved && e.Address <= table && table < e.End && e.Address >= PcMemoryMap.ExtendedStart);

        string bios = SmbiosTablesTests.Block(output, 0);
        Assert.Contains("\tVendor: Test BIOS Vendor\n", bios, StringComparison.Ordinal);
        Assert.Contains("\tVersion: 4.2-emu\n", bios, StringComparison.Ordinal);
        Assert.Contains("\tRelease Date: 07/14/2021\n", bios, StringComparison.Ordinal);
        string system = SmbiosTablesTests.Block(output, 1);
        Assert.Contains("\tManufacturer: Acme, Inc.\n", system, StringComparison.Ordinal);
        Assert.Contains("\tProduct Name: Road Runner 3000\n", system, StringComparison.Ordinal);
        Assert.Contains("\tSerial Number: SN-0042\n", system, StringComparison.Ordinal);
        Assert.Contains("\tUUID: 12345678-9abc-def0-1122-334455667788\n", system, StringComparison.OrdinalIgnoreCase);
        // Two vCPUs are two cores of one socket: one processor structure.
        Assert.Equal(1, Regex.Count(output, "\nProcessor Information\n"));
        Assert.Contains("End Of Table", output, StringComparison.Ordinal);
    }

    // Without --smbios emu describes itself: as the system (the manufacturer and product the tables
    // have under SeaBIOS too) and, since no firmware adds its own, as the BIOS.
    [SkippableFact]
    public void WithoutSettingsEmuDescribesItselfAsTheBios()
    {
        Skip.If(Dmidecode.Missing is not null, Dmidecode.Missing);
        using PcMachine machine = Machine(new SmbiosSettings());
        string output = Dmidecode.Decode("--no-sysfs", "-d", Dump(machine));

        string bios = SmbiosTablesTests.Block(output, 0);
        Assert.Contains($"\tVendor: {KernelBootSmbios.BiosVendor}\n", bios, StringComparison.Ordinal);
        Assert.Contains($"\tVersion: {KernelBootSmbios.BiosVersion}\n", bios, StringComparison.Ordinal);
        Assert.Contains($"\tRelease Date: {KernelBootSmbios.BiosDate}\n", bios, StringComparison.Ordinal);
        string system = SmbiosTablesTests.Block(output, 1);
        Assert.Contains($"\tManufacturer: {SmbiosTables.DefaultManufacturer}\n", system, StringComparison.Ordinal);
        Assert.Contains($"\tProduct Name: {SmbiosTables.DefaultProduct}\n", system, StringComparison.Ordinal);
    }

    // The entry point goes where the built-in ROM has only its 0xFF padding, and a reset (which
    // reloads the ROM into the F segment) puts it back.
    [Fact]
    public void TheEntryPointSitsInTheBuiltInRomsPaddingAndSurvivesAReset()
    {
        ulong offset = KernelBootSmbios.EntryPointAddress - (PcMemoryMap.ExtendedStart - (ulong)DemoRom.Image.Length);
        Assert.All(DemoRom.Image.AsSpan((int)offset, 32).ToArray(), b => Assert.Equal(0xff, b));

        using PcMachine machine = Machine(new SmbiosSettings());
        var anchor = new GuestPhysicalAddress(KernelBootSmbios.EntryPointAddress);
        machine.Platform.Memory.Write(anchor, new byte[SmbiosTables.EntryPointLength]);
        machine.Reset();
        byte[] ep = new byte[SmbiosTables.EntryPointLength];
        machine.Platform.Memory.Read(anchor, ep);
        Assert.Equal("_SM_", Encoding.ASCII.GetString(ep, 0, 4));
        Assert.Equal("_DMI_", Encoding.ASCII.GetString(ep, 0x10, 5));
    }
}
