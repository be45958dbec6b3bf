using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;
using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// The AVX rules the differential harness cannot reach from user mode, from the manuals: when a
/// VEX-encoded instruction raises #UD or #NM (Intel SDM Vol. 2A 2.8, Tables 2-20 ff.; Vol. 3A 2.5),
/// the fate of bits 255:128 under legacy SSE, VEX.128 and VZEROUPPER/VZEROALL in both tiers (Vol. 1
/// 14.1.2, 14.1.3), and the fault behaviour of the masked moves and gathers (Vol. 2B VMASKMOV,
/// VGATHERDPS: masked-off elements never fault; a gather that faults keeps what it gathered).
/// </summary>
public sealed class AvxTests
{
    private static LongModeMachine AvxMachine(bool translate = false)
    {
        var m = new LongModeMachine(translate);
        m.Core.Cr4 |= CpuCore.Cr4OsXsave;
        m.Core.Xcr0 = 7;
        return m;
    }

    [Fact]
    public void VexNeedsOsxsaveAndXcr0ThenRaisesNmOnTs()
    {
        using LongModeMachine m = AvxMachine();
        Assert.Equal(-1, m.Execute(a => a.vaddps(ymm0, ymm1, ymm2)));

        // XCR0 without AVX state (or without SSE state) makes every VEX instruction #UD, 128-bit ones too.
        m.Core.Xcr0 = 3;
        Assert.Equal(6, m.Execute(a => a.vaddps(xmm0, xmm1, xmm2)));
        Assert.Equal(-1, m.Execute(a => a.addps(xmm0, xmm1)));
        m.Core.Xcr0 = 7;

        // CR4.OSXSAVE clear: #UD, before #NM.
        m.Core.Cr0 |= CpuCore.Cr0TS;
        Assert.Equal(7, m.Execute(a => a.vpaddb(ymm0, ymm1, ymm2)));
        Assert.Equal(7, m.Execute(a => a.vzeroupper()));
        m.Core.Cr4 &= ~CpuCore.Cr4OsXsave;
        Assert.Equal(6, m.Execute(a => a.vpaddb(ymm0, ymm1, ymm2)));
        m.Core.Cr4 |= CpuCore.Cr4OsXsave;
        m.Core.Cr0 &= ~CpuCore.Cr0TS;

        // CR0.EM and CR4.OSFXSR gate the legacy encodings only.
        m.Core.Cr0 |= CpuCore.Cr0EM;
        Assert.Equal(-1, m.Execute(a => a.vmulpd(xmm3, xmm4, xmm5)));
        Assert.Equal(6, m.Execute(a => a.mulpd(xmm3, xmm4)));
        m.Core.Cr0 &= ~CpuCore.Cr0EM;
        m.Core.Cr4 &= ~CpuCore.Cr4OsFxsr;
        Assert.Equal(-1, m.Execute(a => a.vmulpd(xmm3, xmm4, xmm5)));
        Assert.Equal(6, m.Execute(a => a.mulpd(xmm3, xmm4)));
    }

    /// <summary>Encodings the decoder rejects (#UD): a LOCK, 66, F2, F3 or REX prefix before VEX, VEX.L = 1 where the instruction has no 256-bit form, VEX.vvvv not 1111b where unused.</summary>
    [Theory]
    [InlineData("66 before VEX", "66c5f877")]
    [InlineData("F2 before VEX", "f2c5f877")]
    [InlineData("F3 before VEX", "f3c5f877")]
    [InlineData("LOCK before VEX", "f0c5f877")]
    [InlineData("REX before VEX", "40c5f877")]
    [InlineData("VMOVD with VEX.L = 1", "c5fd6ec0")]
    [InlineData("VMOVD with VEX.vvvv = 1110", "c5f16ec0")]
    [InlineData("VBROADCASTSS with VEX.W = 1", "c4e2f918c0")]
    [InlineData("VBROADCASTI128 with a register source", "c4e27d5ac0")]
    public void BadVexEncodingsRaiseUndefinedOpcode(string what, string hex)
    {
        using LongModeMachine m = AvxMachine();
        (int vector, string? error) = Execute(m, m.Core.SaveState(), 64, hex);
        Assert.True(error is null, $"{what}: {error}");
        Assert.True(vector == 6, $"{what}: vector {vector}, expected #UD");
    }

