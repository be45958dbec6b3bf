namespace Emulator.Kvm;

/// <summary>One CPUID leaf (and subleaf) as a vCPU answers it.</summary>
/// <param name="Leaf">EAX on input.</param>
/// <param name="Subleaf">ECX on input, for leaves that have subleaves.</param>
/// <param name="Eax">EAX on output.</param>
/// <param name="Ebx">EBX on output.</param>
/// <param name="Ecx">ECX on output.</param>
/// <param name="Edx">EDX on output.</param>
public readonly record struct CpuidLeaf(uint Leaf, uint Subleaf, uint Eax, uint Ebx, uint Ecx, uint Edx);
