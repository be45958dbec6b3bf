using System.Buffers.Binary;
using Emulator.Core.Cpu;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The XSAVE feature set (Intel SDM Vol. 1 ch. 13): XGETBV and XSETBV (XCR0), XSAVE, XSAVEOPT and
/// XRSTOR in the standard format, over the components of <see cref="XsaveComponents"/>. XSAVEC,
/// XSAVES and XRSTORS (the compacted format) are not in the model: their CPUID bits are clear and
/// they raise #UD (<see cref="ModelFeatures"/>).
/// </summary>
internal static unsafe class Xsave
{
    private const int XstateBvOffset = XsaveLayout.HeaderOffset;
    private const int MxcsrOffset = 24;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Xgetbv, &Xgetbv);
        r.Add(Mnemonic.Xsetbv, &Xsetbv);
        r.Add(Mnemonic.Xsave, &Save);
        r.Add(Mnemonic.Xsave64, &Save);
        r.Add(Mnemonic.Xsaveopt, &Save);
        r.Add(Mnemonic.Xsaveopt64, &Save);
        r.Add(Mnemonic.Xrstor, &Restore);
        r.Add(Mnemonic.Xrstor64, &Restore);
    }

    /// <summary>#UD while CR4.OSXSAVE is clear (the XSAVE feature set is not enabled).</summary>
    private static void RequireEnabled(CpuCore cpu)
    {
        if ((cpu.Cr4 & CpuCore.Cr4OsXsave) == 0)
        {
            throw new GuestFault(Vectors.UD);
        }
    }

    /// <summary>XGETBV: EDX:EAX = XCR[ECX]; only XCR0 exists (ECX = 1, XINUSE, is not offered: CPUID.(EAX=0DH,ECX=1):EAX[2] = 0), others are #GP(0).</summary>
    private static void Xgetbv(CpuCore cpu, ref Instruction ins)
    {
        RequireEnabled(cpu);
        if ((uint)cpu.R[1] != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.R[0] = (uint)cpu.Xcr0;
        cpu.R[2] = cpu.Xcr0 >> 32;
    }

    /// <summary>
    /// XSETBV: XCR[ECX] = EDX:EAX, at CPL 0 only (so #GP(0) in virtual-8086 mode). #GP(0) for another
    /// XCR than 0, a bit the model does not support, bit 0 (x87) clear, or AVX without SSE (Intel SDM
    /// Vol. 2B XSETBV; Vol. 1 13.3).
    /// </summary>
    private static void Xsetbv(CpuCore cpu, ref Instruction ins)
    {
        RequireEnabled(cpu);
        ulong value = ((cpu.R[2] & 0xffff_ffff) << 32) | (cpu.R[0] & 0xffff_ffff);
        if (cpu.Cpl != 0 || (uint)cpu.R[1] != 0 || (value & ~XsaveLayout.Supported) != 0 || (value & XsaveLayout.X87) == 0
            || (value & (XsaveLayout.Sse | XsaveLayout.Avx)) == XsaveLayout.Avx)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.Xcr0 = value;
        // Translated code checks at block entry that VEX instructions may run (TranslationCache's
        // AvxUnavailable): the rest of this block must see the new XCR0.
        cpu.EndBlock = true;
    }

    /// <summary>
    /// The checks every XSAVE-family instruction makes, in order: #UD when the feature set is not
    /// enabled, #NM when CR0.TS is set, #GP(0) when the area is not 64-byte aligned (Intel SDM Vol. 1
    /// 13.7, 13.8). Returns the area's linear address and the requested-feature bitmap
    /// RFBM = XCR0 AND EDX:EAX.
    /// </summary>
    private static (ulong Linear, ulong Rfbm, int Size) Prologue(CpuCore cpu, in Instruction ins, bool write)
    {
        RequireEnabled(cpu);
        if ((cpu.Cr0 & CpuCore.Cr0TS) != 0)
        {
            throw new GuestFault(Vectors.NM);
        }

        ulong rfbm = cpu.Xcr0 & (((cpu.R[2] & 0xffff_ffff) << 32) | (cpu.R[0] & 0xffff_ffff));
        int size = XsaveLayout.StandardSize(rfbm);
        ulong linear = write ? cpu.MemoryLinearWrite(ins, size) : cpu.MemoryLinear(ins, size);
        if ((linear & 63) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        return (linear, rfbm, size);
    }

    /// <summary>
    /// XSAVE and XSAVEOPT (Intel SDM Vol. 1 13.7, 13.9): each requested component is written, then
    /// XSTATE_BV[i] = XINUSE[i] for the requested ones (the other bits of XSTATE_BV and the rest of
    /// the header are left as they are). MXCSR and MXCSR_MASK are written when SSE or AVX state is
    /// requested. XSAVEOPT uses the init optimization: a component in its initial configuration is
    /// not written and its XSTATE_BV bit is cleared; it does not use the modified optimization
    /// (which the manual allows: the processor "may" skip unmodified components).
    /// </summary>
    private static void Save(CpuCore cpu, ref Instruction ins)
    {
        (ulong linear, ulong rfbm, int size) = Prologue(cpu, ins, write: true);
        bool wide = ins.Mnemonic is Mnemonic.Xsave64 or Mnemonic.Xsaveopt64;
        bool optimized = ins.Mnemonic is Mnemonic.Xsaveopt or Mnemonic.Xsaveopt64;
        int registers = cpu.Bitness == 64 ? 16 : 8;
        cpu.ProbeWrite(linear, size);
        ulong xstateBv = cpu.ReadSized(linear + XstateBvOffset, 8);

        Span<byte> area = stackalloc byte[size];
        ulong inUse = 0;
        foreach (XsaveComponent c in XsaveComponents.All)
        {
            if ((rfbm & c.Bit) == 0)
            {
                continue;
            }

            bool used = c.InUse(cpu);
            inUse |= used ? c.Bit : 0;
            if (optimized && !used)
            {
                continue;
            }

            c.Save(cpu, area, wide, registers);
            foreach ((int offset, int length) in c.Pieces(registers))
            {
                Store(cpu, linear, area, offset, length);
            }
        }

        if ((rfbm & (XsaveLayout.Sse | XsaveLayout.Avx)) != 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(area[MxcsrOffset..], cpu.Mxcsr);
            BinaryPrimitives.WriteUInt32LittleEndian(area[(MxcsrOffset + 4)..], CpuCore.MxcsrMask);
            Store(cpu, linear, area, MxcsrOffset, 8);
        }

        cpu.WriteSized(linear + XstateBvOffset, 8, (xstateBv & ~rfbm) | inUse);
    }

    /// <summary>
    /// XRSTOR, standard form (Intel SDM Vol. 1 13.8.1): #GP(0) when XSTATE_BV sets a bit XCR0 does
    /// not, when bytes 23:8 of the header (XCOMP_BV and the next quadword) are not zero (the
    /// compacted form needs XSAVEC, which the model lacks), or when MXCSR would get a reserved bit.
    /// Then each requested component is loaded when its XSTATE_BV bit is set and initialized when
    /// it is clear; MXCSR is loaded whenever SSE or AVX state is requested. Everything is read before
    /// anything changes, so a fault leaves the state as it was.
    /// </summary>
    private static void Restore(CpuCore cpu, ref Instruction ins)
    {
        (ulong linear, ulong rfbm, int size) = Prologue(cpu, ins, write: false);
        bool wide = ins.Mnemonic == Mnemonic.Xrstor64;
        int registers = cpu.Bitness == 64 ? 16 : 8;
        ulong xstateBv = cpu.ReadSized(linear + XstateBvOffset, 8);
        ulong reserved = cpu.ReadSized(linear + XstateBvOffset + 8, 8) | cpu.ReadSized(linear + XstateBvOffset + 16, 8);
        if ((xstateBv & ~cpu.Xcr0) != 0 || reserved != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        Span<byte> area = stackalloc byte[size];
        bool mxcsrRequested = (rfbm & (XsaveLayout.Sse | XsaveLayout.Avx)) != 0;
        uint mxcsr = cpu.Mxcsr;
        if (mxcsrRequested)
        {
            mxcsr = (uint)cpu.ReadSized(linear + MxcsrOffset, 4);
            if ((mxcsr & ~CpuCore.MxcsrMask) != 0)
            {
                throw new GuestFault(Vectors.GP, 0);
            }
        }

        foreach (XsaveComponent c in XsaveComponents.All)
        {
            if ((rfbm & xstateBv & c.Bit) != 0)
            {
                foreach ((int offset, int length) in c.Pieces(registers))
                {
                    Fetch(cpu, linear, area, offset, length);
                }
            }
        }

        foreach (XsaveComponent c in XsaveComponents.All)
        {
            if ((rfbm & c.Bit) == 0)
            {
                continue;
            }

            if ((xstateBv & c.Bit) != 0)
            {
                c.Load(cpu, area, wide, registers);
            }
            else
            {
                c.Initialize(cpu, registers);
            }
        }

        cpu.Mxcsr = mxcsr;
    }

    // Pieces are multiples of 8 bytes at 8-byte offsets.
    private static void Store(CpuCore cpu, ulong linear, ReadOnlySpan<byte> area, int offset, int length)
    {
        for (int i = offset; i < offset + length; i += 8)
        {
            cpu.WriteSized(linear + (ulong)i, 8, BinaryPrimitives.ReadUInt64LittleEndian(area[i..]));
        }
    }

    private static void Fetch(CpuCore cpu, ulong linear, Span<byte> area, int offset, int length)
    {
        for (int i = offset; i < offset + length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(area[i..], cpu.ReadSized(linear + (ulong)i, 8));
        }
    }
}
