using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Emulator.Core.Cpu;
using Emulator.Jit.State;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// The XSAVE feature set against the host CPU: the standard-format image XSAVE and XSAVEOPT write
/// for every requested-feature bitmap, and the state XRSTOR leaves for every combination of RFBM and
/// XSTATE_BV, must equal the host's byte for byte, apart from fields named with their reason (the
/// x87 pointers and FOP, x87 registers that are empty, AMD's MXCSR_MASK bit, XINUSE of a component in
/// its initial configuration). The faults and XCR0 rules come from the SDM.
/// </summary>
public sealed unsafe class XsaveTests(ITestOutputHelper output)
{
    // Buffer layout: the XSAVE area at 0 (1024 bytes), a second area at 2048 (XRSTOR tests), then the
    // program's inputs: a double for the x87 stack at 1024, MXCSR at 1032, YMM0-15 at 1040 (512 bytes).
    private const int Area = 0, SecondArea = 2048, X87Value = 1024, MxcsrValue = 1032, YmmValues = 1040, BufferSize = 3072;

    private static readonly AssemblerRegisterYMM[] Ymm =
        [ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12, ymm13, ymm14, ymm15];

    // x87: FNINIT, push 1, pi and a double (TOP = 5, R5-R7 valid); MXCSR; YMM0-15 from memory.
    // RCX holds the buffer (HostSimd passes it in RAX; the machine's RAX is set to it too).
    private static void LoadState(Assembler a)
    {
        a.mov(rcx, rax);
        a.fninit();
        a.fld1();
        a.fldpi();
        a.fld(__qword_ptr[rcx + X87Value]);
        a.ldmxcsr(__dword_ptr[rcx + MxcsrValue]);
        for (int i = 0; i < 16; i++)
        {
            a.vmovdqu(Ymm[i], __ymmword_ptr[rcx + YmmValues + (32 * i)]);
        }
    }

    private static void Unwind(Assembler a)
    {
        a.fstp(st0);
        a.fstp(st0);
        a.fstp(st0);
        a.vzeroupper();
    }

    private static Action<Assembler> SaveProgram(int rfbm, bool optimized) => a =>
    {
        LoadState(a);
        a.mov(eax, rfbm);
        a.xor(edx, edx);
        if (optimized)
        {
            a.xsaveopt64(__[rcx + Area]);
        }
        else
        {
            a.xsave64(__[rcx + Area]);
        }

        Unwind(a);
    };

    private static Action<Assembler> RestoreProgram(int rfbm) => a =>
    {
        LoadState(a);
        a.mov(eax, rfbm);
        a.xor(edx, edx);
        a.xrstor64(__[rcx + Area]);
        a.mov(eax, 7);
        a.xsave64(__[rcx + SecondArea]);
        a.fninit();
        a.vzeroupper();
    };

    private static byte[] Inputs(int seed)
    {
        var random = new Random(seed);
        byte[] buffer = new byte[BufferSize];
        random.NextBytes(buffer);
        BitConverter.TryWriteBytes(buffer.AsSpan(X87Value), -2.5);
        BitConverter.TryWriteBytes(buffer.AsSpan(MxcsrValue), 0x3fc0u);
        return buffer;
    }

