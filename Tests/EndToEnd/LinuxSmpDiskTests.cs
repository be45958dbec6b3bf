using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Emulator.Core.Cpu;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// One boot of the Debian guest with two CPUs and an ext4 disk made on the host (mkfs.ext4 -d),
/// checking both at once to keep CI short: the kernel brings up the second CPU, reports the caches
/// of CPUID leaf 04H with their sharing (sysfs), and runs a command pinned to each (taskset); the guest mounts the disk, reads the host's file, writes its own, syncs
/// and unmounts; after poweroff the host's e2fsck finds the file system clean and debugfs reads the
/// guest's file back byte for byte.
/// </summary>
public sealed class LinuxSmpDiskTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-linux-disk-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void TwoCpusRunPinnedCommandsAndAnExt4DiskKeepsWhatTheGuestWrote()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string? mkfs = Tool("mkfs.ext4"), debugfs = Tool("debugfs"), e2fsck = Tool("e2fsck");
        Skip.If(mkfs is null || debugfs is null || e2fsck is null, "mkfs.ext4, debugfs and e2fsck (e2fsprogs) are needed to make and check the disk; .ci/run installs them");

        // The host's file: 200 KiB of text no guest could guess, so the guest's hash proves it read the disk.
        string content = Path.Combine(_dir, "content");
        Directory.CreateDirectory(content);
        var random = new Random(4);
        string hostText = string.Concat(Enumerable.Range(0, 200 * 1024 / 33).Select(_ => $"{random.NextInt64():x16}{random.NextInt64():x16}\n"));
        File.WriteAllText(Path.Combine(content, "host.txt"), hostText);
        string image = Path.Combine(_dir, "disk.img");
        (int made, string mkfsOut) = Run(mkfs!, "-q", "-F", "-d", content, image, "32M");
        Assert.True(made == 0, $"mkfs.ext4 failed: {mkfsOut}");
        string hostHash = Hex(Encoding.ASCII.GetBytes(hostText));

        using GuestConsole guest = GuestConsole.Boot("--smp", "2", "--drive", $"file={image}");
        guest.WaitForShell(TimeSpan.FromMinutes(15));

        // Each check echoes a computed marker, so the command's own echo on the console cannot match it.
        guest.Command("echo cpus=$(grep -c ^processor /proc/cpuinfo)", "cpus=2");
        guest.Command("dmesg | grep -o 'Brought up.*'", "Brought up 1 node, 2 CPUs");
        // Each CPU's tick comes from its local APIC in TSC-deadline mode (the kernel's clock event
        // device "lapic-deadline", kernel/time/timer_list.c), which the boot so far has relied on.
        guest.Command("echo deadline-timers=$(grep -c 'Clock Event Device: lapic-deadline' /proc/timer_list)", "deadline-timers=2");
        foreach (int cpu in new[] { 0, 1 })
        {
            // The kernel's view of CPUID leaf 04H (drivers/base/cacheinfo.c, arch/x86/kernel/cpu/cacheinfo.c):
            // the caches and their geometry as the SDM decodes the model's leaf, L1 and L2 private
            // to the CPU and the L3 shared by both.
            guest.Command(
                $"for d in /sys/devices/system/cpu/cpu{cpu}/cache/index*; do printf '%s/' $(cat $d/level $d/type $d/size $d/ways_of_associativity $d/coherency_line_size $d/number_of_sets $d/physical_line_partition $d/shared_cpu_list); printf '; '; done; echo",
                ExpectedCaches(cpu, processors: 2));

            // Field 39 of /proc/PID/stat is the CPU the task last ran on (proc(5)); cut inherits the pinning.
            guest.Command($"taskset -c {cpu} sh -c 'echo ran-on-cpu-$(cut -d\" \" -f39 /proc/self/stat)'", $"ran-on-cpu-{cpu}");
        }

        guest.Command("mount -t ext4 /dev/vda /mnt && sha256sum /mnt/host.txt", hostHash);

        // 1 MB from the guest plus a short line: whatever sits in the page cache must reach the image.
        string guestText = string.Concat(Enumerable.Repeat("written by the guest\n", 50_000));
        guest.Command("yes 'written by the guest' | head -c 1050000 > /mnt/guest.txt && echo note-$((6*7)) > /mnt/note.txt && sync && umount /mnt && echo unmounted-$((6*7))", "unmounted-42");

        int? status = guest.PowerOff(TimeSpan.FromMinutes(2));
        Assert.True(status == 0, $"emu exit status {status?.ToString() ?? "none (still running)"} after poweroff -f; stderr: {guest.Stderr}");

        (int fsck, string fsckOut) = Run(e2fsck!, "-fn", image);
        Assert.True(fsck == 0, $"e2fsck -fn found problems (status {fsck}):\n{fsckOut}");
        Assert.Equal(Hex(Encoding.ASCII.GetBytes(guestText)), Hex(Encoding.Latin1.GetBytes(Run(debugfs!, "-R", "cat /guest.txt", image).Output)));
        Assert.Equal("note-42\n", Run(debugfs!, "-R", "cat /note.txt", image).Output);
        Assert.Equal(hostHash, Hex(Encoding.Latin1.GetBytes(Run(debugfs!, "-R", "cat /host.txt", image).Output)));
    }

    // What Linux should show for each cache of CPUID leaf 04H on vCPU `cpu` (initial APIC ID = cpu),
    // decoded as Intel SDM Vol. 2A CPUID leaf 04H (Table 3-8) defines the fields: level, type, size
    // (ways x partitions x line size x sets, in KiB as the kernel prints it), ways, line size,
    // sets, partitions, and the CPUs sharing it: those whose APIC IDs agree above the bits that
    // number the sharing processors (EAX[25:14] + 1 rounded up to a power of two).
    private static string ExpectedCaches(int cpu, int processors)
    {
        var text = new StringBuilder();
        for (uint subleaf = 0; ; subleaf++)
        {
            (uint eax, uint ebx, uint ecx, _) = CpuModel.Query(4, subleaf, cpu, processors);
            if ((eax & 0x1F) == 0)
            {
                return text.ToString().TrimEnd();
            }

            string type = (eax & 0x1F) switch { 1 => "Data", 2 => "Instruction", _ => "Unified" };
            uint line = (ebx & 0xFFF) + 1, partitions = ((ebx >> 12) & 0x3FF) + 1, ways = (ebx >> 22) + 1, sets = ecx + 1;
            int shift = BitOperations.Log2(BitOperations.RoundUpToPowerOf2(((eax >> 14) & 0xFFF) + 1));
            int[] sharing = [.. Enumerable.Range(0, processors).Where(other => other >> shift == cpu >> shift)];
            string cpus = sharing.Length == 1 ? $"{sharing[0]}" : $"{sharing[0]}-{sharing[^1]}";
            text.Append($"{(eax >> 5) & 7}/{type}/{(long)ways * partitions * line * sets / 1024}K/{ways}/{line}/{sets}/{partitions}/{cpus}/; ");
        }
    }

    private static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static string? Tool(string name) =>
        new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static (int Status, string Output) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + (p.ExitCode == 0 ? string.Empty : stderr.Result));
    }
}
