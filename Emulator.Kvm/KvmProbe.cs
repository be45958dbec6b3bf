using System.Runtime.InteropServices;
using System.Text;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>One KVM capability asked of KVM_CHECK_EXTENSION.</summary>
/// <param name="Name">The capability without its <c>KVM_CAP_</c> prefix, as in linux/kvm.h.</param>
/// <param name="Number">The capability number from linux/kvm.h.</param>
/// <param name="Required">True when the KVM backend cannot run without it.</param>
/// <param name="Value">What KVM_CHECK_EXTENSION returned: 0 when absent, 1 or a count when present.</param>
public sealed record KvmCapabilityCheck(string Name, int Number, bool Required, int Value)
{
    /// <summary>True when the host offers the capability.</summary>
    public bool Present => Value > 0;
}

/// <summary>What <see cref="KvmProbe.Run"/> learned about the host's KVM.</summary>
/// <param name="DevicePath">The device probed (normally /dev/kvm).</param>
/// <param name="DeviceExists">The device node exists.</param>
/// <param name="CanOpen">The device could be opened read-write.</param>
/// <param name="OpenError">Why opening failed, or null.</param>
/// <param name="ApiVersion">KVM_GET_API_VERSION, or null when not asked.</param>
/// <param name="Capabilities">The capabilities checked (empty when the device could not be opened).</param>
/// <param name="HardwareVirtualization">The host CPU advertises VT-x (vmx) or AMD-V (svm).</param>
/// <param name="HostIsVirtualMachine">The host CPU advertises the hypervisor flag: this host is itself a guest.</param>
/// <param name="Usable">The KVM backend can run here.</param>
/// <param name="Fast">KVM is usable and backed by hardware virtualization, so guests run at near-native speed.</param>
/// <param name="Reason">One line saying why KVM is or is not usable and fast.</param>
public sealed record KvmProbeResult(
    string DevicePath,
    bool DeviceExists,
    bool CanOpen,
    string? OpenError,
    int? ApiVersion,
    IReadOnlyList<KvmCapabilityCheck> Capabilities,
    bool HardwareVirtualization,
    bool HostIsVirtualMachine,
    bool Usable,
    bool Fast,
    string Reason)
{
    /// <summary>Multi-line text for <c>emu info</c>.</summary>
    public string FormatReport()
    {
        var text = new StringBuilder();
        text.AppendLine($"KVM ({DevicePath})");
        Line(text, "device", !DeviceExists ? "absent" : CanOpen ? "present, opened read-write" : $"present, cannot open: {OpenError}");
        if (ApiVersion is int version)
        {
            Line(text, "API version", version == KvmProbe.ExpectedApiVersion ? $"{version}" : $"{version} (expected {KvmProbe.ExpectedApiVersion})");
        }

        foreach (KvmCapabilityCheck cap in Capabilities)
        {
            string value = cap.Present ? (cap.Value == 1 ? "yes" : $"yes ({cap.Value})") : "no";
            Line(text, $"KVM_CAP_{cap.Name}", cap.Required ? value : $"{value} (optional)");
        }

        string hardware = HardwareVirtualization ? "yes (vmx/svm)" : "no (no vmx/svm flag in the CPU)";
        Line(text, "hardware virt.", HostIsVirtualMachine ? $"{hardware}; this host is itself a virtual machine" : hardware);
        Line(text, "usable", Usable ? "yes" : "no");
        Line(text, "fast", Fast ? "yes" : "no");
        text.Append($"  {"reason:",-24}{Reason}");
        return text.ToString();
    }

    private static void Line(StringBuilder text, string label, string value) => text.AppendLine($"  {label + ":",-24}{value}");
}

/// <summary>
/// Finds out whether the KVM backend can run on this host and whether it would be fast. Used by
/// <c>emu info</c> and <c>--accel auto</c>; it never throws for an absent or unusable device.
/// </summary>
public static class KvmProbe
{
    /// <summary>The KVM device node.</summary>
    public const string DefaultDevicePath = "/dev/kvm";

    /// <summary>The CPU description whose flags reveal vmx/svm.</summary>
    public const string DefaultCpuInfoPath = "/proc/cpuinfo";

    /// <summary>KVM_API_VERSION from linux/kvm.h: the version every stable KVM reports.</summary>
    public const int ExpectedApiVersion = 12;

