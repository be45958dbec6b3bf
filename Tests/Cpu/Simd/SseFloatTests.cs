using System.Runtime.Intrinsics;
using Emulator.Jit.State;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// SSE floating-point instructions differentially against the host CPU: the same instruction runs
/// natively (<see cref="HostSimd"/>) and in the software CPU from the same XMM0, XMM1, RAX and MXCSR
/// (every rounding mode, DAZ and FTZ, all exceptions masked); results, MXCSR flags and the
/// arithmetic flags must match bit for bit. Inputs mix random bits with edge values: zeros,
/// infinities, quiet and signalling NaNs, denormals, the largest and smallest normals.
/// </summary>
public sealed class SseFloatTests
{
    // EMU_SIMD_CASES raises the count for long runs (millions).
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("EMU_SIMD_CASES"), out int n) ? n : 400;
    private const ulong FlagsMask = 0x8d5; // CF PF AF ZF SF OF

    public static TheoryData<string> Names() => [.. Forms.Keys];

    private static readonly Dictionary<string, Action<Assembler>> Forms = new()
    {
        ["addps"] = a => a.addps(xmm0, xmm1),
        ["addpd"] = a => a.addpd(xmm0, xmm1),
        ["addss"] = a => a.addss(xmm0, xmm1),
        ["addsd"] = a => a.addsd(xmm0, xmm1),
        ["subps"] = a => a.subps(xmm0, xmm1),
        ["subsd"] = a => a.subsd(xmm0, xmm1),
        ["mulps"] = a => a.mulps(xmm0, xmm1),
        ["mulpd"] = a => a.mulpd(xmm0, xmm1),
        ["mulss"] = a => a.mulss(xmm0, xmm1),
        ["mulsd"] = a => a.mulsd(xmm0, xmm1),
        ["divps"] = a => a.divps(xmm0, xmm1),
        ["divpd"] = a => a.divpd(xmm0, xmm1),
        ["divss"] = a => a.divss(xmm0, xmm1),
        ["divsd"] = a => a.divsd(xmm0, xmm1),
        ["sqrtps"] = a => a.sqrtps(xmm0, xmm1),
        ["sqrtpd"] = a => a.sqrtpd(xmm0, xmm1),
        ["sqrtss"] = a => a.sqrtss(xmm0, xmm1),
        ["sqrtsd"] = a => a.sqrtsd(xmm0, xmm1),
        ["minps"] = a => a.minps(xmm0, xmm1),
        ["minsd"] = a => a.minsd(xmm0, xmm1),
        ["maxpd"] = a => a.maxpd(xmm0, xmm1),
        ["maxss"] = a => a.maxss(xmm0, xmm1),
        ["cmpps0"] = a => a.cmpps(xmm0, xmm1, 0),
        ["cmpps1"] = a => a.cmpps(xmm0, xmm1, 1),
        ["cmpps2"] = a => a.cmpps(xmm0, xmm1, 2),
        ["cmpps3"] = a => a.cmpps(xmm0, xmm1, 3),
        ["cmppd4"] = a => a.cmppd(xmm0, xmm1, 4),
        ["cmppd5"] = a => a.cmppd(xmm0, xmm1, 5),
        ["cmpss6"] = a => a.cmpss(xmm0, xmm1, 6),
        ["cmpsd7"] = a => a.cmpsd(xmm0, xmm1, 7),
        ["comiss"] = a => a.comiss(xmm0, xmm1),
        ["ucomiss"] = a => a.ucomiss(xmm0, xmm1),
        ["comisd"] = a => a.comisd(xmm0, xmm1),
        ["ucomisd"] = a => a.ucomisd(xmm0, xmm1),
        ["addsubps"] = a => a.addsubps(xmm0, xmm1),
        ["haddpd"] = a => a.haddpd(xmm0, xmm1),
        ["hsubps"] = a => a.hsubps(xmm0, xmm1),
        ["cvtss2sd"] = a => a.cvtss2sd(xmm0, xmm1),
        ["cvtsd2ss"] = a => a.cvtsd2ss(xmm0, xmm1),
        ["cvtps2pd"] = a => a.cvtps2pd(xmm0, xmm1),
        ["cvtpd2ps"] = a => a.cvtpd2ps(xmm0, xmm1),
        ["cvtdq2ps"] = a => a.cvtdq2ps(xmm0, xmm1),
        ["cvtdq2pd"] = a => a.cvtdq2pd(xmm0, xmm1),
        ["cvtps2dq"] = a => a.cvtps2dq(xmm0, xmm1),
        ["cvttps2dq"] = a => a.cvttps2dq(xmm0, xmm1),
        ["cvtpd2dq"] = a => a.cvtpd2dq(xmm0, xmm1),
        ["cvttpd2dq"] = a => a.cvttpd2dq(xmm0, xmm1),
        ["cvtsd2si32"] = a => a.cvtsd2si(eax, xmm1),
        ["cvtsd2si64"] = a => a.cvtsd2si(rax, xmm1),
        ["cvttss2si64"] = a => a.cvttss2si(rax, xmm1),
        ["cvtss2si32"] = a => a.cvtss2si(eax, xmm1),
        ["cvtsi2sd64"] = a => a.cvtsi2sd(xmm0, rax),
        ["cvtsi2ss64"] = a => a.cvtsi2ss(xmm0, rax),
        ["cvtsi2ss32"] = a => a.cvtsi2ss(xmm0, eax),
        ["roundps"] = a => a.roundps(xmm0, xmm1, 4),
        ["cvtpi2ps"] = a =>
        {
            a.movq(mm1, rax);
            a.cvtpi2ps(xmm0, mm1);
            a.emms();
        },
        ["cvtps2pi"] = a =>
        {
            a.cvtps2pi(mm0, xmm1);
            a.movq(rax, mm0);
            a.emms();
        },
        ["cvttpd2pi"] = a =>
        {
            a.cvttpd2pi(mm0, xmm1);
            a.movq(rax, mm0);
            a.emms();
        },
        ["roundsd1"] = a => a.roundsd(xmm0, xmm1, 1),
        ["roundss11"] = a => a.roundss(xmm0, xmm1, 11),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesHost(string name)
    {
        Action<Assembler> emit = Forms[name];
        using var host = new HostSimd(emit);
        using var m = new LongModeMachine();
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xffff);
        bool single = name.Contains("ps", StringComparison.Ordinal) || name.Contains("ss", StringComparison.Ordinal);
        for (int i = 0; i < Cases; i++)
        {
            var input = new SimdCase
            {
                // All exceptions masked; random rounding control, DAZ and FTZ.
                Mxcsr = 0x1f80 | ((uint)random.Next(4) << 13) | (random.Next(4) == 0 ? 0x40u : 0) | (random.Next(4) == 0 ? 0x8000u : 0),
                Xmm0 = RandomFloats(random, single),
                Xmm1 = RandomFloats(random, single),
                Rax = RandomInteger(random),
                Flags = 0x202 | ((ulong)random.Next(0x100) & FlagsMask),
            };
            SimdCase expected = host.Run(input);

            m.Core.Mxcsr = input.Mxcsr;
            m.Core.Xmm[0] = input.Xmm0;
            m.Core.Xmm[1] = input.Xmm1;
            m.Core.R[0] = input.Rax;
            m.Core.Rflags = input.Flags;
            m.Run(emit);
            string where = $"{name} case {i}: mxcsr {input.Mxcsr:x4} xmm0 {Hex(input.Xmm0)} xmm1 {Hex(input.Xmm1)} rax {input.Rax:x}";
            Assert.True(expected.Xmm0 == m.Core.Xmm[0], $"{where}: xmm0 {Hex(m.Core.Xmm[0])}, host {Hex(expected.Xmm0)}");
            Assert.True(expected.Mxcsr == m.Core.Mxcsr, $"{where}: mxcsr {m.Core.Mxcsr:x4}, host {expected.Mxcsr:x4}");
            Assert.True(expected.Rax == m.Core.R[0], $"{where}: rax {m.Core.R[0]:x}, host {expected.Rax:x}");
            Assert.True((expected.Flags & FlagsMask) == (m.Core.Rflags & FlagsMask), $"{where}: flags {m.Core.Rflags:x}, host {expected.Flags:x}");
        }
    }

    [Fact]
    public void UnmaskedExceptionRaisesXmAndKeepsTheDestination()
    {
        using var m = new LongModeMachine();
        m.Core.Mxcsr = 0x1f80 & ~(1u << 9); // ZM clear
        m.Core.Xmm[0] = Vector128.Create(1.0, 2.0).AsByte();
        m.Core.Xmm[1] = Vector128.Create(0.0, 1.0).AsByte();
        Assert.Equal(19, m.Execute(a => a.divpd(xmm0, xmm1)));
        Assert.Equal(Vector128.Create(1.0, 2.0).AsByte(), m.Core.Xmm[0]);
        Assert.Equal(0x1f80u & ~(1u << 9) | 4, m.Core.Mxcsr);
        m.Core.Cr4 &= ~CpuCore.Cr4OsXmmExcpt;
        Assert.Equal(6, m.Execute(a => a.divpd(xmm0, xmm1)));
    }

    [Fact]
    public void LdmxcsrRejectsReservedBits()
    {
        using var m = new LongModeMachine();
        m.Write(LongModeMachine.DataAddress, BitConverter.GetBytes(0x1_0000u));
        m.Core.R[0] = LongModeMachine.DataAddress;
        Assert.Equal(13, m.Execute(a => a.ldmxcsr(__dword_ptr[rax])));
        m.Write(LongModeMachine.DataAddress, BitConverter.GetBytes(0xffc0u));
        m.Run(a =>
        {
            a.ldmxcsr(__dword_ptr[rax]);
            a.stmxcsr(__dword_ptr[rax + 4]);
        });
        Assert.Equal(0xffc0u, BitConverter.ToUInt32(m.Read(LongModeMachine.DataAddress + 4, 4)));
    }

    private static string Hex(Vector128<byte> v) => $"{v.AsUInt64()[1]:x16}{v.AsUInt64()[0]:x16}";

    private static ulong RandomInteger(Random random) => random.Next(4) switch
    {
        0 => (ulong)random.Next(-1000, 1000),
        1 => (ulong)(long)random.Next(),
        2 => (1UL << random.Next(64)) | (uint)random.Next(16),
        _ => (ulong)random.NextInt64() * 3,
    };

    internal static Vector128<byte> RandomFloats(Random random, bool single)
    {
        if (single)
        {
            return Vector128.Create(RandomSingle(random), RandomSingle(random), RandomSingle(random), RandomSingle(random)).AsByte();
        }

        return Vector128.Create(RandomDouble(random), RandomDouble(random)).AsByte();
    }

    private static uint RandomSingle(Random random)
    {
        uint sign = (uint)random.Next(2) << 31;
        return random.Next(16) switch
        {
            0 => sign,
            1 => sign | 0x7f80_0000,
            2 => sign | 0x7fc0_0000 | (uint)random.Next(0x40_0000),
            3 => sign | 0x7f80_0000 | (uint)random.Next(1, 0x40_0000),
            4 => sign | (uint)random.Next(1, 0x80_0000),
            5 => sign | 0x7f7f_ffff,
            6 => sign | 0x0080_0000 | (uint)random.Next(4),
            7 => sign | (uint)(0x3f80_0000 + random.Next(-0x100_0000, 0x100_0000)),
            8 => BitConverter.SingleToUInt32Bits(random.Next(-100, 100) / 4f),
            9 => BitConverter.SingleToUInt32Bits(random.Next() * 8f),
            _ => sign | (uint)random.Next(0x7f80_0000),
        };
    }

    private static ulong RandomDouble(Random random)
    {
        ulong sign = (ulong)random.Next(2) << 63;
        ulong frac = (ulong)random.NextInt64() & ((1UL << 52) - 1);
        return random.Next(16) switch
        {
            0 => sign,
            1 => sign | 0x7ff0_0000_0000_0000,
            2 => sign | 0x7ff8_0000_0000_0000 | (frac >> 1),
            3 => sign | 0x7ff0_0000_0000_0000 | Math.Max(1, frac >> 1),
            4 => sign | Math.Max(1, frac >> random.Next(52)),
            5 => sign | 0x7fef_ffff_ffff_ffff,
            6 => sign | 0x0010_0000_0000_0000 | (uint)random.Next(4),
            7 => sign | (ulong)((long)0x3ff0_0000_0000_0000 + random.NextInt64(-1L << 54, 1L << 54)),
            8 => BitConverter.DoubleToUInt64Bits(random.Next(-100, 100) / 4.0),
            9 => BitConverter.DoubleToUInt64Bits(random.NextInt64() * 1024.0),
            10 => sign | ((ulong)random.Next(0x3b0, 0x3d0) << 52) | frac,
            11 => sign | ((ulong)random.Next(0x7c0, 0x7ff) << 52) | frac,
            12 => BitConverter.DoubleToUInt64Bits(random.Next(-3_000_000, 3_000_000) * 1000.0 + 0.5),
            _ => sign | ((ulong)random.Next(0x7ff) << 52) | frac,
        };
    }
}
