using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>Packed integer instructions against the host CPU's own SSE instructions on random and edge inputs.</summary>
public sealed class SseIntegerTests
{
    private const int Cases = 200;

    public static TheoryData<string> Names() => [.. Forms.Keys];

    private static readonly Dictionary<string, (Action<Assembler> Emit, Func<Vector128<byte>, Vector128<byte>, Vector128<byte>> Host)> Forms = new()
    {
        ["paddb"] = (a => a.paddb(xmm1, xmm2), (x, y) => Sse2.Add(x, y)),
        ["paddw"] = (a => a.paddw(xmm1, xmm2), (x, y) => Sse2.Add(x.AsInt16(), y.AsInt16()).AsByte()),
        ["paddd"] = (a => a.paddd(xmm1, xmm2), (x, y) => Sse2.Add(x.AsInt32(), y.AsInt32()).AsByte()),
        ["paddq"] = (a => a.paddq(xmm1, xmm2), (x, y) => Sse2.Add(x.AsInt64(), y.AsInt64()).AsByte()),
        ["psubb"] = (a => a.psubb(xmm1, xmm2), (x, y) => Sse2.Subtract(x, y)),
        ["psubq"] = (a => a.psubq(xmm1, xmm2), (x, y) => Sse2.Subtract(x.AsInt64(), y.AsInt64()).AsByte()),
        ["paddsb"] = (a => a.paddsb(xmm1, xmm2), (x, y) => Sse2.AddSaturate(x.AsSByte(), y.AsSByte()).AsByte()),
        ["paddusw"] = (a => a.paddusw(xmm1, xmm2), (x, y) => Sse2.AddSaturate(x.AsUInt16(), y.AsUInt16()).AsByte()),
        ["psubsw"] = (a => a.psubsw(xmm1, xmm2), (x, y) => Sse2.SubtractSaturate(x.AsInt16(), y.AsInt16()).AsByte()),
        ["psubusb"] = (a => a.psubusb(xmm1, xmm2), (x, y) => Sse2.SubtractSaturate(x, y)),
        ["pcmpeqb"] = (a => a.pcmpeqb(xmm1, xmm2), (x, y) => Sse2.CompareEqual(x, y)),
        ["pcmpeqd"] = (a => a.pcmpeqd(xmm1, xmm2), (x, y) => Sse2.CompareEqual(x.AsInt32(), y.AsInt32()).AsByte()),
        ["pcmpgtb"] = (a => a.pcmpgtb(xmm1, xmm2), (x, y) => Sse2.CompareGreaterThan(x.AsSByte(), y.AsSByte()).AsByte()),
        ["pcmpgtw"] = (a => a.pcmpgtw(xmm1, xmm2), (x, y) => Sse2.CompareGreaterThan(x.AsInt16(), y.AsInt16()).AsByte()),
        ["pcmpgtd"] = (a => a.pcmpgtd(xmm1, xmm2), (x, y) => Sse2.CompareGreaterThan(x.AsInt32(), y.AsInt32()).AsByte()),
        ["pcmpgtq"] = (a => a.pcmpgtq(xmm1, xmm2), (x, y) => Sse42.CompareGreaterThan(x.AsInt64(), y.AsInt64()).AsByte()),
        ["pmullw"] = (a => a.pmullw(xmm1, xmm2), (x, y) => Sse2.MultiplyLow(x.AsInt16(), y.AsInt16()).AsByte()),
        ["pmulhw"] = (a => a.pmulhw(xmm1, xmm2), (x, y) => Sse2.MultiplyHigh(x.AsInt16(), y.AsInt16()).AsByte()),
        ["pmuludq"] = (a => a.pmuludq(xmm1, xmm2), (x, y) => Sse2.Multiply(x.AsUInt32(), y.AsUInt32()).AsByte()),
        ["pmulld"] = (a => a.pmulld(xmm1, xmm2), (x, y) => Sse41.MultiplyLow(x.AsInt32(), y.AsInt32()).AsByte()),
        ["pmaddwd"] = (a => a.pmaddwd(xmm1, xmm2), (x, y) => Sse2.MultiplyAddAdjacent(x.AsInt16(), y.AsInt16()).AsByte()),
        ["pavgb"] = (a => a.pavgb(xmm1, xmm2), (x, y) => Sse2.Average(x, y)),
        ["psadbw"] = (a => a.psadbw(xmm1, xmm2), (x, y) => Sse2.SumAbsoluteDifferences(x, y).AsByte()),
        ["pminub"] = (a => a.pminub(xmm1, xmm2), (x, y) => Sse2.Min(x, y)),
        ["pmaxub"] = (a => a.pmaxub(xmm1, xmm2), (x, y) => Sse2.Max(x, y)),
        ["pminsw"] = (a => a.pminsw(xmm1, xmm2), (x, y) => Sse2.Min(x.AsInt16(), y.AsInt16()).AsByte()),
        ["pmaxsd"] = (a => a.pmaxsd(xmm1, xmm2), (x, y) => Sse41.Max(x.AsInt32(), y.AsInt32()).AsByte()),
        ["pminud"] = (a => a.pminud(xmm1, xmm2), (x, y) => Sse41.Min(x.AsUInt32(), y.AsUInt32()).AsByte()),
        ["pabsb"] = (a => a.pabsb(xmm1, xmm2), (x, y) => Ssse3.Abs(y.AsSByte())),
        ["psignw"] = (a => a.psignw(xmm1, xmm2), (x, y) => Ssse3.Sign(x.AsInt16(), y.AsInt16()).AsByte()),
        ["pand"] = (a => a.pand(xmm1, xmm2), (x, y) => Sse2.And(x, y)),
        ["pandn"] = (a => a.pandn(xmm1, xmm2), (x, y) => Sse2.AndNot(x, y)),
        ["por"] = (a => a.por(xmm1, xmm2), (x, y) => Sse2.Or(x, y)),
        ["pxor"] = (a => a.pxor(xmm1, xmm2), (x, y) => Sse2.Xor(x, y)),
        ["andnps"] = (a => a.andnps(xmm1, xmm2), (x, y) => Sse.AndNot(x.AsSingle(), y.AsSingle()).AsByte()),
        ["psllw"] = (a => a.psllw(xmm1, xmm2), (x, y) => Sse2.ShiftLeftLogical(x.AsInt16(), Small(y).AsInt16()).AsByte()),
        ["psrld"] = (a => a.psrld(xmm1, xmm2), (x, y) => Sse2.ShiftRightLogical(x.AsInt32(), Small(y).AsInt32()).AsByte()),
        ["psraw"] = (a => a.psraw(xmm1, xmm2), (x, y) => Sse2.ShiftRightArithmetic(x.AsInt16(), Small(y).AsInt16()).AsByte()),
        ["psllq"] = (a => a.psllq(xmm1, xmm2), (x, y) => Sse2.ShiftLeftLogical(x.AsInt64(), Small(y).AsInt64()).AsByte()),
    };

