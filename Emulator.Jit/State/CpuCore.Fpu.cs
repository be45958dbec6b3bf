using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Emulator.Jit.State;

/// <summary>
/// The x87, MMX and SSE register state (Intel SDM Vol. 1 8.1, 9.2, 10.2). The live representation is
/// plain fields; <see cref="Core.Cpu.CpuState.FxState"/> holds the same state in the FXSAVE layout
/// (Vol. 1 10.5.1, Table 10-2, 64-bit form) and is only read and written by LoadState and SaveState.
/// </summary>
internal sealed partial class CpuCore
{
    /// <summary>MXCSR at reset and after FNINIT-independent initialisation (Intel SDM Vol. 1 10.2.3.5).</summary>
    public const uint MxcsrDefault = 0x1f80;

    /// <summary>Writable MXCSR bits, including DAZ (Intel SDM Vol. 1 11.6.6); also the FXSAVE MXCSR_MASK.</summary>
    public const uint MxcsrMask = 0xffff;

    /// <summary>FCW after FNINIT (Intel SDM Vol. 1 8.1.5, Table 8-1).</summary>
    public const ushort FcwDefault = 0x037f;

    public const ulong Cr0MP = 1 << 1, Cr0EM = 1 << 2, Cr0TS = 1 << 3, Cr0NE = 1 << 5;
    public const ulong Cr4OsFxsr = 1 << 9, Cr4OsXmmExcpt = 1 << 10;

    /// <summary>XMM0-XMM15, in the native state (translated code keeps them there too).</summary>
    // Sound: the state lives in native memory owned by this CpuCore for its whole life.
    public unsafe Span<Vector128<byte>> Xmm => new(_state->Xmm, 16);

    public uint Mxcsr = MxcsrDefault;

    /// <summary>
    /// x87 data registers R0-R7 by physical number (ST(i) is R[(Top + i) &amp; 7]): the 64-bit
    /// significand (which MMX register MMi aliases) and sign-and-exponent, 80-bit exact.
    /// </summary>
    public readonly ulong[] FpSignificand = new ulong[8];

    /// <summary>Sign (bit 15) and biased exponent (bits 0-14) of each physical register.</summary>
    public readonly ushort[] FpSignExponent = new ushort[8];

    /// <summary>x87 control word.</summary>
    public ushort Fcw = FcwDefault;

    /// <summary>x87 status word without TOP (bits 11-13 are kept in <see cref="FpTop"/>).</summary>
    public ushort Fsw;

    /// <summary>Top-of-stack pointer (FSW bits 11-13).</summary>
    public int FpTop;

    /// <summary>Abridged tag word: bit i set when physical register i is not empty (Intel SDM Vol. 1 10.5.1.1).</summary>
    public byte FpValid;

    /// <summary>Last x87 opcode (11 bits), instruction and data pointers with their selectors.</summary>
    public ushort Fop, Fcs, Fds;
    public ulong Fip, Fdp;

    /// <summary>The full FSW with TOP.</summary>
    public ushort FswWithTop => (ushort)((Fsw & ~0x3800) | (FpTop << 11));

    /// <summary>Physical register number of ST(i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int StIndex(int i) => (FpTop + i) & 7;

    /// <summary>FNINIT / FINIT state of the x87 unit (Intel SDM Vol. 1 8.1.5, Table 8-1). Data registers keep their contents.</summary>
    public void ResetFpu()
    {
        Fcw = FcwDefault;
        Fsw = 0;
        FpTop = 0;
        FpValid = 0;
        Fop = 0;
        Fcs = Fds = 0;
        Fip = Fdp = 0;
    }

    /// <summary>Reads the FXSAVE image (64-bit layout: 64-bit FIP and FDP, XMM0-15).</summary>
    public void LoadFxImage(ReadOnlySpan<byte> image, bool wide = true, int xmmCount = 16)
    {
        LoadX87Image(image, wide);
        Mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(image[24..]) & MxcsrMask;
        LoadXmmImage(image, xmmCount);
    }