    private static byte[] RunOnHost(byte[] input, Action<Assembler> program)
    {
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(BufferSize, 64);
        try
        {
            input.CopyTo(new Span<byte>(buffer, BufferSize));
            using var host = new HostSimd(program);
            // HostSimd preserves the runtime's MXCSR around the stub; the vector registers are caller-saved in the SysV ABI.
            host.Run(new SimdCase { Mxcsr = 0x1f80, Rax = (ulong)buffer, Flags = 0x202 });
            return new Span<byte>(buffer, BufferSize).ToArray();
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static LongModeMachine XsaveMachine(bool translate = false)
    {
        var m = new LongModeMachine(translate);
        m.Core.Cr4 |= CpuCore.Cr4OsXsave;
        m.Core.Xcr0 = 7;
        return m;
    }

    private static byte[] RunEmulated(byte[] input, Action<Assembler> program, bool translate = false)
    {
        using LongModeMachine m = XsaveMachine(translate);
        m.Write(LongModeMachine.DataAddress, input);
        m.Core.R[0] = LongModeMachine.DataAddress;
        m.Run(program);
        return m.Read(LongModeMachine.DataAddress, BufferSize);
    }

    private static void SkipWithoutHostXsave()
    {
        Skip.IfNot(RuntimeInformation.ProcessArchitecture == Architecture.X64 && Avx.IsSupported && HostCpu.Has(1, 2, 26), "the host CPU has no XSAVE with AVX state");
    }

    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(5, false)]
    [InlineData(6, false)]
    [InlineData(7, false)]
    [InlineData(7, true)]
    public void ImageMatchesHost(int rfbm, bool optimized)
    {
        SkipWithoutHostXsave();
        byte[] input = Inputs(rfbm * 31);
        foreach (bool translate in (bool[])[false, true])
        {
            byte[] host = RunOnHost(input, SaveProgram(rfbm, optimized));
            byte[] emulated = RunEmulated(input, SaveProgram(rfbm, optimized), translate);
            CompareAreas(host, emulated, Area, x87Loaded: (rfbm & 1) != 0, initComponents: 0);
        }
    }

    /// <summary>
    /// XRSTOR with each RFBM and XSTATE_BV: the state it leaves (saved again with XSAVE) must be the
    /// host's: components requested and present loaded, requested and absent initialized, not
    /// requested kept; MXCSR loaded whenever SSE or AVX is requested (Intel SDM Vol. 1 13.8.1).
    /// </summary>
    [SkippableFact]
    public void RestoreMatchesHost()
    {
        SkipWithoutHostXsave();
        for (int rfbm = 0; rfbm < 8; rfbm++)
        {
            for (int xstateBv = 0; xstateBv < 8; xstateBv++)
            {
                byte[] input = Inputs((rfbm * 8) + xstateBv);
                ValidImage(input.AsSpan(Area), (ulong)xstateBv, new Random(xstateBv));
                byte[] host = RunOnHost(input, RestoreProgram(rfbm));
                byte[] emulated = RunEmulated(input, RestoreProgram(rfbm));
                output.WriteLine($"RFBM {rfbm} XSTATE_BV {xstateBv}: restored state saved again");
                CompareAreas(host, emulated, SecondArea, x87Loaded: (rfbm & 1) == 0 || (xstateBv & 1) != 0, initComponents: (ulong)(rfbm & ~xstateBv));
            }
        }
    }

    // An image XRSTOR accepts: a valid x87 state (FCW, TOP 6, ST0-ST1 valid), MXCSR without reserved
    // bits, random XMM and YMM halves, the header all zero but XSTATE_BV.
    private static void ValidImage(Span<byte> area, ulong xstateBv, Random random)
    {
        BitConverter.TryWriteBytes(area, (ushort)0x027f);
        BitConverter.TryWriteBytes(area[2..], (ushort)(6 << 11));
        area[4] = 0xc0;
        area[5] = 0;
        area[6..24].Clear();
        BitConverter.TryWriteBytes(area[24..], 0x1f80u | (2u << 13) | 0x21);
        for (int i = 0; i < 8; i++)
        {
            Span<byte> slot = area.Slice(32 + (16 * i), 16);
            slot.Clear();
            BitConverter.TryWriteBytes(slot, 0x8000_0000_0000_0000UL | (ulong)random.NextInt64());
            BitConverter.TryWriteBytes(slot[8..], (ushort)(0x3fff + i));
        }

        area[512..576].Clear();
        BitConverter.TryWriteBytes(area[512..], xstateBv);
    }

    private static void CompareAreas(byte[] host, byte[] emulated, int at, bool x87Loaded, ulong initComponents)
    {
        byte[] expected = host.AsSpan(at, 1024).ToArray(), actual = emulated.AsSpan(at, 1024).ToArray();

        // Bytes 6-23 hold FOP, FIP and FDP: the addresses differ between host and guest, and FOP is not tracked.
        expected.AsSpan(6, 18).Clear();
        actual.AsSpan(6, 18).Clear();

        // ST3-ST7 are empty: XSAVE stores whatever their physical registers held (on the host, left over
        // from other code on the thread; Intel SDM Vol. 1 10.5.1), and after an initialization the
        // data registers' contents are not architectural either.
        expected.AsSpan(80, 80).Clear();
        actual.AsSpan(80, 80).Clear();
        if (!x87Loaded)
        {
            expected.AsSpan(32, 48).Clear();
            actual.AsSpan(32, 48).Clear();
        }

        // MXCSR_MASK: AMD's misaligned-SSE mask bit (see FxsaveTests).
        if (HostCpu.IsAmd && HostCpu.Has(unchecked((int)0x8000_0001), 2, 7))
        {
            expected[30] &= 0xfd;
            actual[30] &= 0xfd;
        }

        // XINUSE[i] of a component in its initial configuration may be 0 or 1 (Intel SDM Vol. 1 13.6):
        // after XRSTOR initialized it, XSTATE_BV[i] is the processor's choice.
        expected[512] &= (byte)~initComponents;
        actual[512] &= (byte)~initComponents;

        for (int i = 0; i < 1024; i += 32)
        {
            Assert.True(
                expected.AsSpan(i, 32).SequenceEqual(actual.AsSpan(i, 32)),
                $"bytes {i}-{i + 31}: host {Convert.ToHexString(expected, i, 32)} emulated {Convert.ToHexString(actual, i, 32)} (host {HostCpu.Description})");
        }
    }

    /// <summary>The AVX component's size and offset (CPUID.(EAX=0DH,ECX=2)) are the host's, and the area sizes follow XCR0.</summary>
    [SkippableFact]
    public void CpuidLeafDMatchesHostAndFollowsXcr0()
    {
        SkipWithoutHostXsave();
        (int hostSize, int hostOffset, _, _) = X86Base.CpuId(0xd, 2);
        Assert.Equal(((uint)hostSize, (uint)hostOffset), CpuModel.Query(0xd, 2, 0) is var q ? (q.Eax, q.Ebx) : default);

        using LongModeMachine m = XsaveMachine();
        foreach ((ulong xcr0, uint size) in new[] { (3UL, 576u), (7UL, 832u), (1UL, 576u) })
        {
            m.Core.Xcr0 = xcr0;
            m.Core.R[0] = 0xd;
            m.Core.R[1] = 0;
            m.Run(a => a.cpuid());
            Assert.Equal(size, (uint)m.Core.R[3]); // EBX: the size for the components XCR0 enables
            Assert.Equal(2696u, (uint)m.Core.R[1]); // ECX: for every supported component (PKRU, 8 bytes at 2688, ends the area)
            Assert.Equal(0x207u, (uint)m.Core.R[0]); // x87, SSE, AVX, PKRU
        }

        // CPUID.1:ECX.OSXSAVE (bit 27) reflects CR4.OSXSAVE.
        m.Core.R[0] = 1;
        m.Run(a => a.cpuid());
        Assert.NotEqual(0UL, m.Core.R[1] & (1UL << 27));
        m.Core.Cr4 &= ~CpuCore.Cr4OsXsave;
        m.Core.R[0] = 1;
        m.Run(a => a.cpuid());
        Assert.Equal(0UL, m.Core.R[1] & (1UL << 27));
    }

    /// <summary>XGETBV and XSETBV (Intel SDM Vol. 2B): only XCR0 exists; bit 0 set, AVX only with SSE, supported bits only, CPL 0.</summary>
    [Fact]
    public void XsetbvAcceptsOnlyValidXcr0Values()
    {
        using LongModeMachine m = XsaveMachine();
        foreach ((ulong value, int vector) in new[] { (7UL, -1), (3UL, -1), (1UL, -1), (5UL, 13), (6UL, 13), (0UL, 13), (0xfUL, 13), (0x107UL, 13), ((1UL << 32) | 7, 13) })
        {
            m.Core.Xcr0 = 7;
            m.Core.R[0] = (uint)value;
            m.Core.R[2] = value >> 32;
            m.Core.R[1] = 0;
            Assert.Equal(vector, m.Execute(a => a.xsetbv()));
            Assert.Equal(vector < 0 ? value : 7, m.Core.Xcr0);
        }

        m.Core.R[1] = 1;
        Assert.Equal(13, m.Execute(a => a.xsetbv()));
        Assert.Equal(13, m.Execute(a => a.xgetbv()));
        m.Core.R[1] = 0;
        m.Core.Xcr0 = 3;
        Assert.Equal(-1, m.Execute(a => a.xgetbv()));
        Assert.Equal((3UL, 0UL), (m.Core.R[0], m.Core.R[2]));

        // Outside ring 0 XSETBV is #GP(0); XGETBV is allowed.
        m.Core.Seg[(int)Seg.Cs].Selector |= 3;
        m.Core.UpdateMode();
        m.Core.R[0] = 7;
        Assert.Equal(13, m.Execute(a => a.xsetbv()));
        Assert.Equal(-1, m.Execute(a => a.xgetbv()));

        // With CR4.OSXSAVE clear both are #UD.
        m.Core.Cr4 &= ~CpuCore.Cr4OsXsave;
        Assert.Equal(6, m.Execute(a => a.xgetbv()));
        Assert.Equal(6, m.Execute(a => a.xsetbv()));
    }

    /// <summary>
    /// The faults of XSAVE and XRSTOR (Intel SDM Vol. 1 13.7, 13.8.1): #UD with CR4.OSXSAVE clear,
    /// #NM with CR0.TS, #GP(0) for an area not 64-byte aligned, an XSTATE_BV bit not in XCR0,
    /// nonzero bytes 23:8 of the header (XCOMP_BV: the compacted form needs XSAVEC), and a reserved
    /// MXCSR bit; a faulting XRSTOR changes nothing.
    /// </summary>
    [Fact]
    public void FaultsFollowTheManual()
    {
        using LongModeMachine m = XsaveMachine();
        byte[] image = new byte[1024];
        ValidImage(image, 7, new Random(1));
        m.Write(LongModeMachine.DataAddress, image);
        m.Core.R[0] = 7;
        m.Core.R[2] = 0;
        m.Core.R[1] = LongModeMachine.DataAddress;
        Assert.Equal(-1, m.Execute(a => a.xrstor64(__[rcx])));
        Assert.Equal(-1, m.Execute(a => a.xsave64(__[rcx])));

        m.Core.R[1] = LongModeMachine.DataAddress + 32;
        Assert.Equal(13, m.Execute(a => a.xsave64(__[rcx])));
        Assert.Equal(13, m.Execute(a => a.xrstor64(__[rcx])));
        m.Core.R[1] = LongModeMachine.DataAddress;

        System.Runtime.Intrinsics.Vector128<byte> before = m.Core.Xmm[3];
        void Rejected(int offset, ulong value)
        {
            byte[] bad = (byte[])image.Clone();
            BitConverter.TryWriteBytes(bad.AsSpan(offset), value);
            m.Write(LongModeMachine.DataAddress, bad);
            m.Core.Xmm[3] = before;
            Assert.Equal(13, m.Execute(a => a.xrstor64(__[rcx])));
            Assert.Equal(before, m.Core.Xmm[3]);
        }

        Rejected(512, 0xf);                 // XSTATE_BV[3]: not in XCR0
        Rejected(520, 1UL << 63);           // XCOMP_BV[63]: the compacted form
        Rejected(528, 1);                   // bytes 23:16 of the header
        Rejected(24, 0x0000_ffff_0001_1f80); // MXCSR bit 16 reserved (MXCSR_MASK, at 28, is not checked)
        m.Core.Xcr0 = 3;
        Rejected(512, 7);                   // AVX state when XCR0 does not enable it

        m.Core.Xcr0 = 7;
        m.Write(LongModeMachine.DataAddress, image);
        m.Core.Cr0 |= CpuCore.Cr0TS;
        Assert.Equal(7, m.Execute(a => a.xsave64(__[rcx])));
        Assert.Equal(7, m.Execute(a => a.xrstor64(__[rcx])));
        m.Core.Cr4 &= ~CpuCore.Cr4OsXsave;
        Assert.Equal(6, m.Execute(a => a.xsave64(__[rcx])));
        Assert.Equal(6, m.Execute(a => a.xrstor64(__[rcx])));
    }
}
