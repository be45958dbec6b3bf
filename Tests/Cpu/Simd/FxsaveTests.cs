using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// FXSAVE/FXRSTOR: the 512-byte image (Intel SDM Vol. 1 10.5.1, Table 10-2) produced by the
/// software CPU must equal the host CPU's for the same x87, MXCSR and XMM state (the instruction
/// and data pointers and FOP excepted, and on an AMD host the AMD-only MM bit of MXCSR_MASK);
/// FXRSTOR must load it back; CpuState carries the same image.
/// </summary>
public sealed unsafe class FxsaveTests
{
    // x87: FNINIT, push 1, pi and -2.5 (TOP = 5, R5-R7 valid); MXCSR = round down, DAZ; XMM0-15 distinct patterns.
    private static void Program(Assembler a)
    {
        a.fninit();
        a.fld1();
        a.fldpi();
        a.fld(__qword_ptr[rax + 512]);
        a.ldmxcsr(__dword_ptr[rax + 520]);
        for (int i = 0; i < 16; i++)
        {
            a.movdqu(new AssemblerRegisterXMM(Register.XMM0 + i), __xmmword_ptr[rax + 528 + (16 * i)]);
        }

        a.fxsave64(__[rax]);
        a.fstp(st0);
        a.fstp(st0);
        a.fstp(st0);
    }

