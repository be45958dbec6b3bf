namespace Emulator.Core.Cpu;

/// <summary>
/// The task priority a processor's CR8 reaches: in 64-bit capable processors CR8 is the local
/// APIC's TPR[7:4] (Intel SDM Vol. 3A 11.8.6.1, "Interaction of Task Priority Register and CR8").
/// A device beside the core (the local APIC, which also is the core's <see cref="IMsrDevice"/>)
/// implements it; calls come from the vCPU's own thread.
/// </summary>
public interface ITaskPriority
{
    /// <summary>TPR[7:4] as bits 3:0; a write sets TPR[7:4] and clears TPR[3:0].</summary>
    ulong Cr8 { get; set; }
}
