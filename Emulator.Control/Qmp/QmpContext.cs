using Emulator.Control.Guest;
using Emulator.Machines.Pc;

namespace Emulator.Control.Qmp;

/// <summary>What a command may use: the machine and facts about this emu process.</summary>
/// <param name="Machine">The machine; commands change it only through its thread-safe control methods.</param>
/// <param name="Instance">Facts about this emu process (name, pid, version, KVM).</param>
/// <param name="Commands">The command table, for <c>query-commands</c>.</param>
/// <param name="Kernel">The guest kernel's symbols, found in its memory when first asked for.</param>
/// <param name="Jobs">Background jobs (snapshot-save, snapshot-load, snapshot-delete), shared by every client as QEMU's are.</param>
internal sealed record QmpContext(PcMachine Machine, InstanceFacts Instance, QmpCommandTable Commands, KernelSymbolCache Kernel, QmpJobs Jobs);

/// <summary>Facts about one running emu, reported by <c>query-name</c>, <c>query-version</c>, <c>query-kvm</c> and <c>emu list</c>.</summary>
public sealed record InstanceFacts
{
    /// <summary>The name given with --name, or null.</summary>
    public string? Name { get; init; }

    /// <summary>The process id.</summary>
    public int Pid { get; init; } = Environment.ProcessId;

    /// <summary>emu's version (major, minor, micro).</summary>
    public Version Version { get; init; } = new(0, 0, 0);

    /// <summary>True when /dev/kvm is usable on this host (QMP <c>query-kvm</c>'s <c>present</c>).</summary>
    public bool KvmPresent { get; init; }
}
