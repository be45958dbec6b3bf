namespace Emulator.Machines.Loaders;

/// <summary>The user's --kernel, --initrd and --append.</summary>
public sealed record KernelBootConfig
{
    /// <summary>The kernel file (a multiboot kernel or a Linux bzImage).</summary>
    public required string KernelPath { get; init; }

    /// <summary>Initrd files: Linux takes at most one, multiboot loads each as a module.</summary>
    public IReadOnlyList<string> InitrdPaths { get; init; } = [];

    /// <summary>The kernel command line (empty when not given).</summary>
    public string CommandLine { get; init; } = string.Empty;

    /// <summary>For a Linux kernel that has one (XLF_KERNEL_64), enter at the 64-bit entry point instead of the 32-bit one.</summary>
    public bool LinuxLongModeEntry { get; init; }

    /// <summary>
    /// The kernel has no protected-mode entry (<see cref="Linux.RealModeKernel.Needed(string)"/>): the machine boots
    /// firmware, which starts the kernel's real-mode setup code through emu's linuxboot option ROM.
    /// </summary>
    public bool RealModeEntry { get; init; }
}
