using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Emulator.Tests.Block;
using Emulator.Tests.Kvm;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The Debian guest writes to three qcow2 disks in one boot, judged afterwards by QEMU's and
/// e2fsprogs' tools: vda is `qemu-img create -b` over a raw ext4 image (the guest reads the host's
/// file through the backing file, writes 20 MB to a new file, syncs and unmounts: qemu-img check is
/// clean, e2fsck -fn on a qemu-img convert to raw is clean and debugfs reads the file back byte for
/// byte, the backing file is unchanged); vdb is a plain `qemu-img create` image the guest writes
/// 20 MiB to directly (qemu-img compare against the expected raw content finds them identical);
/// vdc is written in a loop when emu is killed with SIGKILL (qemu-img check must find no
/// corruption; leaked clusters are allowed).
/// </summary>
public sealed class LinuxQcow2DiskTests : IDisposable
{
    private const int TwentyMiB = 20 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-linux-qcow2-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void TheGuestWritesExt4AndRawDataToQcow2DisksAndAKillLeavesNoCorruption() => WritesAndKill("jit");

    [SkippableFact]
    public void TheGuestWritesExt4AndRawDataToQcow2DisksAndAKillLeavesNoCorruptionUnderKvm()
    {
        KvmHost.SkipUnlessFast();
        WritesAndKill("kvm");
    }

    private void WritesAndKill(string accel)
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        Skip.If(QemuImg.Missing is not null, QemuImg.Missing);
        string? mkfs = Tool("mkfs.ext4"), debugfs = Tool("debugfs"), e2fsck = Tool("e2fsck");
        Skip.If(mkfs is null || debugfs is null || e2fsck is null, "mkfs.ext4, debugfs and e2fsck (e2fsprogs) are needed; .ci/run installs them");

        string content = Path.Combine(_dir, "content");
        Directory.CreateDirectory(content);
        var random = new Random(12);
        string hostText = string.Concat(Enumerable.Range(0, 100 * 1024 / 33).Select(_ => $"{random.NextInt64():x16}{random.NextInt64():x16}\n"));
        File.WriteAllText(Path.Combine(content, "host.txt"), hostText);
        string baseImage = Path.Combine(_dir, "base.raw");
        (int made, string mkfsOut) = Run(mkfs!, "-q", "-F", "-d", content, baseImage, "64M");
        Assert.True(made == 0, $"mkfs.ext4 failed: {mkfsOut}");
        byte[] baseHash = SHA256.HashData(File.ReadAllBytes(baseImage));

        string fs = Path.Combine(_dir, "fs.qcow2"), plain = Path.Combine(_dir, "plain.qcow2"), killed = Path.Combine(_dir, "killed.qcow2");
        QemuImg.Ok("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", fs);
        QemuImg.Ok("create", "-q", "-f", "qcow2", plain, "64M");
        QemuImg.Ok("create", "-q", "-f", "qcow2", killed, "64M");

        using GuestConsole guest = GuestConsole.BootWrapped(accel, [], "--drive", $"file={fs}", "--drive", $"file={plain}", "--drive", $"file={killed}");
        guest.WaitForShell(TimeSpan.FromMinutes(15));

        guest.Command("mount -t ext4 /dev/vda /mnt && sha256sum /mnt/host.txt", Hex(Encoding.ASCII.GetBytes(hostText)));
        // One MiB of text made once in the guest's RAM (busybox yes writes a line per call, slow in an
        // emulator), then copied 20 times: to a file on vda, then straight onto vdb.
        string line = "written by the guest to a qcow2 disk";
        byte[] twenty = Repeat(Pattern(line + "\n", 1 << 20), 20);
        guest.Command($"yes '{line}' | head -c {1 << 20} > /tmp/mib && echo made-$((6*7))", "made-42");
        const string twentyTimes = "i=0; while [ $i -lt 20 ]; do cat /tmp/mib; i=$((i+1)); done";
        guest.Command($"({twentyTimes}) > /mnt/guest.bin && sync && umount /mnt && echo unmounted-$((6*7))", "unmounted-42", TimeSpan.FromMinutes(10));

        byte[] plainExpected = new byte[64 << 20];
        twenty.CopyTo(plainExpected, 0);
        guest.Command($"({twentyTimes}) | dd of=/dev/vdb bs=64k conv=fsync 2>/dev/null && echo written-$((6*7))", "written-42", TimeSpan.FromMinutes(10));

        // The guest reads vdb back from the disk, not from its page cache.
        guest.Command($"echo 3 > /proc/sys/vm/drop_caches; head -c {TwentyMiB} /dev/vdb | sha256sum", Hex(plainExpected.AsSpan(0, TwentyMiB).ToArray()), TimeSpan.FromMinutes(10));

        // Writes that keep allocating clusters on vdc, each flushed, until emu is killed mid-way.
        guest.Type("i=0; while true; do dd if=/dev/zero of=/dev/vdc bs=64k seek=$i count=8 conv=fsync,notrunc 2>/dev/null; i=$((i+8)); echo tick-$i; done");
        guest.WaitForOutput("tick-96", TimeSpan.FromMinutes(5));
        Thread.Sleep(new Random().Next(50, 400));
        guest.Emu.Kill();
        Assert.True(guest.Emu.WaitForExit(TimeSpan.FromSeconds(30)), "emu did not die on SIGKILL");

        (int killCheck, string killOut) = QemuImg.Check(killed);
        Assert.True(killCheck is 0 or 3, $"after SIGKILL, qemu-img check of vdc exited {killCheck}:\n{killOut}");

        (int plainCheck, string plainOut) = QemuImg.Check(plain);
        Assert.True(plainCheck == 0, $"qemu-img check of vdb exited {plainCheck}:\n{plainOut}");
        string plainRaw = Path.Combine(_dir, "plain-expected.raw");
        File.WriteAllBytes(plainRaw, plainExpected);
        (int compare, string compareOut) = QemuImg.CompareWithRaw(plain, plainRaw);
        Assert.True(compare == 0, $"qemu-img compare of vdb exited {compare}:\n{compareOut}");

        (int fsCheck, string fsCheckOut) = QemuImg.Check(fs);
        Assert.True(fsCheck == 0, $"qemu-img check of vda exited {fsCheck}:\n{fsCheckOut}");
        string fsRaw = Path.Combine(_dir, "fs.raw");
        QemuImg.Ok("convert", "-q", "-f", "qcow2", "-O", "raw", fs, fsRaw);
        (int fsck, string fsckOut) = Run(e2fsck!, "-fn", fsRaw);
        Assert.True(fsck == 0, $"e2fsck -fn found problems (status {fsck}):\n{fsckOut}");
        Assert.Equal(Hex(twenty), Hex(Encoding.Latin1.GetBytes(Run(debugfs!, "-R", "cat /guest.bin", fsRaw).Output)));
        Assert.Equal(baseHash, SHA256.HashData(File.ReadAllBytes(baseImage)));
    }

    private static byte[] Pattern(string line, int length)
    {
        byte[] one = Encoding.ASCII.GetBytes(line);
        byte[] all = new byte[length];
        for (int i = 0; i < length; i += one.Length)
        {
            one.AsSpan(0, Math.Min(one.Length, length - i)).CopyTo(all.AsSpan(i));
        }

        return all;
    }

    private static byte[] Repeat(byte[] part, int times)
    {
        byte[] all = new byte[part.Length * times];
        for (int i = 0; i < times; i++)
        {
            part.CopyTo(all, i * part.Length);
        }

        return all;
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