    /// <summary>In real-address and virtual-8086 mode C4/C5 are LES/LDS; with a register operand they are #UD, and the VEX forms do not exist.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VexIsUndefinedInRealAndVirtual8086Mode(bool v86)
    {
        using LongModeMachine m = AvxMachine();
        CpuState s = CpuState.AtReset();
        s.Cr4 = CpuCore.Cr4OsFxsr | CpuCore.Cr4OsXsave;
        s.Xcr0 = 7;
        if (v86)
        {
            s.Cr0 |= CpuCore.Cr0PE;
            s.Rflags |= 1 << 17;
        }

        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
        (int vzeroupper, _) = Execute(m, s, 16, "c5f877");
        (int vaddps, _) = Execute(m, s, 16, "c5f858c1");
        (int addps, _) = Execute(m, s, 16, "0f58c1");
        Assert.Equal((6, 6, -1), (vzeroupper, vaddps, addps));
    }

    /// <summary>
    /// Legacy SSE leaves bits 255:128 alone; a VEX.128 instruction zeroes them; VZEROUPPER zeroes
    /// them in every register, VZEROALL whole registers (Intel SDM Vol. 1 14.1.2, 14.1.3). The same in
    /// the translator, which runs the legacy integer forms as host instructions.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UpperHalvesFollowTheEncoding(bool translate)
    {
        using LongModeMachine m = AvxMachine(translate);
        Vector128<byte> upper = Vector128.Create((byte)0xa5);
        for (int i = 0; i < 16; i++)
        {
            m.Core.YmmHigh[i] = upper;
            m.Core.Xmm[i] = Vector128.Create((byte)(i + 1));
        }

        m.Run(a =>
        {
            a.paddb(xmm1, xmm2);
            a.addps(xmm3, xmm4);
            a.movdqa(xmm5, xmm6);
            a.pinsrd(xmm7, eax, 1);
        });
        foreach (int i in new[] { 1, 3, 5, 7 })
        {
            Assert.Equal(upper, m.Core.YmmHigh[i]);
        }

        m.Run(a =>
        {
            a.vpaddb(xmm1, xmm1, xmm2);
            a.vaddps(xmm3, xmm3, xmm4);
            a.vmovdqa(xmm5, xmm6);
            a.vpinsrd(xmm7, xmm7, eax, 1);
        });
        foreach (int i in new[] { 1, 3, 5, 7 })
        {
            Assert.Equal(Vector128<byte>.Zero, m.Core.YmmHigh[i]);
        }

        Assert.Equal(upper, m.Core.YmmHigh[2]);
        m.Run(a => a.vzeroupper());
        Assert.All(Enumerable.Range(0, 16), i => Assert.Equal(Vector128<byte>.Zero, m.Core.YmmHigh[i]));
        Assert.Equal(Vector128.Create((byte)9), m.Core.Xmm[8]);
        m.Core.YmmHigh[8] = upper;
        m.Run(a => a.vzeroall());
        Assert.Equal((Vector128<byte>.Zero, Vector128<byte>.Zero), (m.Core.Xmm[8], m.Core.YmmHigh[8]));
    }

