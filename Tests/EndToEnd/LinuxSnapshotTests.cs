using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emulator.Tests.EndToEnd.Control;
using Emulator.Tests.Kvm;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The stock Debian kernel and busybox (scripts/guest-images.sh) with a counter loop on its serial
/// console: stopped over QMP, saved with `emu snapshot save PID FILE`, emu killed with SIGKILL, and
/// `emu run --restore` continues the guest: the next counts follow the last one printed before the
/// snapshot, and the shell still answers. Where KVM is usable the restore runs under the other backend.
/// A restored guest that reboots finds the SMBIOS tables of the machine it was saved from.
/// </summary>
public sealed partial class LinuxSnapshotTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-linux-snapshot").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void CounterLoopContinuesAfterRestore()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string qmp = Path.Combine(_dir, "qmp.sock");
        string file = Path.Combine(_dir, "linux.emusnap");
        string before;
        using (GuestConsole guest = GuestConsole.Boot("--qmp", $"unix:{qmp},server,wait=off"))
        {
            guest.WaitForShell(TimeSpan.FromMinutes(12));
            guest.Type("i=0; while [ $i -lt 100000 ]; do echo \"count $i\"; i=$((i+1)); sleep 0.2; done &");
            guest.WaitForOutput("count 5\r\n", TimeSpan.FromMinutes(2));
            before = SaveAndKill(guest, qmp, file);
        }

        int last = Counts(before).Last();
        // Under KVM where it has hardware virtualization: a KVM that emulates every instruction
        // (this project's nested machines) also lacks SMEP, SMAP and PKU, which the guest enabled
        // under the software CPU, and refuses the state (emu says so in one line and exits).
        string accel = KvmHost.NotFastReason is null ? "kvm" : "jit";
        var clock = Stopwatch.StartNew();
        using GuestConsole restored = GuestConsole.Start("--restore", file, "--accel", accel);
        restored.WaitForOutput($"count {last + 1}\r\n", TimeSpan.FromMinutes(2));
        output.WriteLine($"restored under {accel}: count {last + 1} {clock.Elapsed.TotalSeconds:0.00} s after emu started");
        restored.WaitForOutput($"count {last + 3}\r\n", TimeSpan.FromMinutes(2));
        List<int> after = Counts(restored.Output);
        Assert.Equal(last + 1, after[0]);
        for (int i = 1; i < after.Count; i++)
        {
            Assert.Equal(after[i - 1] + 1, after[i]);
        }

        restored.Type("kill %1");
        restored.Command("echo restored $((6 * 7))", "restored 42");
        Assert.Equal(0, restored.PowerOff(TimeSpan.FromMinutes(2)));
    }

    // The restored machine has the saved one's SMBIOS settings: when the restored guest reboots, emu
    // lays out the tables again from them, and the kernel finds the product name given before.
    [SkippableFact]
    public void ARestoredGuestRebootsIntoTheSameSmbiosTables()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        const string Product = "Road Runner 3000";
        string qmp = Path.Combine(_dir, "qmp.sock");
        string file = Path.Combine(_dir, "smbios.emusnap");
        using (GuestConsole guest = GuestConsole.Boot("--qmp", $"unix:{qmp},server,wait=off", "--smbios", $"type=1,product={Product}"))
        {
            guest.WaitForShell(TimeSpan.FromMinutes(12));
            SaveAndKill(guest, qmp, file);
        }

        using GuestConsole restored = GuestConsole.Start("--restore", file, "--accel", "jit");
        restored.Type("reboot -f");
        restored.WaitForOutput($"DMI: emu {Product}, BIOS ", TimeSpan.FromMinutes(5));
        restored.WaitForShell(TimeSpan.FromMinutes(12));
        restored.Command("cat /sys/class/dmi/id/product_name", $"{Product}\r\n");
        Assert.Equal(0, restored.PowerOff(TimeSpan.FromMinutes(2)));
    }

    // Stops the guest over QMP, saves it to <paramref name="file"/> with `emu snapshot save`, kills
    // emu and returns what the guest had printed.
    private string SaveAndKill(GuestConsole guest, string qmp, string file)
    {
        using (RawQmp control = RawQmp.Connect(qmp, TimeSpan.FromSeconds(30)))
        {
            control.Send("""{"execute":"qmp_capabilities"}""");
            Assert.True(control.Send("""{"execute":"stop"}""")["return"] is JsonObject);
            EmuProcess.Result save = EmuProcess.Run(TimeSpan.FromMinutes(2), "snapshot", "save", guest.Emu.Id.ToString(CultureInfo.InvariantCulture), file);
            Assert.True(save.ExitCode == 0, save.Stdout + save.Stderr);
            output.WriteLine(save.Stdout);
        }

        Thread.Sleep(500); // the console reader has everything the stopped guest printed
        string printed = guest.Output;
        guest.Emu.Kill();
        guest.Emu.WaitForExit();
        return printed;
    }

    private static List<int> Counts(string text) =>
        [.. Count().Matches(text).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"count (\d+)\r\n")]
    private static partial Regex Count();
}
