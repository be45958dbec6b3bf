using Emulator.Kvm;
using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// The system test programs of Roms/tests under KVM: each must print exactly what it prints under
/// the software CPU and exit alike, and its own checks must pass (the exit status it reserves for
/// "all passed"). Each takes well under 2 s under this project's emulating KVM.
/// </summary>
[Collection("kvm")]
public sealed class KvmSystemRomTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// What keeps a program from running correctly under a KVM without hardware virtualization,
    /// where the host kernel's instruction emulator runs every guest instruction: each found by
    /// running the program here and reading the first line that differs from the software CPU's.
    /// KVM reports an instruction its emulator lacks only at CPL 0 (emu then runs it in the software
    /// CPU, KvmVcpu.Step.cs); at CPL 3 and in virtual-8086 mode KVM raises #UD in the guest instead
    /// (arch/x86/kvm/x86.c, handle_emulation_failure). These programs run on hosts with vmx/svm.
    /// </summary>
    private static readonly Dictionary<string, string> EmulatingKvmLimits = new()
    {
        ["paging"] = "MOV to CR0 that sets PG with CR4.PAE clear (32-bit paging) raises #GP(0) under the emulating KVM",
        ["tasks"] = "it turns on 32-bit paging, and MOV to CR0 that sets PG with CR4.PAE clear raises #GP(0) under the emulating KVM",
        ["longmode"] = "it maps 1-GiB pages, which the emulating KVM does not offer (CPUID.80000001H:EDX[26] clear): the walk faults with RSVD set",
        ["syscall"] = "SYSRET to a non-canonical RCX does not fault in ring 0 under the emulating KVM",
        ["rings32"] = "INT 0x80 from ring 3 gets #UD under the emulating KVM (its emulator delivers INT only in real mode, and raises #UD at CPL 3 for what it cannot emulate)",
        ["v86"] = "IN from a port the I/O bitmap denies does not #GP in virtual-8086 mode, and INT 0x80 from virtual-8086 mode never reaches its ring-0 handler, under the emulating KVM",
        ["doublefault"] = "#NP while delivering #UD (raised by UD2) becomes #DF under the emulating KVM, which the SDM's exception classes rule out",
    };

    [SkippableTheory]
    [InlineData("pit_irq", 33)]
    [InlineData("ioapic_pit", 1)]
    [InlineData("apic_reset", 1)]
    [InlineData("firmware", 1, "--debugcon", "stdio")]
    [InlineData("smp", 1, "--smp", "2")]
    [InlineData("paging", 1)]
    [InlineData("tasks", 1)]
    [InlineData("longmode", 1)]
    [InlineData("syscall", 1)]
    [InlineData("rings32", 1)]
    [InlineData("v86", 1)]
    [InlineData("doublefault", 1)]
    public void RomUnderKvmPrintsWhatTheSoftwareCpuPrints(string rom, int allPassed, params string[] options)
    {
        KvmHost.SkipUnlessUsable();
        if (!KvmProbe.Run().HardwareVirtualization && EmulatingKvmLimits.TryGetValue(rom, out string? reason))
        {
            Skip.If(true, $"{rom} on a KVM without vmx/svm: {reason}");
        }

        string path = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", rom + ".bin");
        AssertSameUnderKvm(allPassed, ["--bios", path, .. options]);
    }

    [SkippableFact]
    public void MultibootKernelUnderKvmPrintsWhatTheSoftwareCpuPrints()
    {
        KvmHost.SkipUnlessUsable();
        string kernel = Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "multiboot.bin");
        AssertSameUnderKvm(1, ["--kernel", kernel, "--append", "hello", "--initrd", Path.Combine(DemoGuestTests.RepositoryRoot(), "README.md")]);
    }

    private static void AssertSameUnderKvm(int allPassed, string[] options)
    {
        EmuProcess.Result jit = EmuProcess.Run(Timeout, ["run", "--accel", "jit", .. options]);
        EmuProcess.Result kvm = EmuProcess.Run(Timeout, ["run", "--accel", "kvm", .. options]);

        Assert.True(jit.ExitCode == allPassed, $"jit exit {jit.ExitCode}: {jit.Stderr}");
        Assert.True(kvm.ExitCode == jit.ExitCode, $"kvm exit {kvm.ExitCode}: {kvm.Stderr}");
        Assert.Equal(jit.Stdout, kvm.Stdout);
        Assert.DoesNotContain("FAIL", kvm.Stdout, StringComparison.Ordinal);
    }
}
