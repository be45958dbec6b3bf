using System.Text.RegularExpressions;
using Emulator.Machines.Smbios;
using Emulator.Tests.EndToEnd.Control;
using Emulator.Tests.Kvm;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// SMBIOS tables from emu through fw_cfg ("etc/smbios/smbios-anchor", "etc/smbios/smbios-tables"),
/// installed by SeaBIOS, or placed by emu itself for --kernel, read by a stock Debian kernel. The
/// oracles are the kernel's own parsing (its "DMI: vendor product, BIOS version date" boot line and
/// /sys/class/dmi/id) against the values given with --smbios, and QEMU given the same -smbios options
/// booting the same disk through the same SeaBIOS (QEMU's IDE disks cannot be read-only: snapshot=on
/// keeps its writes off the image), or the same kernel with -kernel (where SeaBIOS runs too).
/// </summary>
public sealed class SmbiosTests
{
    private static readonly TimeSpan ShellTimeout = TimeSpan.FromMinutes(12);

    // Values with spaces and a comma (written twice on the command line, as QEMU wants it).
    private const string BiosVendor = "Test BIOS Vendor", BiosVersion = "4.2-emu", BiosDate = "07/14/2021";
    private const string Manufacturer = "Acme, Inc.", Product = "Road Runner 3000", Serial = "SN-0042", Uuid = "12345678-9abc-def0-1122-334455667788";

    private static readonly string[] Options =
    [
        "-smbios", $"type=0,vendor={BiosVendor},version={BiosVersion},date={BiosDate}",
        "-smbios", $"type=1,manufacturer={Manufacturer.Replace(",", ",,", StringComparison.Ordinal)},product={Product},serial={Serial},uuid={Uuid}",
    ];

    // What the kernel shows in /sys/class/dmi/id for the fields set above.
    private static readonly (string File, string Value)[] Fields =
    [
        ("bios_vendor", BiosVendor), ("bios_version", BiosVersion), ("bios_date", BiosDate),
        ("sys_vendor", Manufacturer), ("product_name", Product), ("product_serial", Serial), ("product_uuid", Uuid),
    ];

    // The structure types a QEMU guest of the PC machine gets.
    private static readonly string[] QemuTypes = ["0", "1", "3", "4", "16", "17", "19", "32", "127"];

    [SkippableFact]
    public void StockKernelUnderSeaBiosSeesTheFieldsGivenAndWhatQemuGives()
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        (string emuLine, Dictionary<string, string> emuSysfs, string emuTypes) = BootEmuWithTheFields("jit");

        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        (string qemuLine, Dictionary<string, string> qemuSysfs, _) = Boot(GuestConsole.StartQemu(
            ["-accel", "tcg", "-m", "512M", "-machine", "graphics=off", "-net", "none", "-bios", BootImages.SeaBios,
             "-drive", $"file={BootImages.Disk},if=ide,format=raw,snapshot=on", .. Options]));
        Assert.Equal(qemuLine, emuLine);
        Assert.All(Fields, f => Assert.Equal(qemuSysfs[f.File], emuSysfs[f.File]));

