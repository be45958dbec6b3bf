using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// SSE4.2 instructions implemented so far: CRC32 (Intel SDM Vol. 2A CRC32), the CRC-32C (Castagnoli,
/// reflected polynomial 0x82F63B78) of an 8-, 16-, 32- or 64-bit source accumulated into a 32-bit
/// value. CRC32 works on general-purpose registers, so CR4.OSFXSR does not gate it. PCMPxSTRx are not
/// implemented, which is why CPUID does not advertise SSE4.2 yet.
/// </summary>
internal static unsafe class Sse42
{
    private const uint Polynomial = 0x82f6_3b78;

    private static readonly uint[] Table = BuildTable();

    public static void Register(HandlerTable.Registry r) => r.Add(Mnemonic.Crc32, &Crc32);

    private static void Crc32(CpuCore cpu, ref Instruction ins)
    {
        int size = CpuCore.OpSize(ins, 1);
        ulong data = cpu.ReadOp(ins, 1, size);
        uint crc = (uint)cpu.ReadReg(ins.Op0Register);
        for (int i = 0; i < size; i++)
        {
            crc = Table[(byte)(crc ^ (data >> (8 * i)))] ^ (crc >> 8);
        }

        // The 64-bit destination form zero-extends the 32-bit result.
        cpu.WriteReg(ins.Op0Register, crc);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
