using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The ADX multi-precision additions: ADCX adds with carry through CF, ADOX through OF, and each
/// leaves every other flag unchanged, so two carry chains can interleave (Intel SDM Vol. 2A ADCX, ADOX).
/// </summary>
internal static unsafe class Adx
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Adcx, &Adcx);
        r.Add(Mnemonic.Adox, &Adox);
    }

    private static void Adcx(CpuCore cpu, ref Instruction ins) => AddWithCarryFlag(cpu, ins, LazyFlags.CF);

    private static void Adox(CpuCore cpu, ref Instruction ins) => AddWithCarryFlag(cpu, ins, LazyFlags.OF);

    private static void AddWithCarryFlag(CpuCore cpu, in Instruction ins, uint carryFlag)
    {
        int size = CpuCore.OpSize(ins, 0);
        uint flags = cpu.Flags.Get();
        ulong carryIn = (flags & carryFlag) != 0 ? 1UL : 0;
        ulong a = cpu.ReadOp(ins, 0, size), b = cpu.ReadOp(ins, 1, size);
        UInt128 sum = (UInt128)a + b + carryIn;
        bool carryOut = (sum >> (size * 8)) != 0;
        cpu.WriteOp(ins, 0, size, (ulong)sum & Alu.Mask(size));
        cpu.Flags.SetAll((flags & ~carryFlag) | (carryOut ? carryFlag : 0));
    }
}
