using System.Buffers.Binary;
using System.Security.Cryptography;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// RDRAND and RDSEED (Intel SDM Vol. 1 7.3.17, Vol. 2B RDRAND, RDSEED): a random value from the
/// host's cryptographic generator (<see cref="RandomNumberGenerator"/>, the kernel's getrandom on
/// Linux), which never runs dry, so CF is always 1 (a valid value was returned); OF, SF, ZF, AF and
/// PF are cleared. A guest must still handle CF = 0 on hardware; emu simply never returns it.
/// </summary>
internal static unsafe class RandomNumber
{
    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Rdrand, &Generate);
        r.Add(Mnemonic.Rdseed, &Generate);
    }

    private static void Generate(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 0);
        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        RandomNumberGenerator.Fill(bytes[..size]);
        cpu.WriteOp(ins, 0, size, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        cpu.Flags.SetAll((cpu.Flags.Get() & ~LazyFlags.ArithMask) | LazyFlags.CF);
    }
}