    [Fact]
    public void ImageMatchesHost()
    {
        byte[] input = new byte[528 + 256];
        BitConverter.TryWriteBytes(input.AsSpan(512), -2.5);
        BitConverter.TryWriteBytes(input.AsSpan(520), 0x3fc0u);
        for (int i = 0; i < 256; i++)
        {
            input[528 + i] = (byte)((i * 37) + 11);
        }

        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)input.Length, 64);
        byte[] hostImage;
        try
        {
            input.CopyTo(new Span<byte>(buffer, input.Length));
            using var host = new HostSimd(Program);
            // HostSimd preserves the runtime's MXCSR around the stub; XMM0-XMM15 are caller-saved in the SysV ABI.
            host.Run(new SimdCase { Mxcsr = 0x1f80, Rax = (ulong)buffer, Flags = 0x202 });
            hostImage = new Span<byte>(buffer, 512).ToArray();
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }

        using var m = new LongModeMachine();
        m.Write(LongModeMachine.DataAddress, input);
        m.Core.R[0] = LongModeMachine.DataAddress;
        m.Run(Program);
        byte[] image = m.Read(LongModeMachine.DataAddress, 512);

        // Bytes 6-23 hold FOP, FIP and FDP: addresses differ between host and guest, FOP is not tracked.
        Assert.Equal(Convert.ToHexString(hostImage, 0, 6), Convert.ToHexString(image, 0, 6));
        // MXCSR (bytes 24-27), its mask (28-31) and ST0-ST2 (32-79); ST3-ST7 are empty and FXSAVE
        // stores whatever their physical registers held before FNINIT (Intel SDM Vol. 1 10.5.1), which
        // on the host is left over from other code on the thread. Then XMM0-15 (bytes 160-415).
        Assert.Equal(Convert.ToHexString(hostImage, 24, 4), Convert.ToHexString(image, 24, 4));
        uint maskCompared = MxcsrMaskCompared(out string? why);
        Assert.True(
            ((BitConverter.ToUInt32(hostImage, 28) ^ BitConverter.ToUInt32(image, 28)) & maskCompared) == 0,
            $"MXCSR_MASK: host {BitConverter.ToUInt32(hostImage, 28):x8} emulated {BitConverter.ToUInt32(image, 28):x8} (compared {maskCompared:x8}{(why is null ? "" : $": {why}")}; host {HostCpu.Description})");
        Assert.Equal(Convert.ToHexString(hostImage, 32, 80 - 32), Convert.ToHexString(image, 32, 80 - 32));
        Assert.Equal(Convert.ToHexString(hostImage, 160, 416 - 160), Convert.ToHexString(image, 160, 416 - 160));
        Assert.Equal(0x3fc0u, BitConverter.ToUInt32(image, 24));
        Assert.Equal(0xe0, image[4]); // abridged tags: R5, R6, R7 valid
        Assert.Equal(5, (BitConverter.ToUInt16(image, 2) >> 11) & 7); // TOP
        // ST0 = -2.5 as an 80-bit value at offset 32 (stack order).
        Assert.Equal(0xa000_0000_0000_0000UL, BitConverter.ToUInt64(image, 32));
        Assert.Equal((ushort)0xc000, BitConverter.ToUInt16(image, 40));
    }

    // MXCSR_MASK lists the MXCSR bits the processor implements (Intel SDM Vol. 1 11.6.6): FFFFh on
    // Intel processors with DAZ, which is what the software CPU (GenuineIntel) stores. AMD processors
    // with misaligned SSE mode (CPUID Fn8000_0001 ECX bit 7, MisAlignSse) also implement MXCSR bit 17,
    // MM, the misaligned-exception mask (AMD APM Vol. 1 4.2.2 "MXCSR"; 4.7.2 "Misaligned Access
    // Support"), an AMD-only bit the emulated CPU does not have: only on such a host is it masked.
    private static uint MxcsrMaskCompared(out string? why)
    {
        const int MisAlignSse = 7;
        if (HostCpu.IsAmd && HostCpu.Has(unchecked((int)0x8000_0001), 2, MisAlignSse))
        {
            why = "bit 17 (MM) is AMD's misaligned-SSE exception mask, absent on the emulated Intel CPU";
            return ~(1u << 17);
        }

        why = null;
        return uint.MaxValue;
    }

    [Fact]
    public void FxrstorLoadsTheImageAndRejectsReservedMxcsrBits()
    {
        using var m = new LongModeMachine();
        byte[] image = new byte[512];
        BitConverter.TryWriteBytes(image.AsSpan(0), (ushort)0x027f);
        BitConverter.TryWriteBytes(image.AsSpan(2), (ushort)(3 << 11));
        image[4] = 0x08; // R3 = ST0 valid
        BitConverter.TryWriteBytes(image.AsSpan(24), 0x1f80u | (1u << 13));
        BitConverter.TryWriteBytes(image.AsSpan(32), 0x8000_0000_0000_0000UL);
        BitConverter.TryWriteBytes(image.AsSpan(40), (ushort)0x3fff); // ST0 = 1.0
        for (int i = 0; i < 16; i++)
        {
            image[160 + (16 * i)] = (byte)(i + 1);
        }

        m.Write(LongModeMachine.DataAddress, image);
        m.Core.R[0] = LongModeMachine.DataAddress;
        m.Run(a =>
        {
            a.fxrstor64(__[rax]);
            a.fstp(__qword_ptr[rax + 512]);
        });
        Assert.Equal(1.0, BitConverter.ToDouble(m.Read(LongModeMachine.DataAddress + 512, 8)));
        Assert.Equal((ushort)0x027f, m.Core.Fcw);
        Assert.Equal(0x1f80u | (1u << 13), m.Core.Mxcsr);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal((byte)(i + 1), m.Core.Xmm[i].GetElement(0));
        }

        BitConverter.TryWriteBytes(image.AsSpan(24), 0x1_0000u);
        m.Write(LongModeMachine.DataAddress, image);
        Assert.Equal(13, m.Execute(a => a.fxrstor64(__[rax])));
        m.Core.R[0] = LongModeMachine.DataAddress + 8;
        Assert.Equal(13, m.Execute(a => a.fxsave64(__[rax])));
    }

    [Fact]
    public void CpuStateCarriesTheImage()
    {
        using var m = new LongModeMachine();
        m.Core.Xmm[7] = Vector128.Create(0x0123_4567_89ab_cdefUL, 0xfedc_ba98_7654_3210UL).AsByte();
        m.Core.Mxcsr = 0x9fc0;
        m.Core.Fcw = 0x0e7f;
        m.Core.FpTop = 6;
        m.Core.FpValid = 0x40;
        m.Core.FpSignificand[6] = 0xc90f_daa2_2168_c235;
        m.Core.FpSignExponent[6] = 0x4000;
        CpuState s = m.Core.SaveState();
        Assert.Equal(0x0e7f, BitConverter.ToUInt16(s.FxState, 0));
        Assert.Equal(6, BitConverter.ToUInt16(s.FxState, 2) >> 11);
        Assert.Equal(0x40, s.FxState[4]);
        Assert.Equal(0x9fc0u, BitConverter.ToUInt32(s.FxState, 24));
        Assert.Equal(0xffffu, BitConverter.ToUInt32(s.FxState, 28));
        Assert.Equal(0xc90f_daa2_2168_c235UL, BitConverter.ToUInt64(s.FxState, 32));
        Assert.Equal(0xfedc_ba98_7654_3210UL, BitConverter.ToUInt64(s.FxState, 160 + (16 * 7) + 8));

        using var other = new LongModeMachine();
        other.Core.LoadState(s);
        Assert.Equal(m.Core.Xmm[7], other.Core.Xmm[7]);
        Assert.Equal(0x9fc0u, other.Core.Mxcsr);
        Assert.Equal(6, other.Core.FpTop);
        Assert.Equal(0xc90f_daa2_2168_c235UL, other.Core.FpSignificand[6]);
    }

    [Fact]
    public void CpuidAdvertisesTheImplementedExtensions()
    {
        (_, _, uint ecx, uint edx) = CpuModel.Query(1, 0, 0);
        Assert.Equal(0x0780_0001u, edx & 0x0780_0001u); // FPU, MMX, FXSR, SSE, SSE2
        Assert.Equal(0x0018_0201u, ecx & 0x0018_0201u); // SSE3, SSSE3, SSE4.1, SSE4.2
        // FMA (12), XSAVE (26), AVX (28), F16C (29); OSXSAVE (27) clear after RESET (CR4.OSXSAVE = 0).
        Assert.Equal((1u << 12) | (1u << 26) | (1u << 28) | (1u << 29), ecx & ((1u << 12) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29)));
        Assert.Equal(1u << 5, CpuModel.Query(7, 0, 0).Ebx & (1u << 5)); // AVX2
    }
}
