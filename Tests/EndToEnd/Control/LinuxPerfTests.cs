using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Tests.EndToEnd.Control;

/// <summary>
/// `emu kallsyms` and `emu perf` on the stock Debian kernel, with nothing taken from inside the guest
/// but the oracle: the guest's own /proc/kallsyms, read over its console for the comparison only.
/// The symbols emu finds in guest memory (KASLR included) must be lines of /proc/kallsyms; while the
/// guest copies /dev/zero to /dev/null the kernel has most of the time and every function `emu perf`
/// names is in /proc/kallsyms, and each sampled address lies in the function /proc/kallsyms puts it
/// in; the bzImage's own tables, moved by the KASLR offset, give lines of /proc/kallsyms too
/// (`emu kallsyms --from-kernel`, `emu perf --kallsyms-from-kernel`); `--kallsyms FILE` replaces them; during a shell loop that makes no system call the user-mode
/// share is above 75% (far from the kernel-bound dd's figure under 50%).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class LinuxPerfTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-linux-perf").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void PerfNamesTheKernelsOwnFunctionsAndTheUserShareOfAUserLoop()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string qmpSocket = Path.Combine(_dir, "qmp.sock");
        using GuestConsole guest = GuestConsole.Boot("--qmp", $"unix:{qmpSocket},server,wait=off");
        guest.WaitForShell(TimeSpan.FromMinutes(12));
        string pid = guest.Emu.Id.ToString(CultureInfo.InvariantCulture);

        // Every symbol emu found, as /proc/kallsyms prints them; a sample of them (and two known
        // ones) must be lines of the guest's /proc/kallsyms, addresses and type letters included.
        string[] found = [.. GuestProcess.Output(null, "kallsyms", pid).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
        Assert.True(found.Length > 20_000, $"emu found {found.Length} kernel symbols");
        var random = new Random(13);
        string[] sample = [.. found.Where(l => l.EndsWith(" linux_banner", StringComparison.Ordinal) || l.EndsWith(" __x64_sys_newuname", StringComparison.Ordinal))
            .Concat(Enumerable.Range(0, 30).Select(_ => found[random.Next(found.Length)]))];
        Assert.Equal(32, sample.Length);
        HashSet<string> lines = KallsymsLines(guest, sample.Select(l => l.Split(' ')[2]));
        Assert.All(sample, l => Assert.Contains(l, lines));

        // The same from the bzImage given with --kernel (decompressed, decoded, moved by the KASLR
        // offset): other random lines of that table must be lines of /proc/kallsyms too.
        string[] fromImage = [.. GuestProcess.Output(null, "kallsyms", pid, "--from-kernel").Split('\n', StringSplitOptions.RemoveEmptyEntries)];
        Assert.True(fromImage.Length > 20_000, $"emu found {fromImage.Length} kernel symbols in the bzImage");
        string[] imageSample = [.. fromImage.Where(l => l.EndsWith(" entry_SYSCALL_64", StringComparison.Ordinal)).Concat(Enumerable.Range(0, 15).Select(_ => fromImage[random.Next(fromImage.Length)]))];
        HashSet<string> imageLines = KallsymsLines(guest, imageSample.Select(l => l.Split(' ')[2]));
        Assert.All(imageSample, l => Assert.Contains(l, imageLines));

        // A kernel-bound workload: reading /dev/zero is clear_user in the kernel; /dev/null takes nothing.
        guest.Command("dd if=/dev/zero of=/dev/null bs=1M count=100000000 2>/dev/null & echo started-$((6*7))", "started-42");
        string folded = Path.Combine(_dir, "stacks.folded");
        JsonObject kernel = Perf(pid, "--duration", "3", "--json", "--top", "10", "--folded", folded);
        output.WriteLine(kernel.ToJsonString());
        Assert.True(kernel["user-share"]!.GetValue<double>() < 50, $"dd from /dev/zero spent most of its time in user mode: {kernel.ToJsonString()}");
        Assert.Equal("guest memory", kernel["kallsyms"]!.GetValue<string>());
        string[] named = [.. kernel["functions"]!.AsArray().Where(f => f!["share"]!.GetValue<double>() >= 2).Select(f => f!["function"]!.GetValue<string>())];
        Assert.NotEmpty(named);
        Assert.All(named, n => Assert.False(n.StartsWith("0x", StringComparison.Ordinal), $"a hot kernel address has no name: {n}"));
        HashSet<string> hot = KallsymsLines(guest, named);
        Assert.All(named, n => Assert.Contains(hot, l => l.EndsWith($" {n}", StringComparison.Ordinal) && "tTwW".Contains(l[17], StringComparison.Ordinal)));
        long periods = kernel["user"]!.GetValue<long>() + kernel["kernel"]!.GetValue<long>();
        Assert.Equal(periods, File.ReadAllLines(folded).Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)));

        // The addresses behind the names: each sampled kernel address lies in the text symbol that
        // /proc/kallsyms puts it in (the highest one at or below it), which is the one emu named.
        JsonArray stacks;
        using (RawQmp qmp = RawQmp.Connect(qmpSocket, TimeSpan.FromSeconds(30)))
        {
            qmp.Send("""{"execute":"qmp_capabilities"}""");
            stacks = qmp.Send("""{"execute":"x-emu-profile","arguments":{"frequency":200,"duration-ms":1000}}""")["return"]!["kernel-stacks"]!.AsArray();
        }

        (string Pc, string Function)[] leaves = [.. stacks.Take(4).Select(s => (s!["pcs"]![0]!.GetValue<string>()[2..].PadLeft(16, '0'), s["functions"]![0]?.GetValue<string>() ?? "(no name)"))];
        Assert.NotEmpty(leaves);
        foreach ((string pc, string function) in leaves)
        {
            string containing = guest.Command(
                $"awk -v p={pc} '$2 ~ /^[tTwW]$/ && $4 == \"\" && $1 <= p && $1 >= at {{ if ($1 > at) {{ at = $1; n = \"\" }} n = n \",\" $3 }} " +
                "END { print \"in \" p \" \" at n \",\" }' /proc/kallsyms; echo done-$((6*7))",
                "done-42");
            Match m = Regex.Match(containing, $@"in {pc} [0-9a-f]{{16}}(,\S*)");
            Assert.True(m.Success, $"no symbol of /proc/kallsyms holds {pc}: {containing}");
            Assert.Contains($",{function},", m.Groups[1].Value, StringComparison.Ordinal);
        }

        // --kallsyms FILE replaces the symbols found in memory: the same table with every name marked.
        string map = Path.Combine(_dir, "System.map");
        File.WriteAllLines(map, found.Select(l => l[..19] + "file_" + l[19..]));
        JsonObject fromKernel = Perf(pid, "--duration", "1", "--json", "--kallsyms-from-kernel");
        Assert.StartsWith($"{GuestConsole.Kernel} (KASLR offset 0x", fromKernel["kallsyms"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(fromKernel["functions"]!.AsArray(), f => named.Contains(f!["function"]!.GetValue<string>()));
        JsonObject fromFile = Perf(pid, "--duration", "1", "--json", "--kallsyms", map);
        Assert.Equal(map, fromFile["kallsyms"]!.GetValue<string>());
        string[] fileNames = [.. fromFile["functions"]!.AsArray().Select(f => f!["function"]!.GetValue<string>())];
        Assert.Contains(fileNames, n => n.StartsWith("file_", StringComparison.Ordinal) && named.Contains(n[5..]));
        Assert.All(fileNames, n => Assert.True(n.StartsWith("file_", StringComparison.Ordinal) || n.StartsWith("0x", StringComparison.Ordinal), n));

        guest.Command("kill $! && echo stopped-$((6*7))", "stopped-42");

        // A loop of the shell's own built-ins: no system calls, so (timer interrupts aside) user mode.
        // The samples are taken in host time, and the timer interrupt's path (APIC and TSC-deadline
        // MSR writes that leave translated code) costs more host time per tick on a slow or busy
        // host: 94.8% on a quiet Intel host, 88.2% on a CI machine. Attribution that confused the
        // modes would put this near the dd figure above (under 50%).
        guest.Command("while :; do :; done & echo looping-$((6*7))", "looping-42");
        JsonObject user = Perf(pid, "--duration", "3", "--json");
        output.WriteLine(user.ToJsonString());
        Assert.True(user["user-share"]!.GetValue<double>() > 75, $"user-mode share {user["user-share"]} during a user-mode loop");
        guest.Command("kill $! && echo stopped-$((6*7))", "stopped-42");
        Assert.Equal(0, guest.PowerOff(TimeSpan.FromMinutes(2)));
    }

    // The lines of the guest's /proc/kallsyms whose name is one of these (core kernel and modules),
    // asked a few names at a time: the console drops what a long typed line sends past the UART's FIFO.
    private static HashSet<string> KallsymsLines(GuestConsole guest, IEnumerable<string> names)
    {
        var lines = new HashSet<string>();
        foreach (string[] some in names.Distinct().Chunk(4))
        {
            string condition = string.Join(" || ", some.Select(n => $"$3 == \"{n}\""));
            string text = guest.Command($"awk '{condition} {{ print \"sym \" $0 }}' /proc/kallsyms; echo done-$((6*7))", "done-42");
            lines.UnionWith(SymbolLine().Matches(text).Select(m => m.Groups[1].Value));
        }

        return lines;
    }

    private static JsonObject Perf(string guest, params string[] args) => JsonNode.Parse(GuestProcess.Output(null, ["perf", guest, .. args]))!.AsObject();

    [GeneratedRegex(@"sym ([0-9a-f]{16} \w \S+)")]
    private static partial Regex SymbolLine();
}