    // _IO(KVMIO = 0xAE, nr): no direction and no size bits, so the request is 0xAE00 | nr.
    private const nuint KVM_GET_API_VERSION = 0xAE00;
    private const nuint KVM_CHECK_EXTENSION = 0xAE03;

    // Numbers from include/uapi/linux/kvm.h.
    private static readonly (string Name, int Number, bool Required)[] CheckedCapabilities =
    [
        ("USER_MEMORY", 3, true),
        ("SET_TSS_ADDR", 4, true),
        ("EXT_CPUID", 7, true),
        ("IMMEDIATE_EXIT", 136, true),
        ("IRQCHIP", 0, false),
        ("PIT2", 33, false),
    ];

    /// <summary>Probes <paramref name="devicePath"/> and the CPU flags in <paramref name="cpuInfoPath"/>.</summary>
    public static KvmProbeResult Run(string devicePath = DefaultDevicePath, string cpuInfoPath = DefaultCpuInfoPath)
    {
        (bool hardware, bool hypervisor) = ReadCpuFlags(cpuInfoPath);
        if (!OperatingSystem.IsLinux())
        {
            return Unusable(devicePath, false, null, hardware, hypervisor, "KVM exists only on Linux hosts");
        }

        if (!File.Exists(devicePath))
        {
            string why = hardware
                ? $"{devicePath} does not exist: load the kvm_intel or kvm_amd module"
                : $"{devicePath} does not exist and the CPU has no hardware virtualization (no vmx/svm flag)";
            return Unusable(devicePath, false, null, hardware, hypervisor, why);
        }

        int fd = LibC.Open(devicePath, LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string error = errno is LibC.EACCES or LibC.EPERM
                ? $"permission denied on {devicePath}: add the user to the 'kvm' group (usermod -aG kvm $USER, then log in again)"
                : $"cannot open {devicePath}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
            return Unusable(devicePath, errno != LibC.ENOENT, error, hardware, hypervisor, error);
        }

        try
        {
            int version = LibC.Ioctl(fd, KVM_GET_API_VERSION, 0);
            if (version != ExpectedApiVersion)
            {
                string why = version < 0
                    ? $"KVM_GET_API_VERSION failed on {devicePath} (errno {Marshal.GetLastPInvokeError()})"
                    : $"KVM API version {version} is not the expected {ExpectedApiVersion}";
                return new KvmProbeResult(devicePath, true, true, null, version < 0 ? null : version, [], hardware, hypervisor, false, false, why);
            }

            KvmCapabilityCheck[] caps = [.. CheckedCapabilities.Select(c =>
                new KvmCapabilityCheck(c.Name, c.Number, c.Required, Math.Max(0, LibC.Ioctl(fd, KVM_CHECK_EXTENSION, c.Number))))];
            string[] missing = [.. caps.Where(c => c.Required && !c.Present).Select(c => "KVM_CAP_" + c.Name)];
            bool usable = missing.Length == 0;
            bool fast = usable && hardware;
            string reason =
                !usable ? $"KVM lacks required capabilities: {string.Join(", ", missing)}"
                : !hardware ? "KVM is present but the CPU has no hardware virtualization (no vmx/svm flag): guests would run through the host kernel's instruction emulator"
                : "KVM is usable with hardware virtualization";
            return new KvmProbeResult(devicePath, true, true, null, version, caps, hardware, hypervisor, usable, fast, reason);
        }
        finally
        {
            _ = LibC.Close(fd);
        }
    }

    /// <summary>Whether the first <c>flags</c> line of a /proc/cpuinfo text lists vmx or svm, and whether it lists hypervisor.</summary>
    internal static (bool HardwareVirtualization, bool Hypervisor) ParseCpuFlags(string cpuInfo)
    {
        foreach (string line in cpuInfo.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || line[..colon].Trim() != "flags")
            {
                continue;
            }

            string[] flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return (flags.Contains("vmx") || flags.Contains("svm"), flags.Contains("hypervisor"));
        }

        return (false, false);
    }

    private static (bool HardwareVirtualization, bool Hypervisor) ReadCpuFlags(string cpuInfoPath)
    {
        try
        {
            return ParseCpuFlags(File.ReadAllText(cpuInfoPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (false, false);
        }
    }

    private static KvmProbeResult Unusable(string devicePath, bool exists, string? openError, bool hardware, bool hypervisor, string reason) =>
        new(devicePath, exists, false, openError, null, [], hardware, hypervisor, false, false, reason);
}
