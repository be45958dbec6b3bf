using System.Runtime.InteropServices;
using Emulator.Jit.State;
using Emulator.Tests.Cpu.Simd;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.X87;

/// <summary>
/// x87 instructions against the host CPU: the same sequence (load operands from memory, operate,
/// store the result and the status word) runs natively and in the software CPU. The host runs with
/// precision control at 53 bits, where its arithmetic is what the software CPU models exactly
/// (correctly rounded 53-bit significands, extended exponent range); every rounding mode; all
/// exceptions masked. Operands mix random values with zeros, infinities, NaNs and denormals.
/// </summary>
public sealed unsafe class X87Tests
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("EMU_SIMD_CASES"), out int n) ? n : 400;

    // Buffer: 0 operand a (m64), 8 operand b (m64), 16 result (m64 or m80), 32 saved host FCW, 34 test FCW, 40 FSW.
    private static readonly Dictionary<string, Action<Assembler>> Forms = new()
    {
        ["faddp"] = a => Binary(a, () => a.faddp(st1, st0)),
        ["fsubp"] = a => Binary(a, () => a.fsubp(st1, st0)),
        ["fsubrp"] = a => Binary(a, () => a.fsubrp(st1, st0)),
        ["fmulp"] = a => Binary(a, () => a.fmulp(st1, st0)),
        ["fdivp"] = a => Binary(a, () => a.fdivp(st1, st0)),
        ["fdivrp"] = a => Binary(a, () => a.fdivrp(st1, st0)),
        ["fmul_m64"] = a => Unary(a, () => a.fmul(__qword_ptr[rax + 8])),
        ["fsqrt"] = a => Unary(a, () => a.fsqrt()),
        ["frndint"] = a => Unary(a, () => a.frndint()),
        ["fprem"] = a => Binary(a, () =>
        {
            a.fxch(st0, st1);
            a.fprem();
            a.fstp(st1);
        }),
        ["fprem1"] = a => Binary(a, () =>
        {
            a.fxch(st0, st1);
            a.fprem1();
            a.fstp(st1);
        }),
        ["fscale"] = a => Binary(a, () =>
        {
            a.fxch(st0, st1);
            a.fscale();
            a.fstp(st1);
        }),
        ["fistp_m64"] = a => Store(a, () => a.fistp(__qword_ptr[rax + 16])),
        ["fistp_m32"] = a => Store(a, () => a.fistp(__dword_ptr[rax + 16])),
        ["fistp_m16"] = a => Store(a, () => a.fistp(__word_ptr[rax + 16])),
        ["fisttp_m64"] = a => Store(a, () => a.fisttp(__qword_ptr[rax + 16])),
        ["fstp_m32"] = a => Store(a, () => a.fstp(__dword_ptr[rax + 16])),
        ["fstp_m80"] = a => Store(a, () => a.fstp(__tword_ptr[rax + 16])),
        ["fbstp"] = a => Store(a, () => a.fbstp(__tword_ptr[rax + 16])),
        ["fbld_fbstp"] = a => Store(a, () =>
        {
            a.fbstp(__tword_ptr[rax + 16]);
            a.fbld(__tword_ptr[rax + 16]);
            a.fstp(__qword_ptr[rax + 16]);
        }),
        ["fcomip"] = a => Compare(a, () => a.fcomip(st0, st1)),
        ["fucomip"] = a => Compare(a, () => a.fucomip(st0, st1)),
        ["fcompp"] = a => Compare(a, () =>
        {
            a.fcompp();
            a.fld(__qword_ptr[rax]);
            a.fld(__qword_ptr[rax]);
        }),
        ["fxam"] = a => Compare(a, () =>
        {
            a.fxam();
            a.fld(__qword_ptr[rax]);
        }),
    };

    public static TheoryData<string> Names() => [.. Forms.Keys];

    private static void Prologue(Assembler a)
    {
        a.fnstcw(__word_ptr[rax + 32]);
        a.fninit();
        a.fldcw(__word_ptr[rax + 34]);
    }

    private static void Epilogue(Assembler a)
    {
        a.fnstsw(__word_ptr[rax + 40]);
        a.fnclex();
        a.fldcw(__word_ptr[rax + 32]);
    }

    // ST1 = b, ST0 = a; the operation leaves one value, stored as m64.
    private static void Binary(Assembler a, Action op)
    {
        Prologue(a);
        a.fld(__qword_ptr[rax + 8]);
        a.fld(__qword_ptr[rax]);
        op();
        a.fstp(__qword_ptr[rax + 16]);
        Epilogue(a);
    }

    private static void Unary(Assembler a, Action op)
    {
        Prologue(a);
        a.fld(__qword_ptr[rax]);
        op();
        a.fstp(__qword_ptr[rax + 16]);
        Epilogue(a);
    }

    private static void Store(Assembler a, Action store)
    {
        Prologue(a);
        a.fld(__qword_ptr[rax]);
        a.fmul(__qword_ptr[rax + 8]);
        store();
        Epilogue(a);
    }

    private static void Compare(Assembler a, Action compare)
    {
        Prologue(a);
        a.fld(__qword_ptr[rax + 8]);
        a.fld(__qword_ptr[rax]);
        compare();
        a.fstp(st0);
        a.fstp(st0);
        Epilogue(a);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesHost(string name)
    {
        Action<Assembler> emit = Forms[name];
        using var host = new HostSimd(emit);
        using var m = new LongModeMachine();
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(64, 16);
        try
        {
            var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xffff);
            for (int i = 0; i < Cases; i++)
            {
                var data = new byte[48];
                BitConverter.TryWriteBytes(data.AsSpan(0), Operand(random, name));
                BitConverter.TryWriteBytes(data.AsSpan(8), name.StartsWith("fist", StringComparison.Ordinal) || name.StartsWith("fb", StringComparison.Ordinal) ? ScaleFactor(random) : Operand(random, name));
                ushort fcw = (ushort)(0x027f | (random.Next(4) << 10));
                BitConverter.TryWriteBytes(data.AsSpan(34), fcw);
                data.CopyTo(new Span<byte>(buffer, 48));
                var input = new SimdCase { Mxcsr = 0x1f80, Rax = (ulong)buffer, Flags = 0x202 };
                SimdCase expected = host.Run(input);
                byte[] hostData = new Span<byte>(buffer, 48).ToArray();

                m.Write(LongModeMachine.DataAddress, data);
                m.Core.R[0] = LongModeMachine.DataAddress;
                m.Core.Rflags = 0x202;
                m.Run(emit);
                byte[] emuData = m.Read(LongModeMachine.DataAddress, 48);
                string where = $"{name} case {i}: fcw {fcw:x4} a {BitConverter.ToUInt64(data, 0):x16} ({BitConverter.ToDouble(data, 0)}) b {BitConverter.ToUInt64(data, 8):x16} ({BitConverter.ToDouble(data, 8)})";
                Assert.True(hostData.AsSpan(16, 10).SequenceEqual(emuData.AsSpan(16, 10)), $"{where}: result {Convert.ToHexString(emuData, 16, 10)}, host {Convert.ToHexString(hostData, 16, 10)}");
                ushort hostFsw = BitConverter.ToUInt16(hostData, 40), emuFsw = BitConverter.ToUInt16(emuData, 40);
                // Exception flags, stack fault, TOP and C0/C2/C3; C1 (round-up indication) is not modelled.
                const ushort Mask = 0x7f | 0x3800 | 0x4000 | 0x0400 | 0x0100;
                Assert.True((hostFsw & Mask) == (emuFsw & Mask), $"{where}: fsw {emuFsw:x4}, host {hostFsw:x4}");
                if (name.Contains("comi", StringComparison.Ordinal))
                {
                    Assert.True((expected.Flags & 0x8d5) == (m.Core.Rflags & 0x8d5), $"{where}: flags {m.Core.Rflags:x}, host {expected.Flags:x}");
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    [Fact]
    public void ExtendedFormatsAreExact()
    {
        using var m = new LongModeMachine();
        // 80-bit memory values round-trip unchanged, including NaN payloads, unnormals kept as data and denormals.
        ulong[] significands = [0x8000_0000_0000_0001, 0xffff_ffff_ffff_ffff, 0xc000_0000_0000_1234, 0x0000_0000_0000_0001, 0xa000_0000_0000_0000];
        ushort[] exponents = [0x3fff, 0x7ffe, 0xffff, 0x0000, 0x8001];
        for (int i = 0; i < significands.Length; i++)
        {
            byte[] data = new byte[32];
            BitConverter.TryWriteBytes(data.AsSpan(0), significands[i]);
            BitConverter.TryWriteBytes(data.AsSpan(8), exponents[i]);
            m.Write(LongModeMachine.DataAddress, data);
            m.Core.R[0] = LongModeMachine.DataAddress;
            m.Run(a =>
            {
                a.fninit();
                a.fld(__tword_ptr[rax]);
                a.fstp(__tword_ptr[rax + 16]);
            });
            Assert.Equal(data.AsSpan(0, 10).ToArray(), m.Read(LongModeMachine.DataAddress + 16, 10));
        }

        // FILD m64 / FISTP m64 keep all 64 bits, which a double could not.
        m.Write(LongModeMachine.DataAddress, BitConverter.GetBytes(0x7fff_ffff_ffff_fffdL));
        m.Run(a =>
        {
            a.fild(__qword_ptr[rax]);
            a.fld1();
            a.fxch(st0, st1);
            a.fistp(__qword_ptr[rax + 8]);
            a.fstp(st0);
        });
        Assert.Equal(0x7fff_ffff_ffff_fffdL, BitConverter.ToInt64(m.Read(LongModeMachine.DataAddress + 8, 8)));
        Assert.Equal(0, m.Core.FpTop);
        Assert.Equal(0, m.Core.FpValid);
    }

    [Fact]
    public void ControlWordStatusWordAndStackFaults()
    {
        using var m = new LongModeMachine();
        m.Core.R[0] = LongModeMachine.DataAddress;
        m.Run(a =>
        {
            a.fninit();
            a.fnstcw(__word_ptr[rax]);
            for (int i = 0; i < 9; i++)
            {
                a.fldz();
            }

            a.fnstsw(ax);
        });
        Assert.Equal((ushort)0x037f, BitConverter.ToUInt16(m.Read(LongModeMachine.DataAddress, 2)));
        // The ninth push overflows: IE, SF, C1 set; TOP wrapped to 0 after 8 pushes stays at 0... the masked response replaces ST(0) with the indefinite value.
        ushort fsw = (ushort)m.Core.R[0];
        Assert.Equal(0x41, fsw & 0x41);
        Assert.NotEqual(0, fsw & 0x200);
        Assert.Equal(Float80Indefinite, (m.Core.FpSignificand[m.Core.FpTop], m.Core.FpSignExponent[m.Core.FpTop]));

        m.Core.Cr0 = (m.Core.Cr0 & ~CpuCore.Cr0MP) | CpuCore.Cr0TS;
        Assert.Equal(7, m.Execute(a => a.fldz()));
        Assert.Equal(-1, m.Execute(a => a.wait()));
        m.Core.Cr0 |= CpuCore.Cr0MP;
        Assert.Equal(7, m.Execute(a => a.wait()));
    }

    private static readonly (ulong, ushort) Float80Indefinite = (0xc000_0000_0000_0000, 0xffff);

    private static double ScaleFactor(Random random) => random.Next(6) switch
    {
        0 => 1e10,
        1 => 1e19,
        2 => 0.5,
        3 => 65536.0 * 65536.0 * 65536.0 * 2,
        _ => random.NextDouble() * 1000,
    };

    private static double Operand(Random random, string name)
    {
        bool small = name.StartsWith("fscale", StringComparison.Ordinal);
        return random.Next(14) switch
        {
            0 => random.Next(2) == 0 ? 0.0 : -0.0,
            1 => random.Next(2) == 0 ? double.PositiveInfinity : double.NegativeInfinity,
            2 => double.NaN,
            3 => BitConverter.UInt64BitsToDouble(0x7ff4_0000_0000_0001),
            4 => BitConverter.UInt64BitsToDouble((ulong)random.NextInt64(1, 1L << 52)),
            5 => double.MaxValue,
            6 => random.Next(-100, 100) / 8.0,
            7 => small ? random.Next(-70, 70) : Math.ScaleB(random.NextDouble() - 0.5, random.Next(-1100, 1100)),
            8 => random.Next(-1000, 1000) + 0.5,
            _ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)),
        };
    }
}
