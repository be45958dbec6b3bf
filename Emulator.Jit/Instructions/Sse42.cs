using System.Numerics;
using System.Runtime.Intrinsics;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// SSE4.2 (and the AVX forms of the string comparisons): CRC32 (Intel SDM Vol. 2A CRC32), the CRC-32C (Castagnoli, reflected polynomial 0x82F63B78)
/// of an 8-, 16-, 32- or 64-bit source accumulated into a 32-bit value (general-purpose registers, so
/// CR4.OSFXSR does not gate it), and the string comparisons PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM
/// (Vol. 2B 4.1: element format, aggregation, polarity and output selection by imm8). PCMPGTQ is in
/// <see cref="SseInteger"/>.
/// </summary>
internal static unsafe class Sse42
{
    private const uint Polynomial = 0x82f6_3b78;

    private static readonly uint[] Table = BuildTable();

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Crc32, &Crc32);
        r.Add(Mnemonic.Pcmpestri, Mnemonic.Vpcmpestri, &StringCompare);
        r.Add(Mnemonic.Pcmpestri64, Mnemonic.Vpcmpestri64, &StringCompare);
        r.Add(Mnemonic.Pcmpestrm, Mnemonic.Vpcmpestrm, &StringCompare);
        r.Add(Mnemonic.Pcmpestrm64, Mnemonic.Vpcmpestrm64, &StringCompare);
        r.Add(Mnemonic.Pcmpistri, Mnemonic.Vpcmpistri, &StringCompare);
        r.Add(Mnemonic.Pcmpistrm, Mnemonic.Vpcmpistrm, &StringCompare);
    }

    private static void StringCompare(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        Vector128<byte> b = cpu.ReadVectorOp(ins, 1).GetLower();
        Vector128<byte> a = cpu.XmmReg(ins.Op0Register);
        byte imm = ins.Immediate8;
        bool words = (imm & 1) != 0, signed = (imm & 2) != 0;
        int n = words ? 8 : 16;
        Mnemonic m = ins.Mnemonic;
        bool explicitLengths = m is Mnemonic.Pcmpestri or Mnemonic.Pcmpestri64 or Mnemonic.Pcmpestrm or Mnemonic.Pcmpestrm64
            or Mnemonic.Vpcmpestri or Mnemonic.Vpcmpestri64 or Mnemonic.Vpcmpestrm or Mnemonic.Vpcmpestrm64;
        bool wide = m is Mnemonic.Pcmpestri64 or Mnemonic.Pcmpestrm64 or Mnemonic.Vpcmpestri64 or Mnemonic.Vpcmpestrm64;
        int la, lb;
        if (explicitLengths)
        {
            la = ExplicitLength(wide ? (long)cpu.R[0] : (int)cpu.R[0], n);
            lb = ExplicitLength(wide ? (long)cpu.R[2] : (int)cpu.R[2], n);
        }
        else
        {
            la = ImplicitLength(a, words);
            lb = ImplicitLength(b, words);
        }

        int intRes1 = 0;
        int aggregation = (imm >> 2) & 3;
        for (int j = 0; j < n; j++)
        {
            bool bit;
            switch (aggregation)
            {
                case 0: // equal any: b[j] is one of a's valid elements
                    bit = false;
                    for (int i = 0; i < n && !bit; i++)
                    {
                        bit = i < la && j < lb && Element(a, i, words, signed) == Element(b, j, words, signed);
                    }

                    break;
                case 1: // ranges: a[i] <= b[j] <= a[i + 1] for some even i
                    bit = false;
                    for (int i = 0; i + 1 < n && !bit; i += 2)
                    {
                        long e = Element(b, j, words, signed);
                        bit = i < la && i + 1 < la && j < lb && Element(a, i, words, signed) <= e && e <= Element(a, i + 1, words, signed);
                    }

                    break;
                case 2: // equal each: both invalid is true, one invalid is false
                    bit = j >= la && j >= lb ? true : j < la && j < lb && Element(a, j, words, signed) == Element(b, j, words, signed);
                    break;
                default: // equal ordered: a, as a needle, matches b from position j (an invalid needle element matches)
                    bit = true;
                    for (int i = 0, k = j; i < n - j && bit; i++, k++)
                    {
                        bit = i >= la || (k < lb && Element(a, i, words, signed) == Element(b, k, words, signed));
                    }

                    break;
            }

            intRes1 |= bit ? 1 << j : 0;
        }

        int all = (1 << n) - 1;
        int intRes2 = ((imm >> 4) & 3) switch
        {
            1 => ~intRes1 & all,
            3 => intRes1 ^ ((1 << lb) - 1),
            _ => intRes1,
        };

        bool index = m is Mnemonic.Pcmpestri or Mnemonic.Pcmpestri64 or Mnemonic.Pcmpistri or Mnemonic.Vpcmpestri or Mnemonic.Vpcmpestri64 or Mnemonic.Vpcmpistri;
        if (index)
        {
            int result = intRes2 == 0 ? n : (imm & 0x40) != 0 ? 31 - BitOperations.LeadingZeroCount((uint)intRes2) : BitOperations.TrailingZeroCount(intRes2);
            cpu.R[1] = (uint)result;
        }
        else if ((imm & 0x40) == 0)
        {
            // The mask goes to XMM0; a VEX form zeroes bits 255:128 of YMM0.
            cpu.WriteVectorRegister(ins, Iced.Intel.Register.XMM0, Vector256.CreateScalar((uint)intRes2).AsByte());
        }
        else
        {
            UInt128 mask = 0;
            int width = words ? 16 : 8;
            for (int j = 0; j < n; j++)
            {
                if ((intRes2 & (1 << j)) != 0)
                {
                    mask |= (((UInt128)1 << width) - 1) << (j * width);
                }
            }

            cpu.WriteVectorRegister(ins, Iced.Intel.Register.XMM0, Vector256.Create(SseInteger.FromUInt128(mask), Vector128<byte>.Zero));
        }

        uint flags = (intRes2 != 0 ? LazyFlags.CF : 0) | (lb < n ? LazyFlags.ZF : 0) | (la < n ? LazyFlags.SF : 0) | ((intRes2 & 1) != 0 ? LazyFlags.OF : 0);
        cpu.Flags.SetAll(flags);
    }

    private static long Element(Vector128<byte> v, int i, bool words, bool signed) =>
        words ? (signed ? v.AsInt16()[i] : v.AsUInt16()[i]) : (signed ? v.AsSByte()[i] : v[i]);

    private static int ImplicitLength(Vector128<byte> v, bool words)
    {
        int n = words ? 8 : 16;
        for (int i = 0; i < n; i++)
        {
            if (Element(v, i, words, false) == 0)
            {
                return i;
            }
        }

        return n;
    }

    // The absolute value of the length register, saturated to the element count.
    private static int ExplicitLength(long value, int n) => value == long.MinValue ? n : (int)Math.Min(Math.Abs(value), n);

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
