namespace Emulator.Core.Cpu;

/// <summary>
/// The MSRs of the machine-check architecture (<see cref="MachineCheck"/>), the MTRRs
/// (<see cref="Mtrr"/>) and IA32_PAT (<see cref="Pat"/>) taken together: registers the processor
/// only stores, whose reset values and write rules both backends share, and that a state carries in
/// <see cref="CpuState.Msrs"/> (an index absent there has its RESET value).
/// </summary>
public static class CacheAndMcaMsrs
{
    /// <summary>True for the MSRs of this group.</summary>
    public static bool Owns(uint index) => index == Pat.Index || Mtrr.Owns(index) || MachineCheck.Owns(index);

    /// <summary>True for the read-only ones, IA32_MCG_CAP and IA32_MTRRCAP: constants of the model, never part of a state.</summary>
    public static bool IsConstant(uint index) => index is MachineCheck.McgCap or Mtrr.Cap;

    /// <summary>The value after power-up or RESET.</summary>
    public static ulong ResetValue(uint index) =>
        index == Pat.Index ? Pat.ResetValue : Mtrr.Owns(index) ? Mtrr.ResetValue(index) : MachineCheck.ResetValue(index);

    /// <summary>Whether WRMSR may write <paramref name="value"/> to <paramref name="index"/> (one of this group); false means #GP(0).</summary>
    public static bool IsValidWrite(uint index, ulong value) =>
        index == Pat.Index ? Pat.IsValidWrite(value) : Mtrr.Owns(index) ? Mtrr.IsValidWrite(index, value) : MachineCheck.IsValidWrite(index, value);

    /// <summary>What RDMSR returns for <paramref name="index"/> (one of this group) given the stored MSRs of a state.</summary>
    public static ulong Read(uint index, IReadOnlyDictionary<uint, ulong> stored) =>
        !IsConstant(index) && stored.TryGetValue(index, out ulong value) ? value : ResetValue(index);

    /// <summary>
    /// The indexes a state carries (every MSR of the group but the constants), e.g. to move them
    /// between backends.
    /// </summary>
    public static IEnumerable<uint> StateIndexes()
    {
        yield return MachineCheck.McgStatus;
        yield return MachineCheck.McgCtl;
        for (uint i = MachineCheck.Mc0Ctl; i < MachineCheck.BanksEnd; i++)
        {
            yield return i;
        }

        for (uint i = Mtrr.PhysBase0; i < Mtrr.PhysBase0 + 2 * Mtrr.VariableCount; i++)
        {
            yield return i;
        }

        yield return Mtrr.Fix64K00000;
        yield return Mtrr.Fix16K80000;
        yield return Mtrr.Fix16KA0000;
        for (uint i = Mtrr.Fix4KC0000; i <= Mtrr.Fix4KC0000 + 7; i++)
        {
            yield return i;
        }

        yield return Pat.Index;
        yield return Mtrr.DefType;
    }
}
