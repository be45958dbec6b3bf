using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Instructions whose only behaviour on this CPU is the invalid-opcode exception (#UD, Intel SDM
/// Vol. 3A 6.15): UD0, UD1 and UD2, which exist to raise it (Vol. 2B UD), and RSM, which raises it
/// outside system-management mode, a mode this CPU never enters (Vol. 2B RSM). <see cref="Raise"/>
/// is also the handler of every code the model does not have (<see cref="HandlerTable.Classify"/>).
/// </summary>
internal static unsafe class Undefined
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Ud0, &Raise);
        r.Add(Mnemonic.Ud1, &Raise);
        r.Add(Mnemonic.Ud2, &Raise);
        r.Add(Mnemonic.Rsm, &Raise);
    }

    /// <summary>Raises #UD: no state changes, the saved RIP points at the instruction.</summary>
    public static void Raise(CpuCore cpu, ref Instruction ins) => throw new GuestFault(Vectors.UD);
}
