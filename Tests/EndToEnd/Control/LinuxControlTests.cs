using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// The stock Debian kernel (scripts/guest-images.sh) booted once with a gdbstub and a QMP socket:
/// real gdb reads the kernel's registers and memory through its 4-level page tables, breaks at the
/// address emu finds for a kernel function in guest memory (`emu kallsyms`, checked against the
/// guest's own /proc/kallsyms), steps, and detaches; QMP's
/// system_powerdown sets the ACPI power button's status bit the kernel reads. The oracles are the guest's
/// /proc/kallsyms and /proc/version, gdb's own disassembler, and the kernel's view of the fixed ACPI events.
/// </summary>
public sealed partial class LinuxControlTests : IDisposable
{
    private static readonly TimeSpan Gdb = TimeSpan.FromMinutes(5);
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-linux-control").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void GdbBreaksAtAKernelSymbolAndPowerdownPressesThePowerButton()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        Skip.If(GdbBatch.Missing is not null, GdbBatch.Missing);
        string gdbSocket = Path.Combine(_dir, "gdb.sock");
        string qmpSocket = Path.Combine(_dir, "qmp.sock");
        using GuestConsole guest = GuestConsole.Boot("--gdb", $"unix:{gdbSocket}", "--qmp", $"unix:{qmpSocket},server,wait=off", "--name", "linux");
        guest.WaitForShell(TimeSpan.FromMinutes(12));

        string kallsyms = guest.Command("grep -E ' (linux_banner|__x64_sys_newuname)$' /proc/kallsyms", "__x64_sys_newuname");
        Dictionary<string, string> symbols = Symbol().Matches(kallsyms).ToDictionary(m => m.Groups[2].Value, m => m.Groups[1].Value);
        string version = guest.Command("cat /proc/version", "Linux version");
        string banner = version.Split('\n').Select(l => l.Trim('\r')).First(l => l.StartsWith("Linux version", StringComparison.Ordinal));

        // gdb breaks at the address emu found in guest memory (`emu kallsyms`), which must be the one
        // the guest's /proc/kallsyms gives.
        string found = GuestProcess.Output(null, "kallsyms", guest.Emu.Id.ToString(CultureInfo.InvariantCulture), "--name", "__x64_sys_newuname").Trim();
        Assert.Matches($"^{symbols["__x64_sys_newuname"]} [tT] __x64_sys_newuname$", found);
        string newuname = found[..16];

        var gdb = Process.Start(new ProcessStartInfo("gdb", [
            "-batch", "-nx",
            "-ex", $"target remote {gdbSocket}",
            "-ex", "printf \"A rip=%lx cs=%x efer=%lx cr0=%lx\\n\", $rip, $cs, $efer, $cr0",
            "-ex", $"x/s 0x{symbols["linux_banner"]}",
            "-ex", $"break *0x{newuname}",
            "-ex", "continue",
            "-ex", "printf \"B rip=%lx\\n\", $rip",
            "-ex", "x/2i $pc",
            "-ex", "stepi",
            "-ex", "printf \"C rip=%lx\\n\", $rip",
            "-ex", "delete",
            "-ex", "detach",
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        })!;
        gdb.StandardInput.Close();
        Task<string> gdbOut = gdb.StandardOutput.ReadToEndAsync();
        Task<string> gdbErr = gdb.StandardError.ReadToEndAsync();

        // uname(2) is __x64_sys_newuname: typing uname makes the guest reach the breakpoint. The
        // command is typed until gdb has stopped there (its continue may come after the first one).
        var watch = Stopwatch.StartNew();
        while (!gdb.HasExited && watch.Elapsed < Gdb)
        {
            guest.Type("uname");
            gdb.WaitForExit(TimeSpan.FromSeconds(5));
        }

        Assert.True(gdb.HasExited, $"gdb did not finish: {gdbOut}");
        string output = gdbOut.Result + gdbErr.Result;
        ulong rip = GdbBatch.Value(output, "A", "rip");
        Assert.True(rip >= 0xFFFF_FFFF_8000_0000, $"stopped outside the kernel's text: 0x{rip:x}\n{output}");
        Assert.Equal(0x10ul, GdbBatch.Value(output, "A", "cs")); // __KERNEL_CS (arch/x86/include/asm/segment.h)
        Assert.Equal(0x500ul, GdbBatch.Value(output, "A", "efer") & 0x500); // EFER.LME and LMA (Intel SDM Vol. 3A 2.2.1)
        Assert.Equal(0x8000_0001ul, GdbBatch.Value(output, "A", "cr0") & 0x8000_0001); // PG and PE
        Assert.Contains($"0x{symbols["linux_banner"]}:\t\"{banner}\\n\"", output, StringComparison.Ordinal);
        ulong function = ulong.Parse(symbols["__x64_sys_newuname"], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        Assert.Equal(function, GdbBatch.Value(output, "B", "rip"));
        // The address of the second instruction, as gdb's own disassembler decodes the first.
        Match second = NextInstruction().Match(output[output.IndexOf("B rip=", StringComparison.Ordinal)..]);
        Assert.True(second.Success, output);
        Assert.Equal(ulong.Parse(second.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture), GdbBatch.Value(output, "C", "rip"));
        Assert.Contains("detached", output, StringComparison.Ordinal);
        guest.Command("echo still $((6 * 7))", "still 42");

        // The power button: the kernel shows each fixed ACPI event's status bit as it reads it from
        // PM1_STS ("STS", Documentation/ABI/testing/sysfs-firmware-acpi). The busybox guest loads no
        // button driver, so the event stays disabled and the bit stays set: the kernel saw the press.
        string before = guest.Command("cat /sys/firmware/acpi/interrupts/ff_pwr_btn", "unmasked");
        Assert.DoesNotContain("STS", before, StringComparison.Ordinal);
        using (RawQmp qmp = RawQmp.Connect(qmpSocket, TimeSpan.FromSeconds(30)))
        {
            qmp.Send("""{"execute":"qmp_capabilities"}""");
            Assert.True(qmp.Send("""{"execute":"system_powerdown"}""")["return"] is JsonObject);
            Assert.Equal("POWERDOWN", qmp.Events.Single()["event"]!.GetValue<string>());
        }

        string after = guest.Command("cat /sys/firmware/acpi/interrupts/ff_pwr_btn", "unmasked");
        Assert.Contains("STS", after, StringComparison.Ordinal);

        int? status = guest.PowerOff(TimeSpan.FromMinutes(2));
        Assert.Equal(0, status);
    }

    [GeneratedRegex(@"([0-9a-f]{16}) \w (\S+)")]
    private static partial Regex Symbol();

    [GeneratedRegex(@"\n\s+0x([0-9a-f]+):\s")]
    private static partial Regex NextInstruction();
}
