using System.Buffers.Binary;
using Emulator.Core.Cpu;
using Emulator.Jit.State;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// PKRU as XSAVE state component 9 (Intel SDM Vol. 1 13.5.7). The host has no protection keys, so
/// the oracle is the manual: CPUID.(EAX=0DH,ECX=0):EAX[9] and the standard-format size and offset
/// of Vol. 1 Table 13-1 (8 bytes at 2688), the XSETBV rules of 13.3, XSAVE's XSTATE_BV = XINUSE for
/// requested components (13.7) with PKRU's initial configuration 0 (13.6), XSAVEOPT's init
/// optimization (13.9) and XRSTOR's load-or-initialize (13.8.1).
/// </summary>
public sealed class XsavePkruTests
{
    private const ulong Area = LongModeMachine.DataAddress;
    private const int PkruOffset = 2688;
    private const ulong Xcr0WithPkru = 0x207;

    private static LongModeMachine Machine(uint pkru)
    {
        var m = new LongModeMachine();
        m.Core.Cr4 |= CpuCore.Cr4OsXsave | CpuCore.Cr4Pke;
        m.Core.Xcr0 = Xcr0WithPkru;
        m.Core.Pkru = pkru;
        return m;
    }

    private static ulong Qword(LongModeMachine m, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(m.Read(Area + (ulong)offset, 8));

    private static void Mask(LongModeMachine m, ulong mask)
    {
        m.Core.R[0] = (uint)mask;
        m.Core.R[2] = mask >> 32;
        m.Core.R[1] = Area;
    }

    [Fact]
    public void CpuidEnumeratesComponent9WithItsStandardOffsetAndSize()
    {
        Assert.Equal((8u, 2688u, 0u, 0u), CpuModel.Query(0xd, 9, 0));
        (uint eax, _, uint ecx, uint edx) = CpuModel.Query(0xd, 0, 0);
        Assert.Equal(0x207u, eax);
        Assert.Equal(0u, edx);
        Assert.Equal(2688u + 8, ecx); // every supported component: PKRU ends the area
        Assert.Contains(9u, CpuModel.Subleaves(0xd));

        using LongModeMachine m = Machine(0);
        foreach ((ulong xcr0, uint size) in new[] { (Xcr0WithPkru, 2696u), (0x201UL, 2696u), (7UL, 832u) })
        {
            m.Core.Xcr0 = xcr0;
            m.Core.R[0] = 0xd;
            m.Core.R[1] = 0;
            m.Run(a => a.cpuid());
            Assert.Equal(size, (uint)m.Core.R[3]);
        }
    }

    /// <summary>XCR0[9] has no companion bit (13.3): with or without SSE/AVX it is accepted; bit 8 (PT, a supervisor component) is not.</summary>
    [Fact]
    public void XsetbvAcceptsThePkruBit()
    {
        using LongModeMachine m = Machine(0);
        foreach ((ulong value, int vector) in new[] { (0x207UL, -1), (0x201UL, -1), (0x203UL, -1), (0x200UL, 13), (0x205UL, 13), (0x107UL, 13), (0x407UL, 13) })
        {
            m.Core.Xcr0 = 7;
            m.Core.R[0] = (uint)value;
            m.Core.R[2] = 0;
            m.Core.R[1] = 0;
            Assert.Equal(vector, m.Execute(a => a.xsetbv()));
            Assert.Equal(vector < 0 ? value : 7, m.Core.Xcr0);
        }
    }

    [Fact]
    public void XsaveWritesPkruAndMarksItInUse()
    {
        using LongModeMachine m = Machine(0x5555_000c);
        m.Write(Area + PkruOffset, BitConverter.GetBytes(ulong.MaxValue));
        m.Write(Area + 512, BitConverter.GetBytes(ulong.MaxValue)); // XSTATE_BV: bits outside RFBM are kept
        Mask(m, XsaveLayout.Pkru);
        m.Run(a => a.xsave64(__[rcx]));

        Assert.Equal(0x5555_000cUL, Qword(m, PkruOffset)); // bytes 3:0 PKRU, reserved 7:4 written as 0
        Assert.Equal(ulong.MaxValue, Qword(m, 512));

        // PKRU = 0 is the initial configuration: XSAVE writes XSTATE_BV[9] = XINUSE[9] = 0.
        m.Core.Pkru = 0;
        Mask(m, XsaveLayout.Pkru);
        m.Run(a => a.xsave64(__[rcx]));
        Assert.Equal(ulong.MaxValue & ~XsaveLayout.Pkru, Qword(m, 512));
        Assert.Equal(0UL, Qword(m, PkruOffset));
    }

    [Fact]
    public void XsaveoptSkipsPkruInItsInitialConfiguration()
    {
        using LongModeMachine m = Machine(0);
        m.Write(Area + PkruOffset, BitConverter.GetBytes(0x1234_5678UL));
        m.Write(Area + 512, BitConverter.GetBytes(XsaveLayout.Pkru));
        Mask(m, XsaveLayout.Pkru);
        m.Run(a => a.xsaveopt64(__[rcx]));
        Assert.Equal(0x1234_5678UL, Qword(m, PkruOffset));
        Assert.Equal(0UL, Qword(m, 512) & XsaveLayout.Pkru);
    }

    /// <summary>The component does not need CR4.PKE: XCR0[9] alone puts it under the XSAVE feature set.</summary>
    [Fact]
    public void XrstorLoadsOrInitializesPkru()
    {
        using LongModeMachine m = Machine(0x0000_0004);
        m.Core.Cr4 &= ~CpuCore.Cr4Pke;
        m.Write(Area, new byte[2752]);
        m.Write(Area + PkruOffset, BitConverter.GetBytes(0xffff_ffff_0000_00f0UL)); // reserved bytes 7:4 ignored
        m.Write(Area + 512, BitConverter.GetBytes(XsaveLayout.Pkru));
        Mask(m, XsaveLayout.Pkru);
        m.Run(a => a.xrstor64(__[rcx]));
        Assert.Equal(0xf0u, m.Core.Pkru);

        // RFBM[9] clear: PKRU is left alone even though XSTATE_BV[9] is set.
        m.Core.Pkru = 0x30;
        Mask(m, XsaveLayout.X87);
        m.Run(a => a.xrstor64(__[rcx]));
        Assert.Equal(0x30u, m.Core.Pkru);

        // XSTATE_BV[9] clear: the component is initialized (PKRU = 0).
        m.Write(Area + 512, BitConverter.GetBytes(0UL));
        Mask(m, XsaveLayout.Pkru);
        m.Run(a => a.xrstor64(__[rcx]));
        Assert.Equal(0u, m.Core.Pkru);
    }

    [Fact]
    public void XrstorRefusesPkruStateThatXcr0DoesNotEnable()
    {
        using LongModeMachine m = Machine(0x44);
        m.Core.Xcr0 = 7;
        m.Write(Area, new byte[2752]);
        m.Write(Area + 512, BitConverter.GetBytes(XsaveLayout.Pkru));
        Mask(m, ulong.MaxValue);
        Assert.Equal(13, m.Execute(a => a.xrstor64(__[rcx])));
        Assert.Equal(0x44u, m.Core.Pkru);
    }

    /// <summary>RDPKRU sees what XRSTOR loaded (the register is one; the XSAVE area is its image).</summary>
    [Fact]
    public void RdpkruReadsTheRestoredValue()
    {
        using LongModeMachine m = Machine(0);
        m.Write(Area, new byte[2752]);
        m.Write(Area + PkruOffset, BitConverter.GetBytes(0x8000_0001UL));
        m.Write(Area + 512, BitConverter.GetBytes(XsaveLayout.Pkru));
        Mask(m, XsaveLayout.Pkru);
        m.Run(a =>
        {
            a.xrstor64(__[rcx]);
            a.xor(ecx, ecx);
            a.rdpkru();
            a.mov(ebx, eax);
        });
        Assert.Equal(0x8000_0001UL, m.Core.R[3]);
    }
}
