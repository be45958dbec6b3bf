using System.Runtime.InteropServices;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// Saving and restoring the x87/MMX/SSE state and MXCSR: FXSAVE, FXRSTOR (Intel SDM Vol. 1 10.5.1,
/// Vol. 2A FXSAVE), LDMXCSR, STMXCSR, and EMMS (Vol. 1 9.6.1).
/// </summary>
internal static unsafe class SseState
{
    private const int ImageSize = 512;

    public static void Register(HandlerTable.Registry r)
    {
        r.Add(Mnemonic.Fxsave, &Fxsave);
        r.Add(Mnemonic.Fxsave64, &Fxsave);
        r.Add(Mnemonic.Fxrstor, &Fxrstor);
        r.Add(Mnemonic.Fxrstor64, &Fxrstor);
        r.Add(Mnemonic.Ldmxcsr, Mnemonic.Vldmxcsr, &Ldmxcsr);
        r.Add(Mnemonic.Stmxcsr, Mnemonic.Vstmxcsr, &Stmxcsr);
        r.Add(Mnemonic.Emms, &Emms);
    }

    /// <summary>
    /// FXSAVE m512: #NM when CR0.TS or CR0.EM is set, #GP(0) unless 16-byte aligned. The REX.W form
    /// (FXSAVE64) stores 64-bit FIP/FDP; otherwise FIP/FDP are 32 bits with FCS/FDS. XMM8-15 exist
    /// only in 64-bit mode. Reserved bytes 288/416-511 are not written.
    /// </summary>
    private static void Fxsave(CpuCore cpu, ref Instruction ins)
    {
        ulong linear = Prologue(cpu, ins, write: true);
        Span<byte> image = stackalloc byte[ImageSize];
        int xmmCount = cpu.Bitness == 64 ? 16 : 8;
        cpu.StoreFxImage(image, wide: ins.Mnemonic == Mnemonic.Fxsave64, xmmCount);
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(image[..(160 + (16 * xmmCount))]);
        for (int i = 0; i < words.Length; i++)
        {
            cpu.WriteSized(linear + (ulong)(8 * i), 8, words[i]);
        }
    }

    /// <summary>FXRSTOR m512: as FXSAVE, and #GP(0) when the image sets reserved MXCSR bits.</summary>
    private static void Fxrstor(CpuCore cpu, ref Instruction ins)
    {
        ulong linear = Prologue(cpu, ins, write: false);
        Span<byte> image = stackalloc byte[ImageSize];
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(image);
        int xmmCount = cpu.Bitness == 64 ? 16 : 8;
        for (int i = 0; i < (160 + (16 * xmmCount)) / 8; i++)
        {
            words[i] = cpu.ReadSized(linear + (ulong)(8 * i), 8);
        }

        if ((MemoryMarshal.Read<uint>(image[24..]) & ~CpuCore.MxcsrMask) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.LoadFxImage(image, wide: ins.Mnemonic == Mnemonic.Fxrstor64, xmmCount);
    }

    private static ulong Prologue(CpuCore cpu, in Instruction ins, bool write)
    {
        if ((cpu.Cr0 & (CpuCore.Cr0EM | CpuCore.Cr0TS)) != 0)
        {
            throw new GuestFault(Vectors.NM);
        }

        ulong linear = write ? cpu.MemoryLinearWrite(ins, ImageSize) : cpu.MemoryLinear(ins, ImageSize);
        if ((linear & 15) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        return linear;
    }

    /// <summary>LDMXCSR / VLDMXCSR m32: #GP(0) when a reserved bit is set (Intel SDM Vol. 2A LDMXCSR).</summary>
    private static void Ldmxcsr(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        uint value = (uint)cpu.ReadSized(cpu.MemoryLinear(ins, 4), 4);
        if ((value & ~CpuCore.MxcsrMask) != 0)
        {
            throw new GuestFault(Vectors.GP, 0);
        }

        cpu.Mxcsr = value;
    }

    private static void Stmxcsr(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckVector(ins);
        cpu.WriteSized(cpu.MemoryLinearWrite(ins, 4), 4, cpu.Mxcsr);
    }

    /// <summary>EMMS: every x87 register empty (tag word all ones, Intel SDM Vol. 1 9.6.1).</summary>
    private static void Emms(CpuCore cpu, ref Instruction ins)
    {
        if ((cpu.Cr0 & (CpuCore.Cr0EM | CpuCore.Cr0TS)) != 0)
        {
            throw new GuestFault((cpu.Cr0 & CpuCore.Cr0EM) != 0 ? Vectors.UD : Vectors.NM);
        }

        cpu.FpValid = 0;
    }
}
