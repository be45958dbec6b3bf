using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Instructions;

/// <summary>
/// RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE: the FS and GS bases read and written at any privilege
/// in 64-bit mode once the OS sets CR4.FSGSBASE (Intel SDM Vol. 2B RDFSBASE/RDGSBASE,
/// WRFSBASE/WRGSBASE; Vol. 3A 2.5 CR4 bit 16).
/// </summary>
internal static unsafe class SegmentBases
{
    /// <summary>CR4.FSGSBASE.</summary>
    public const ulong Cr4FsGsBase = 1UL << 16;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Rdfsbase, &Rdfsbase);
        r.Add(Mnemonic.Rdgsbase, &Rdgsbase);
        r.Add(Mnemonic.Wrfsbase, &Wrfsbase);
        r.Add(Mnemonic.Wrgsbase, &Wrgsbase);
    }

    private static void Rdfsbase(CpuCore cpu, ref Instruction ins) => Read(cpu, ins, SegIndex.Fs);

    private static void Rdgsbase(CpuCore cpu, ref Instruction ins) => Read(cpu, ins, SegIndex.Gs);

    private static void Wrfsbase(CpuCore cpu, ref Instruction ins) => Write(cpu, ins, SegIndex.Fs);

    private static void Wrgsbase(CpuCore cpu, ref Instruction ins) => Write(cpu, ins, SegIndex.Gs);

    // #UD outside 64-bit mode or while CR4.FSGSBASE is clear.
    private static void Require(CpuCore cpu)
    {
        if (cpu.Bitness != 64 || (cpu.Cr4 & Cr4FsGsBase) == 0)
        {
            throw new GuestFault(Vectors.UD);
        }
    }

    // The 32-bit form returns the base's low half, zero-extended into the 64-bit register.
    private static void Read(CpuCore cpu, in Instruction ins, SegIndex seg)
    {
        Require(cpu);
        cpu.WriteReg(ins.Op0Register, cpu.Seg[(int)seg].Base);
    }

    // The 32-bit form writes the zero-extended value; a 64-bit value must be canonical (#GP(0)).
    private static void Write(CpuCore cpu, in Instruction ins, SegIndex seg)
    {
        Require(cpu);
        ulong value = cpu.ReadReg(ins.Op0Register);
        if (!CpuCore.IsCanonical(value))
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.Seg[(int)seg].Base = value;
    }
}
