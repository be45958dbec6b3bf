using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// `--accel kvm --kvm-irqchip kernel`: KVM's own PIC, IOAPIC, local APICs and PIT deliver the
/// interrupts, and guests print exactly what they print under the software CPU.
/// </summary>
[Collection("kvm")]
public sealed class KvmKernelIrqchipTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [SkippableTheory]
    [InlineData("demo", 0)]
    [InlineData("pit_irq", 33)]
    [InlineData("ioapic_pit", 1)] // the in-kernel PIT's GSI 0 must reach IOAPIC input 2, as the MADT says
    [InlineData("apic_reset", 1)] // a reset builds a fresh VM: KVM cannot reset its local APIC otherwise
    [InlineData("smp", 1, "--smp", "2")]
    public void GuestUnderTheInKernelIrqchipPrintsWhatTheSoftwareCpuPrints(string rom, int allPassed, params string[] options)
    {
        KvmHost.SkipUnlessUsable();
        string[] firmware = rom == "demo" ? [] : ["--bios", Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", rom + ".bin")];

        EmuProcess.Result jit = EmuProcess.Run(Timeout, ["run", "--accel", "jit", .. firmware, .. options]);
        EmuProcess.Result kvm = EmuProcess.Run(Timeout, ["run", "--accel", "kvm", "--kvm-irqchip", "kernel", .. firmware, .. options]);

        Assert.True(jit.ExitCode == allPassed, $"jit exit {jit.ExitCode}: {jit.Stderr}");
        Assert.True(kvm.ExitCode == jit.ExitCode, $"kvm exit {kvm.ExitCode}: {kvm.Stderr}");
        Assert.Equal(jit.Stdout, kvm.Stdout);
        Assert.DoesNotContain("FAIL", kvm.Stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void MovingAGuestWithTheInKernelIrqchipIsRefused()
    {
        KvmHost.SkipUnlessUsable();

        EmuProcess.Result r = EmuProcess.Run(Timeout, ["run", "--accel", "kvm", "--kvm-irqchip", "kernel", "--switch-after", "10"]);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--kvm-irqchip kernel: the guest cannot move to another backend", line, StringComparison.Ordinal);
    }

    [Fact]
    public void TheInKernelIrqchipWithoutKvmIsRefused()
    {
        EmuProcess.Result r = EmuProcess.Run(Timeout, ["run", "--accel", "jit", "--kvm-irqchip", "kernel"]);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("emu: --kvm-irqchip kernel needs --accel kvm", r.Stderr.Trim());
    }
}