    // Shift counts: mostly in range, sometimes above the element width.
    private static Vector128<byte> Small(Vector128<byte> y) => Vector128.Create(y.AsUInt64()[0] % 70, y.AsUInt64()[1]).AsByte();

    [Theory]
    [MemberData(nameof(Names))]
    public void RegisterForm(string name)
    {
        foreach (bool translate in (bool[])[false, true])
        {
            RegisterFormIn(name, translate);
        }
    }

    // Once through the interpreter, once through the translator (which keeps these as host instructions).
    private static void RegisterFormIn(string name, bool translate)
    {
        (Action<Assembler> emit, Func<Vector128<byte>, Vector128<byte>, Vector128<byte>> host) = Forms[name];
        using var m = new LongModeMachine(translate);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xffff);
        for (int i = 0; i < Cases; i++)
        {
            Vector128<byte> x = RandomVector(random), y = RandomVector(random);
            if (name.StartsWith("ps", StringComparison.Ordinal) && name.Length == 5 && name[2] is 'l' or 'r')
            {
                y = Small(y);
            }

            m.Core.Xmm[1] = x;
            m.Core.Xmm[2] = y;
            m.Run(emit);
            Assert.Equal(host(x, y), m.Core.Xmm[1]);
            Assert.Equal(y, m.Core.Xmm[2]);
        }
    }

    [Fact]
    public void MemoryFormAndMmxForm()
    {
        using var m = new LongModeMachine();
        var random = new Random(7);
        for (int i = 0; i < Cases; i++)
        {
            Vector128<byte> x = RandomVector(random), y = RandomVector(random);
            m.Core.Xmm[3] = x;
            m.WriteVector(LongModeMachine.DataAddress, y);
            m.Core.R[0] = LongModeMachine.DataAddress;
            ulong mx = x.AsUInt64()[0], my = y.AsUInt64()[0];
            m.Run(a =>
            {
                a.paddsw(xmm3, __xmmword_ptr[rax]);
                a.movq(mm1, rcx);
                a.movq(mm2, rdx);
                a.paddusb(mm1, mm2);
                a.movq(rbx, mm1);
                a.emms();
            });
            Assert.Equal(Sse2.AddSaturate(x.AsInt16(), y.AsInt16()).AsByte(), m.Core.Xmm[3]);
        }

        m.Core.R[1] = 0xff10_7f80_0102_fffe;
        m.Core.R[2] = 0x0101_0181_ff02_0003;
        m.Run(a =>
        {
            a.movq(mm1, rcx);
            a.movq(mm2, rdx);
            a.paddusb(mm1, mm2);
            a.movq(rbx, mm1);
        });
        ulong expected = Sse2.AddSaturate(Vector128.CreateScalar(0xff10_7f80_0102_fffeUL).AsByte(), Vector128.CreateScalar(0x0101_0181_ff02_0003UL).AsByte()).AsUInt64()[0];
        Assert.Equal(expected, m.Core.R[3]);
        Assert.Equal(0xff, m.Core.FpValid);
        Assert.Equal((ushort)0xffff, m.Core.FpSignExponent[1]);
    }

    [Fact]
    public void AlignedFormsFaultOnMisalignedMemory()
    {
        using var m = new LongModeMachine();
        m.Core.R[0] = LongModeMachine.DataAddress + 8;
        Assert.Equal(13, m.Execute(a => a.movdqa(xmm0, __xmmword_ptr[rax])));
        Assert.Equal(13, m.Execute(a => a.paddb(xmm0, __xmmword_ptr[rax])));
        Assert.Equal(-1, m.Execute(a => a.movdqu(xmm0, __xmmword_ptr[rax])));
        m.Core.Cr4 &= ~Emulator.Jit.State.CpuCore.Cr4OsFxsr;
        Assert.Equal(6, m.Execute(a => a.paddb(xmm0, xmm1)));
        m.Core.Cr4 |= Emulator.Jit.State.CpuCore.Cr4OsFxsr;
        m.Core.Cr0 |= Emulator.Jit.State.CpuCore.Cr0TS;
        Assert.Equal(7, m.Execute(a => a.paddb(xmm0, xmm1)));
        Assert.Equal(7, m.Execute(a => a.paddb(mm0, mm1)));
        m.Core.Cr0 |= Emulator.Jit.State.CpuCore.Cr0EM;
        Assert.Equal(6, m.Execute(a => a.paddb(xmm0, xmm1)));
        Assert.Equal(6, m.Execute(a => a.paddb(mm0, mm1)));
    }

    internal static Vector128<byte> RandomVector(Random random)
    {
        Span<byte> b = stackalloc byte[16];
        random.NextBytes(b);
        // Edge values weighted in: whole elements of 0, all ones, and the sign boundaries.
        int edge = random.Next(8);
        if (edge < 3)
        {
            int at = random.Next(16);
            b[at] = edge switch { 0 => 0, 1 => 0xff, _ => 0x80 };
            b[at ^ 1] = edge switch { 0 => 0, 1 => 0xff, _ => 0x7f };
        }

        return Vector128.Create((ReadOnlySpan<byte>)b);
    }
}