        // The structure types a QEMU guest sees are there too (the kernel lists every entry under /sys/firmware/dmi/entries).
        Assert.All(QemuTypes, t => Assert.Contains($" {t}-0 ", emuTypes, StringComparison.Ordinal));
    }

    [SkippableFact]
    public void StockKernelUnderSeaBiosSeesTheFieldsGivenUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        (_, _, string types) = BootEmuWithTheFields("kvm");
        Assert.All(QemuTypes, t => Assert.Contains($" {t}-0 ", types, StringComparison.Ordinal));
    }

    [SkippableFact]
    public void StockKernelBootedDirectlySeesTheFieldsGivenAndWhatQemuGives()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        (string emuLine, Dictionary<string, string> emuSysfs, string emuTypes) = BootEmuWithTheFields("jit", DirectBoot);

        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        (string qemuLine, Dictionary<string, string> qemuSysfs, string qemuTypes) = Boot(GuestConsole.StartQemu(
            ["-accel", "tcg", "-m", "512M", "-net", "none", "-bios", BootImages.SeaBios,
             "-kernel", GuestConsole.Kernel, "-initrd", GuestConsole.Initrd, "-append", "console=ttyS0", .. Options]));
        Assert.Equal(qemuLine, emuLine);
        Assert.All(Fields, f => Assert.Equal(qemuSysfs[f.File], emuSysfs[f.File]));
        Assert.All(QemuTypes, t => Assert.Contains($" {t}-0 ", qemuTypes, StringComparison.Ordinal));
        Assert.All(QemuTypes, t => Assert.Contains($" {t}-0 ", emuTypes, StringComparison.Ordinal));
    }

    [SkippableFact]
    public void StockKernelBootedDirectlySeesTheFieldsGivenUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        (_, _, string types) = BootEmuWithTheFields("kvm", DirectBoot);
        Assert.All(QemuTypes, t => Assert.Contains($" {t}-0 ", types, StringComparison.Ordinal));
    }

    // Without --smbios a directly booted kernel still finds tables: the system as under SeaBIOS
    // (emu's manufacturer and product), and emu, which plays the firmware, as the BIOS.
    [SkippableFact]
    public void StockKernelBootedDirectlyWithoutSmbiosSeesEmu()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        (string line, Dictionary<string, string> sysfs, string types) = Boot(GuestConsole.Start(["--accel", "jit", .. DirectBoot]));
        Assert.Equal($"DMI: {SmbiosTables.DefaultManufacturer} {SmbiosTables.DefaultProduct}, BIOS {KernelBootSmbios.BiosVersion} {KernelBootSmbios.BiosDate}", line);
        Assert.Equal(KernelBootSmbios.BiosVendor, sysfs["bios_vendor"]);
        Assert.Equal(SmbiosTables.DefaultManufacturer, sysfs["sys_vendor"]);
        Assert.Equal(SmbiosTables.DefaultProduct, sysfs["product_name"]);
        Assert.All(QemuTypes, t => Assert.Contains($" {t}-0 ", types, StringComparison.Ordinal));
    }

    // emu's options for the stock kernel booted directly (GuestConsole.Boot's).
    private static string[] DirectBoot => ["-m", "512M", "--kernel", GuestConsole.Kernel, "--initrd", GuestConsole.Initrd, "--append", "console=ttyS0"];

    // Boots under emu with the fields set and checks the kernel's view of them: from the disk through
    // SeaBIOS, or with <paramref name="boot"/>'s options.
    private static (string Line, Dictionary<string, string> Sysfs, string Types) BootEmuWithTheFields(string accel, string[]? boot = null)
    {
        string[] emuOptions = [.. Options.Select(o => o == "-smbios" ? "--smbios" : o)];
        (string line, Dictionary<string, string> sysfs, string types) = Boot(GuestConsole.Start(
            ["--accel", accel, .. boot ?? ["-m", "512M", "--drive", $"file={BootImages.Disk},if=ide,readonly=on"], .. emuOptions]));
        Assert.Equal($"DMI: {Manufacturer} {Product}, BIOS {BiosVersion} {BiosDate}", line);
        Assert.All(Fields, f => Assert.Equal(f.Value, sysfs[f.File]));
        return (line, sysfs, types);
    }

    [SkippableFact]
    public void WithoutType0TheFirmwareDescribesItselfAsUnderQemu()
    {
        Skip.If(BootImages.Missing is not null, BootImages.Missing);
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        (string emuLine, Dictionary<string, string> emuSysfs, _) = Boot(GuestConsole.Start(
            ["--accel", "jit", "-m", "512M", "--drive", $"file={BootImages.Disk},if=ide,readonly=on", "--smbios", $"type=1,product={Product}"]));
        (string qemuLine, Dictionary<string, string> qemuSysfs, _) = Boot(GuestConsole.StartQemu(
            ["-accel", "tcg", "-m", "512M", "-machine", "graphics=off", "-net", "none", "-bios", BootImages.SeaBios,
             "-drive", $"file={BootImages.Disk},if=ide,format=raw,snapshot=on", "-smbios", $"type=1,product={Product}"]));

        // SeaBIOS adds its own BIOS Information when the tables have none: the same in both.
        Assert.Equal("SeaBIOS", emuSysfs["bios_vendor"]);
        Assert.Equal(qemuSysfs["bios_vendor"], emuSysfs["bios_vendor"]);
        Assert.Equal(qemuSysfs["bios_version"], emuSysfs["bios_version"]);
        Assert.Equal(qemuSysfs["bios_date"], emuSysfs["bios_date"]);
        Assert.Equal(Product, emuSysfs["product_name"]);
        Assert.EndsWith($" {Product}, BIOS {qemuSysfs["bios_version"]} {qemuSysfs["bios_date"]}", emuLine, StringComparison.Ordinal);
        Assert.EndsWith($" {Product}, BIOS {qemuSysfs["bios_version"]} {qemuSysfs["bios_date"]}", qemuLine, StringComparison.Ordinal);
    }

    // A bad --smbios is one line naming the option, exit status 2, before the guest starts (the demo
    // ROM given as firmware would otherwise run until the timeout).
    [Theory]
    [InlineData("type=1,uuid=not-a-uuid", "is not a UUID")]
    [InlineData("type=3,manufacturer=x", "only type=0 (BIOS) and type=1 (system) can be set")]
    [InlineData("type=0,date=yesterday", "is not mm/dd/yyyy")]
    public void BadValueIsOneLineAndExitStatus2(string spec, string why)
    {
        string demo = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "demo", "demo.bin");
        EmuProcess.Result r = EmuProcess.Run(TimeSpan.FromSeconds(60), ["run", "--vga", "none", "--bios", demo, "--smbios", spec]);
        Assert.Equal(2, r.ExitCode);
        string error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"emu: --smbios {spec}: ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
        Assert.Empty(r.Stdout);
    }

    // Boots to the shell, returns the kernel's DMI line, the /sys/class/dmi/id files and the list of entries' types.
    private static (string Line, Dictionary<string, string> Sysfs, string Types) Boot(GuestConsole guest)
    {
        using (guest)
        {
            guest.WaitForShell(ShellTimeout);
            var sysfs = new Dictionary<string, string>();
            foreach ((string file, _) in Fields)
            {
                string output = guest.Command($"echo \"<$(cat /sys/class/dmi/id/{file})>\"", ">");
                sysfs[file] = Regex.Match(output, "<(.*)>\r?\n").Groups[1].Value;
            }

            string types = guest.Command("for e in /sys/firmware/dmi/entries/*; do echo \" ${e##*/} \"; done; echo end-of-list", "end-of-list");
            Assert.Equal(0, guest.PowerOff(TimeSpan.FromMinutes(2)));
            Match line = Regex.Match(guest.Output, @"DMI: ([^\r\n]*)");
            Assert.True(line.Success, $"the kernel printed its DMI line: {guest.Output}");
            return (line.Value.TrimEnd(), sysfs, types);
        }
    }
}
