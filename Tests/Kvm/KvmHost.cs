using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Kvm;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>Whether this host can run the KVM backend, found once; KVM tests skip with the reason otherwise.</summary>
internal static class KvmHost
{
    private static readonly Lazy<string?> Unusable = new(Probe);

    /// <summary>Skips the calling test when KVM cannot run here, naming why.</summary>
    public static void SkipUnlessUsable() => Skip.If(Unusable.Value is not null, Unusable.Value);

    private static readonly Lazy<string?> Slow = new(() => KvmProbe.Run() is { Fast: false } probe
        ? $"KVM here runs guests through the host kernel's instruction emulator ({probe.Reason}), at a few million instructions a second: a Linux boot would take most of an hour. The small-guest KVM tests cover the backend on this host"
        : null);

    /// <summary>
    /// Skips the calling test unless KVM can run here with hardware virtualization: for tests that
    /// boot a Linux kernel, which a host whose KVM emulates every instruction (a nested paravirtual
    /// KVM, as on this project's machines) cannot finish in a test's time.
    /// </summary>
    public static void SkipUnlessFast() => Skip.If(NotFastReason is not null, NotFastReason);

    /// <summary>Why a Linux guest cannot boot under KVM here in a test's time (unusable, or no hardware virtualization), or null.</summary>
    public static string? NotFastReason => Unusable.Value ?? Slow.Value;

    /// <summary>Why KVM cannot run here, or null when it can.</summary>
    public static string? UnusableReason => Unusable.Value;

    private static readonly Lazy<bool> TscWrites = new(ProbeTscWrites);

    /// <summary>
    /// Whether this host's KVM applies a written TSC (KVM_SET_MSRS of IA32_TIME_STAMP_COUNTER). The
    /// paravirtual nested KVM of this project's machines does not: its guests read the host's TSC.
    /// </summary>
    public static bool HonoursTscWrites => TscWrites.Value;

    private static bool ProbeTscWrites()
    {
        using var platform = new MachinePlatform(deterministicTime: true);
        using var ram = new HostMapping(1 << 20);
        platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, ram);
        using var accelerator = new KvmAccelerator(platform);
        using var vcpu = accelerator.CreateVcpu(0);
        var state = vcpu.GetState();
        state.Msrs[0x10] = 1UL << 32;
        vcpu.SetState(state);
        ulong read = vcpu.GetState().Msrs[0x10];
        return read >= 1UL << 32 && read - (1UL << 32) < 1UL << 40;
    }

    private static string? Probe()
    {
        KvmProbeResult probe = KvmProbe.Run();
        if (!probe.Usable)
        {
            return $"KVM is unusable on this host: {probe.Reason}";
        }

        // The probe only opens /dev/kvm; a container may still refuse to create a VM.
        try
        {
            using var platform = new MachinePlatform(deterministicTime: true);
            using var ram = new HostMapping(1 << 20);
            platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, ram);
            using var accelerator = new KvmAccelerator(platform);
            using var vcpu = accelerator.CreateVcpu(0);
            return null;
        }
        catch (KvmException e)
        {
            return $"KVM is present but a VM cannot be created here: {e.Message}";
        }
    }
}

/// <summary>KVM tests run one at a time: the host has two cores and its KVM emulates every guest instruction.</summary>
[CollectionDefinition("kvm", DisableParallelization = true)]
public sealed class KvmCollection
{
}