    /// <summary>VMASKMOVPS: an element whose mask bit is clear is not accessed, so a non-canonical address there does not fault; one whose bit is set does.</summary>
    [Fact]
    public void MaskedMovesFaultOnlyOnSelectedElements()
    {
        using LongModeMachine m = AvxMachine();
        // Elements 2 and 3 of a 16-byte access at 0x7FFF_FFFF_FFF8 lie past the canonical boundary (Intel SDM Vol. 3A 3.3.7.1).
        m.Core.R[0] = 0x7fff_ffff_fff8;
        m.Core.Xmm[1] = Vector128.Create(0x8000_0000u, 0x8000_0000u, 0, 0).AsByte();
        Assert.Equal(-1, m.Execute(a => a.vmaskmovps(xmm0, xmm1, __xmmword_ptr[rax])));
        Assert.Equal(-1, m.Execute(a => a.vmaskmovps(__xmmword_ptr[rax], xmm1, xmm2)));
        m.Core.Xmm[1] = Vector128.Create(0u, 0u, 0x8000_0000u, 0).AsByte();
        Assert.Equal(13, m.Execute(a => a.vmaskmovps(xmm0, xmm1, __xmmword_ptr[rax])));
        Assert.Equal(13, m.Execute(a => a.vmaskmovps(__xmmword_ptr[rax], xmm1, xmm2)));

        // A store that faults on one element writes none of them.
        m.Core.R[0] = 0x7fff_ffff_fff8;
        m.Core.Xmm[1] = Vector128.Create(0x8000_0000u, 0x8000_0000u, 0x8000_0000u, 0).AsByte();
        m.Core.Xmm[2] = Vector128.Create(0x1111_1111u).AsByte();
        Assert.Equal(13, m.Execute(a => a.vmaskmovps(__xmmword_ptr[rax], xmm1, xmm2)));
    }

    /// <summary>
    /// VPGATHERDD: the elements below a faulting one are gathered and their mask elements cleared,
    /// the faulting one and those above are not (the instruction can be restarted); registers that
    /// coincide are #UD.
    /// </summary>
    [Fact]
    public void GatherKeepsItsProgressOnAFault()
    {
        using LongModeMachine m = AvxMachine();
        // Index 2 reaches past the canonical boundary from a base just below it (Intel SDM Vol. 3A 3.3.7.1).
        m.Core.R[0] = 0x7fff_0000_0000;
        m.Core.Xmm[1] = Vector128.Create(0, 1, 0x4000_0000, 3).AsByte();
        m.Core.Xmm[2] = Vector128.Create(-1).AsByte();
        m.Core.Xmm[0] = Vector128.Create(0x55555555).AsByte();
        Assert.Equal(13, m.Execute(a => a.vpgatherdd(xmm0, __dword_ptr[rax + xmm1 * 8], xmm2)));
        Vector128<uint> mask = m.Core.Xmm[2].AsUInt32(), gathered = m.Core.Xmm[0].AsUInt32();
        Assert.Equal((0u, 0u, 0xffff_ffffu, 0xffff_ffffu), (mask[0], mask[1], mask[2], mask[3]));
        Assert.Equal((0x5555_5555u, 0x5555_5555u), (gathered[2], gathered[3]));

        m.Core.R[0] = LongModeMachine.DataAddress;
        m.Write(LongModeMachine.DataAddress, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
        m.Core.Xmm[0] = Vector128.Create(0x55555555).AsByte();
        m.Core.Xmm[1] = Vector128.Create(3, 2, 1, 0).AsByte();
        m.Core.Xmm[2] = Vector128.Create(-1, 0, -1, -1).AsByte();
        Assert.Equal(-1, m.Execute(a => a.vpgatherdd(xmm0, __dword_ptr[rax + xmm1 * 4], xmm2)));
        Assert.Equal(Vector128.Create(4u, 0x5555_5555u, 2u, 1u), m.Core.Xmm[0].AsUInt32());
        Assert.Equal(Vector128<byte>.Zero, m.Core.Xmm[2]);
        Assert.Equal(6, m.Execute(a => a.vpgatherdd(xmm0, __dword_ptr[rax + xmm0 * 4], xmm2)));
        Assert.Equal(6, m.Execute(a => a.vpgatherdd(xmm0, __dword_ptr[rax + xmm1 * 4], xmm0)));
    }

    private static unsafe (int Vector, string? InternalError) Execute(LongModeMachine m, CpuState state, int bitness, string hex)
    {
        byte[] bytes = Convert.FromHexString(hex);
        m.Core.LoadState(state);
        m.Core.UpdateMode();
        m.Core.InternalError = null;
        var decoder = Iced.Intel.Decoder.Create(bitness, new ByteArrayCodeReader(bytes), state.Rip);
        decoder.Decode(out Instruction ins);
        var op = DecodedOp.Create(ins, bitness);
        try
        {
            op.Handler(m.Core, ref op.Ins);
            return (-1, m.Core.InternalError);
        }
        catch (GuestFault fault)
        {
            return (fault.Vector, m.Core.InternalError);
        }
    }
}
