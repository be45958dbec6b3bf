using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The x87 escape opcodes D8-DF on a machine without a floating-point unit, which is what
/// <see cref="CpuModel"/> presents (CPUID.01H:EDX.FPU clear). Software that probes for an FPU with
/// FNINIT and FNSTSW reads back its own sentinel and finds none.
/// </summary>
internal static unsafe class X87
{
    private const ulong Cr0EM = 1 << 2, Cr0TS = 1 << 3;

    public static void Register(HandlerTable.Registry r)
    {
        foreach (Code code in Enum.GetValues<Code>())
        {
            if (code == Code.INVALID)
            {
                continue;
            }

            OpCodeInfo op = code.ToOpCode();
            if (op.Encoding == EncodingKind.Legacy && op.Table == OpCodeTableKind.Normal && op.OpCode is >= 0xd8 and <= 0xdf)
            {
                r.Add(code, &Escape);
            }
        }
    }

    // EM or TS set: #NM (Intel SDM Vol. 3A 2.5, Table 2-2). Otherwise the escape completes with no
    // effect but the segment checks of its memory operand, as on an 80286 with no 80287 attached.
    private static void Escape(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.Cr0 & (Cr0EM | Cr0TS)) != 0)
        {
            throw new GuestFault(Vectors.NM);
        }

        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Memory)
            {
                _ = cpu.MemoryLinear(ins, Math.Max(ins.MemorySize.GetSize(), 1));
            }
        }
    }
}
