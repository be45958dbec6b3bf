using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Emulator.Tests.EndToEnd;

/// <summary>
/// The stock Debian 12 kernel and a busybox initramfs (scripts/guest-images.sh, cached outside the
/// repository) booted in the software CPU, driven over the serial console as a user would: the
/// oracles are the kernel package's own version string, the CPU model emu advertises (the kernel's
/// view of it in /proc/cpuinfo and its XSAVE set-up message), and the host's SHA-256 of the same
/// bytes the guest hashes.
/// </summary>
public sealed class LinuxBootTests
{
    [SkippableFact]
    public void DebianKernelBootsToTheBusyboxShellAndPowersOff()
    {
        Skip.If(GuestConsole.MissingImages is not null, GuestConsole.MissingImages);
        string version = File.ReadAllText(Path.Combine(GuestConsole.Cache, "kernel-version")).Trim();

        using GuestConsole guest = GuestConsole.Boot();
        guest.WaitForShell(TimeSpan.FromMinutes(12));
        guest.Command("uname -r", version);
        guest.Command("grep -m1 'model name' /proc/cpuinfo", Emulator.Core.Cpu.CpuModel.Brand);

        // The kernel found the x86-64-v3 vector features in CPUID, checked CPUID leaf 0DH against its
        // own idea of the XSAVE layout, and manages x87, SSE, AVX and PKRU state with XSAVE (arch/x86/kernel/fpu/xstate.c).
        string flags = guest.Command("grep -m1 '^flags' /proc/cpuinfo", "fpu ");
        string[] words = flags.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        foreach (string feature in new[] { "avx", "avx2", "fma", "f16c", "xsave", "xsaveopt", "mce", "mca", "mtrr", "pat" })
        {
            Assert.True(words.Contains(feature), $"/proc/cpuinfo lacks {feature}: {flags}");
        }

        guest.Command("dmesg | grep -m1 'xstate features'", "Enabled xstate features 0x207, context size is 2696 bytes");

        // The machine-check architecture, MTRRs and PAT (Emulator.Core/Cpu/MachineCheck, Mtrr, Pat):
        // the kernel's MCE device came up (arch/x86/kernel/cpu/mce/core.c prints "mce: Unable to
        // init MCE device" without MCE and MCA) with one sysfs file per bank of IA32_MCG_CAP, 10 as
        // under QEMU (MCE_BANKS_DEF); and with the MTRRs enabled, as firmware leaves them, the kernel
        // programs IA32_PAT with its own layout (arch/x86/mm/pat/memtype.c) and prints the line the
        // same kernel prints under QEMU 7.2 TCG, rather than "x86/PAT: MTRRs disabled, skipping PAT
        // initialization too." and its fallback WB WT UC- UC.
        guest.Command("echo mce-init-failures=$(dmesg | grep -c 'Unable to init MCE')", "mce-init-failures=0");
        guest.Command("echo banks=$(ls /sys/devices/system/machinecheck/machinecheck0 | grep -c '^bank')", "banks=10");
        guest.Command("dmesg | grep -m1 'x86/PAT'", "x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT");

        // Features of the CPU model as the stock kernel finds and enables them, in its own names:
        // BMI2, RDRAND/RDSEED, the local APIC's x2APIC and TSC-deadline modes, protection keys
        // (ospke: the kernel set CR4.PKE), SERIALIZE. The command line echoes spaces; only the output has commas.
        guest.Command(
            "for f in bmi2 rdrand rdseed x2apic tsc_deadline_timer pku ospke serialize; do grep -m1 '^flags' /proc/cpuinfo | grep -qw $f && printf '%s,' $f; done; echo",
            "bmi2,rdrand,rdseed,x2apic,tsc_deadline_timer,pku,ospke,serialize,");

        // 1,000,000 bytes of "emu\n" repeated, hashed in the guest by busybox and here by .NET.
        byte[] data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("emu\n", 250_000)));
        string expected = Convert.ToHexStringLower(SHA256.HashData(data));
        guest.Command("yes emu | head -c 1000000 | sha256sum", expected);

        int? status = guest.PowerOff(TimeSpan.FromMinutes(2));
        Assert.True(status == 0, $"emu exit status {status?.ToString() ?? "none (still running)"} after poweroff -f; stderr: {guest.Stderr}");
    }
}
