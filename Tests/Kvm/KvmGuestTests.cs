using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Kvm;
using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// Guests run by the real `emu` under KVM, checked against the same guests under the software CPU:
/// the other backend is the oracle, never output captured from KVM itself.
/// </summary>
[Collection("kvm")]
public sealed partial class KvmGuestTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string ExitsRom => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "exits", "exits.bin");

    [SkippableFact]
    public void DemoGuestUnderKvmPrintsWhatTheSoftwareCpuPrintsAndExitsAlike()
    {
        KvmHost.SkipUnlessUsable();
        EmuProcess.Result jit = EmuProcess.Run(Timeout, "run", "--accel", "jit");
        EmuProcess.Result kvm = EmuProcess.Run(Timeout, "run", "--accel", "kvm");

        Assert.True(jit.ExitCode == 0, $"jit exit {jit.ExitCode}: {jit.Stderr}");
        Assert.Equal(jit.ExitCode, kvm.ExitCode);
        Assert.Equal(jit.Stdout, kvm.Stdout);
        Assert.Contains("powering off", kvm.Stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ExitsGuestSeesTheSameMachineUnderKvm()
    {
        KvmHost.SkipUnlessUsable();
        EmuProcess.Result jit = EmuProcess.Run(Timeout, "run", "--accel", "jit", "--bios", ExitsRom);
        EmuProcess.Result kvm = EmuProcess.Run(Timeout, "run", "--accel", "kvm", "--bios", ExitsRom);

        Assert.Equal(0x43, jit.ExitCode);
        Assert.Equal(jit.ExitCode, kvm.ExitCode);
        string[] soft = Lines(jit.Stdout), hard = Lines(kvm.Stdout);
        Assert.Equal(soft.Length, hard.Length);
        IReadOnlyList<CpuidLeaf> effective = EffectiveKvmCpuid();
        for (int i = 0; i < soft.Length; i++)
        {
            if (CpuidLine().Match(soft[i]) is { Success: true } m)
            {
                // The software CPU answers from the model; KVM from the table it applied (read back
                // with KVM_GET_CPUID2), which is the model unless the host's KVM changes it. Both by
                // the SDM's rule for leaves that are not in the table.
                uint leaf = uint.Parse(m.Groups[1].Value, NumberStyles.HexNumber);
                // The model answers leaves it does not give KVM (15H and 16H, the software CPU's
                // clocks), and the leaf above the range with the highest basic leaf (16H).
                Assert.Equal(Format(leaf, Leaf(leaf, CpuModel.Query(leaf, 0, 0))), soft[i]);
                // A KVM nested in another hypervisor without hardware virtualization (the paravirtual
                // KVM of this project's machines) answers the hypervisor range 40000000H-4FFFFFFFH
                // itself, whatever table it was given.
                if (leaf is >= 0x4000_0000 and < 0x5000_0000 && KvmHost.NotFastReason is not null)
                {
                    continue;
                }

                Assert.Equal(Format(leaf, IntelLookup(effective, leaf)), hard[i]);
            }
            else
            {
                Assert.Equal(soft[i], hard[i]);
            }
        }

        Assert.Equal("done", hard[^1]);
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(332)]
    [InlineData(333)]
    [InlineData(431)]
    [InlineData(700)]
    public void DemoGuestMovedFromKvmToTheSoftwareCpuFinishesLikeAnUnmovedRun(int portAccesses) =>
        AssertMoveIsInvisible("kvm", "jit", portAccesses, rom: null);

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(332)]
    [InlineData(333)]
    [InlineData(431)]
    [InlineData(700)]
    public void DemoGuestMovedFromTheSoftwareCpuToKvmFinishesLikeAnUnmovedRun(int portAccesses) =>
        AssertMoveIsInvisible("jit", "kvm", portAccesses, rom: null);

    [SkippableTheory]
    [InlineData("kvm", "jit", 1460)]
    [InlineData("jit", "kvm", 1460)]
    [InlineData("kvm", "jit", 1700)]
    [InlineData("kvm", "jit", 4700)]
    public void ExitsGuestMovedAfterItsCpuidLinesPrintsTheSameRest(string from, string to, int portAccesses)
    {
        // Port access 1460 comes after the CPUID lines and the short string I/O; 1700 and 4700 fall
        // inside its 3000-word REP INSW and REP OUTSW, which KVM splits into several exits. The CPUID
        // lines are the starting backend's; nothing after them may change.
        KvmHost.SkipUnlessUsable();
        AssertMoveIsInvisible(from, to, portAccesses, ExitsRom);
    }

    [SkippableTheory]
    [InlineData(15)] // SIGTERM
    [InlineData(2)] // SIGINT
    [InlineData(15, "--kvm-irqchip", "kernel", "--smp", "2")] // the AP blocked in KVM_RUN until a SIPI that never comes
    public void SignalStopsAGuestSpinningInKvmPromptly(int signal, params string[] options)
    {
        KvmHost.SkipUnlessUsable();
        string rom = Path.Combine(Directory.CreateTempSubdirectory("emu-kvm").FullName, "spin.bin");
        // A 4 KiB firmware whose reset vector writes POST code 01, then jumps to itself forever.
        byte[] image = new byte[4096];
        Array.Fill(image, (byte)0xff);
        byte[] reset = [0xb0, 0x01, 0xe6, 0x80, 0xeb, 0xfe]; // mov al, 1; out 0x80, al; jmp $
        reset.CopyTo(image, 0xff0);
        File.WriteAllBytes(rom, image);
        try
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", "--accel", "kvm", "--bios", rom, "--post-codes", "stderr", .. options])
            {
                psi.ArgumentList.Add(a);
            }

            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            string? line;
            while ((line = p.StandardError.ReadLine()) is not null && line != "POST 01")
            {
            }

            Assert.Equal("POST 01", line);
            Thread.Sleep(300); // the vCPU is now inside KVM_RUN, spinning
            var watch = Stopwatch.StartNew();
            Assert.Equal(0, Kill(p.Id, signal));
            // Well under a second on an idle host (the runtime's shutdown included); the bound leaves
            // room for a busy one. An emu whose signal did not kick the vCPU out of KVM_RUN would
            // never exit: this guest makes no exits.
            bool exited = p.WaitForExit(TimeSpan.FromSeconds(30));
            watch.Stop();
            if (!exited)
            {
                p.Kill(entireProcessTree: true);
            }

            Assert.True(exited, "emu did not exit within 30 s of the signal");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"emu took {watch.Elapsed.TotalMilliseconds:F0} ms to exit after signal {signal}");
            Assert.Equal(0, p.ExitCode);
            _ = stdout.Result;
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(rom)!, recursive: true);
        }
    }

    private static void AssertMoveIsInvisible(string from, string to, int portAccesses, string? rom)
    {
        KvmHost.SkipUnlessUsable();
        string[] bios = rom is null ? [] : ["--bios", rom];
        EmuProcess.Result unmoved = EmuProcess.Run(Timeout, ["run", "--accel", from, .. bios]);
        EmuProcess.Result moved = EmuProcess.Run(Timeout, ["run", "--accel", from, "--switch-after", portAccesses.ToString(CultureInfo.InvariantCulture), .. bios]);

        Assert.Contains($"moved the guest from {from} to {to} after ", moved.Stderr, StringComparison.Ordinal);
        Assert.Equal(unmoved.ExitCode, moved.ExitCode);
        Assert.Equal(unmoved.Stdout, moved.Stdout);
    }

    // The vCPU's CPUID table as KVM applies it on this host.
    private static IReadOnlyList<CpuidLeaf> EffectiveKvmCpuid()
    {
        using var platform = new MachinePlatform(deterministicTime: true);
        using var ram = new HostMapping(1 << 20);
        platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, ram);
        using var accelerator = new KvmAccelerator(platform);
        using var vcpu = (KvmVcpu)accelerator.CreateVcpu(0);
        return vcpu.EffectiveCpuid;
    }

    // Intel SDM Vol. 2A, CPUID: a leaf above the highest basic or extended leaf (or of a range with no
    // leaves) returns the highest basic leaf; a leaf within range but not in the table reads zeros.
    private static CpuidLeaf IntelLookup(IReadOnlyList<CpuidLeaf> table, uint leaf)
    {
        CpuidLeaf? Find(uint l) => table.Where(e => e.Leaf == l && e.Subleaf == 0).Select(e => (CpuidLeaf?)e).FirstOrDefault();
        if (Find(leaf) is { } exact)
        {
            return exact;
        }

        uint rangeBase = leaf & 0xffff_0000;
        uint maxBasic = Find(0)!.Value.Eax;
        bool inRange = Find(rangeBase) is { } range && leaf <= range.Eax;
        // The highest basic leaf may itself be missing from the table (a host's KVM that answers a
        // subleaf-indexed leaf only for some subleaves): it then reads zeros as well.
        return inRange ? new CpuidLeaf(leaf, 0, 0, 0, 0, 0) : Find(maxBasic) ?? new CpuidLeaf(maxBasic, 0, 0, 0, 0, 0);
    }

    private static CpuidLeaf Leaf(uint leaf, (uint A, uint B, uint C, uint D) r) => new(leaf, 0, r.A, r.B, r.C, r.D);

    private static string Format(uint leaf, CpuidLeaf r) => $"cpuid {leaf:x8}: {r.Eax:x8} {r.Ebx:x8} {r.Ecx:x8} {r.Edx:x8}";

    private static string[] Lines(string output) =>
        output.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [System.Text.RegularExpressions.GeneratedRegex("^cpuid ([0-9a-f]{8}):")]
    private static partial System.Text.RegularExpressions.Regex CpuidLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