    /// <summary>
    /// The x87 part of an FXSAVE or XSAVE legacy region: bytes 0-23 (without MXCSR at 24-31) and
    /// the registers at 32-159 (Intel SDM Vol. 1 Table 10-2, 13.5.1).
    /// </summary>
    public void LoadX87Image(ReadOnlySpan<byte> image, bool wide)
    {
        Fcw = BinaryPrimitives.ReadUInt16LittleEndian(image);
        ushort fsw = BinaryPrimitives.ReadUInt16LittleEndian(image[2..]);
        Fsw = (ushort)(fsw & ~0x3800);
        FpTop = (fsw >> 11) & 7;
        FpValid = image[4];
        Fop = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(image[6..]) & 0x7ff);
        if (wide)
        {
            Fip = BinaryPrimitives.ReadUInt64LittleEndian(image[8..]);
            Fdp = BinaryPrimitives.ReadUInt64LittleEndian(image[16..]);
            Fcs = Fds = 0;
        }
        else
        {
            Fip = BinaryPrimitives.ReadUInt32LittleEndian(image[8..]);
            Fcs = BinaryPrimitives.ReadUInt16LittleEndian(image[12..]);
            Fdp = BinaryPrimitives.ReadUInt32LittleEndian(image[16..]);
            Fds = BinaryPrimitives.ReadUInt16LittleEndian(image[20..]);
        }

        // The register area holds ST0-ST7 in stack order, not R0-R7 (Intel SDM Vol. 1 Table 10-2).
        for (int i = 0; i < 8; i++)
        {
            int p = StIndex(i);
            FpSignificand[p] = BinaryPrimitives.ReadUInt64LittleEndian(image[(32 + (16 * i))..]);
            FpSignExponent[p] = BinaryPrimitives.ReadUInt16LittleEndian(image[(40 + (16 * i))..]);
        }
    }

    /// <summary>XMM0 to XMM(<paramref name="xmmCount"/> - 1) from bytes 160-415 of an FXSAVE image or XSAVE legacy region.</summary>
    public void LoadXmmImage(ReadOnlySpan<byte> image, int xmmCount)
    {
        for (int i = 0; i < xmmCount; i++)
        {
            Xmm[i] = Vector128.Create(image.Slice(160 + (16 * i), 16));
        }
    }

    /// <summary>Writes the FXSAVE image; reserved areas and unsaved XMM registers are left as they are.</summary>
    public void StoreFxImage(Span<byte> image, bool wide = true, int xmmCount = 16)
    {
        StoreX87Image(image, wide);
        BinaryPrimitives.WriteUInt32LittleEndian(image[24..], Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(image[28..], MxcsrMask);
        StoreXmmImage(image, xmmCount);
    }

    /// <summary>The x87 part of an FXSAVE image or XSAVE legacy region (see <see cref="LoadX87Image"/>).</summary>
    public void StoreX87Image(Span<byte> image, bool wide)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(image, Fcw);
        BinaryPrimitives.WriteUInt16LittleEndian(image[2..], FswWithTop);
        image[4] = FpValid;
        image[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(image[6..], Fop);
        if (wide)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(image[8..], Fip);
            BinaryPrimitives.WriteUInt64LittleEndian(image[16..], Fdp);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(image[8..], (uint)Fip);
            BinaryPrimitives.WriteUInt32LittleEndian(image[12..], Fcs);
            BinaryPrimitives.WriteUInt32LittleEndian(image[16..], (uint)Fdp);
            BinaryPrimitives.WriteUInt32LittleEndian(image[20..], Fds);
        }

        for (int i = 0; i < 8; i++)
        {
            int p = StIndex(i);
            Span<byte> slot = image.Slice(32 + (16 * i), 16);
            slot.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(slot, FpSignificand[p]);
            BinaryPrimitives.WriteUInt16LittleEndian(slot[8..], FpSignExponent[p]);
        }
    }

    /// <summary>XMM0 to XMM(<paramref name="xmmCount"/> - 1) to bytes 160-415.</summary>
    public void StoreXmmImage(Span<byte> image, int xmmCount)
    {
        for (int i = 0; i < xmmCount; i++)
        {
            Xmm[i].CopyTo(image.Slice(160 + (16 * i), 16));
        }
    }
}
