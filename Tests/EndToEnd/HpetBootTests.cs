using System.Diagnostics;
using System.Text.RegularExpressions;
using Emulator.Tests.EndToEnd.Control;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The stock Debian kernel and the HPET: it must find the block as it does under QEMU TCG with the
/// same memory (QEMU's <c>hpet0:</c> lines are the oracle), take it as its clocksource when asked,
/// and keep time with it (the host's clock is the oracle for <c>sleep 2</c>). One boot each.
/// </summary>
public sealed partial class HpetBootTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    private static string[] Boot => ["-m", "512M", "--kernel", GuestConsole.Kernel, "--initrd", GuestConsole.Initrd, "--append", "console=ttyS0 clocksource=hpet"];

    [SkippableFact]
    public void StockKernelFindsTheHpetAsUnderQemuAndKeepsTimeWithIt()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string[] emuLines;
        using (GuestConsole guest = GuestConsole.Start(["--accel", "jit", .. Boot]))
        {
            guest.WaitForShell(Timeout);
            guest.Command("cat /sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\r\n");

            // The same command line with "sleep 0", then with a two-second sleep timed by the
            // guest's clocksource: the difference is what the guest's two seconds lasted in host
            // time. The lines are typed alike, so only the sleep differs; the round trip of a
            // typed line varies by a tenth of a second or more on a busy host, which two seconds
            // make a small part of. An HPET counting at another rate than the period it advertises
            // is off by a factor (counting at 10 MHz with a 10 ns period: 10 s per guest second).
            var watch = Stopwatch.StartNew();
            guest.Command("sleep 0; echo $((40+2))", "42\r\n");
            TimeSpan roundTrip = watch.Elapsed;
            watch.Restart();
            guest.Command("sleep 2; echo $((40+3))", "43\r\n");
            TimeSpan slept = watch.Elapsed - roundTrip;
            Assert.True(slept.TotalSeconds is > 1.7 and < 3.2, $"sleep 2 took {slept.TotalSeconds:F3} s of host time (a line's round trip: {roundTrip.TotalSeconds:F3} s)");

            Assert.Equal(0, guest.PowerOff(TimeSpan.FromMinutes(2)));
            emuLines = HpetLines(guest.Output);
        }

        Assert.Equal(2, emuLines.Length);
        Skip.If(GuestProcess.QemuMissing is not null, GuestProcess.QemuMissing);
        using GuestConsole qemu = GuestConsole.StartQemu(["-accel", "tcg", "-net", "none", "-kernel", GuestConsole.Kernel, "-initrd", GuestConsole.Initrd, .. Boot[..2], "-append", "console=ttyS0 clocksource=hpet"]);
        qemu.WaitForOutput("Switched to clocksource hpet", Timeout);
        Assert.Equal(HpetLines(qemu.Output), emuLines);
    }

    // "hpet0: at MMIO 0xfed00000, IRQs 2, 8, 0" and "hpet0: 3 comparators, 64-bit 100.000000 MHz counter", without their time stamps.
    private static string[] HpetLines(string console) => [.. HpetLine().Matches(console).Select(m => m.Groups[1].Value.TrimEnd())];

    [GeneratedRegex(@"\] (hpet0: [^\r\n]*)")]
    private static partial Regex HpetLine();
}
