using Emulator.Core.Cpu;

namespace Emulator.Machines.Loaders;

/// <summary>What a kernel loader leaves behind: the guest memory is written; this is the bootstrap processor's entry state.</summary>
/// <param name="Entry">The state <c>IVcpu.SetState</c> is given for vCPU 0.</param>
/// <param name="Description">One line for messages, e.g. "multiboot a.out kludge, entry 0x100020".</param>
/// <param name="Multiboot">A multiboot kernel, which expects the platform as a BIOS and its boot loader leave it (the PIT and PICs programmed); false for Linux.</param>
public sealed record LoadedKernel(CpuState Entry, string Description, bool Multiboot = false);
