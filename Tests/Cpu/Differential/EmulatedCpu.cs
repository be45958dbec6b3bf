using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>How the software CPU's run of one case ended.</summary>
internal readonly record struct EmulatedOutcome(bool Halted, ulong Rip, string? InternalError, bool TripleFault);

/// <summary>
/// Runs one instruction on the software CPU (<see cref="CpuCore"/>), put directly in 64-bit mode
/// without paging: CR0.PE, EFER.LME and EFER.LMA set, a CS with the L bit, flat data segments. The
/// guest's RAM mirrors the native side's addresses: the data buffer sits at the guest-physical
/// address equal to the native buffer's host address, and the code page at the native stub
/// page's, so that with paging off the same register values give the same effective addresses,
/// RIP-relative ones included. The instruction is written at <see cref="CodeAddress"/> (the
/// native slot's address) followed by HLT and run until the CPU halts.
/// </summary>
internal sealed class EmulatedCpu : IDisposable
{
    private const byte Hlt = 0xf4;
    private const int MaxBlocks = 64;

    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _codeRam = new(4096);
    private readonly HostMapping _dataRam;
    private readonly CpuCore _core;
    private readonly byte[] _code;
    private readonly int _dataSize;

    public EmulatedCpu(ulong codePage, ulong codeAddress, ulong dataAddress, int dataSize, bool translate = false, int slotSize = NativeCpu.SlotSize)
    {
        _code = new byte[slotSize + 1];
        CodeAddress = codeAddress;
        _dataRam = new HostMapping((ulong)dataSize);
        _dataSize = dataSize;
        _platform.Memory.AddRam("code", new GuestPhysicalAddress(codePage), 4096, _codeRam);
        _platform.Memory.AddRam("data", new GuestPhysicalAddress(dataAddress), (ulong)dataSize, _dataRam);
        var blocks = new BlockCache();
        _platform.Memory.ObserveRamWrites(blocks.OnWrite);
        _core = new CpuCore(0, _platform.Memory, _platform.Io, blocks);
        blocks.AttachTlb(_core.Tlb);
        if (translate)
        {
            // Every block is translated at its first execution, so each case runs as host code.
            _core.Translator = new Emulator.Jit.Translation.TranslationCache(_core, 8 << 20, threshold: 1);
        }

        _core.LoadState(LongModeWithoutPaging(codeAddress));
    }

    /// <summary>Where the instruction under test is placed.</summary>
    public ulong CodeAddress { get; }

    /// <summary>The guest's view of the data buffer.</summary>
    public Span<byte> DataBuffer => _dataRam.AsSpan(0, _dataSize);

    /// <summary>Runs <paramref name="instruction"/> from <paramref name="initial"/>; <paramref name="final"/> receives the registers and RFLAGS.</summary>
    public unsafe EmulatedOutcome Run(ReadOnlySpan<byte> instruction, in RegisterImage initial, out RegisterImage final)
    {
        instruction.CopyTo(_code);
        _code[instruction.Length] = Hlt;

        // Written through the address space, so the blocks decoded from the previous case are dropped.
        _platform.Memory.Write(new GuestPhysicalAddress(CodeAddress), _code.AsSpan(0, instruction.Length + 1));
        for (int i = 0; i < 16; i++)
        {
            _core.R[i] = initial.Gpr[i];
        }

        _core.Rip = CodeAddress;
        _core.Rflags = initial.Rflags;
        _core.Seg[(int)Seg.Gs].Base = initial.GsBase;
        LoadXmm(initial);
        _core.Halted = false;
        _core.InternalError = null;
        _core.TripleFault = false;
        for (int i = 0; i < MaxBlocks && !_core.Halted && _core.InternalError is null && !_core.TripleFault; i++)
        {
            _core.ExecuteBlock();
        }

        final = default;
        for (int i = 0; i < 16; i++)
        {
            final.Gpr[i] = _core.R[i];
        }

        final.Rflags = _core.Rflags;
        StoreXmm(ref final);
        return new EmulatedOutcome(_core.Halted, _core.Rip, _core.InternalError, _core.TripleFault);
    }

    /// <summary>
    /// Runs <paramref name="instruction"/>, which faults natively, through its handler alone and
    /// returns the exception vector it raised (null if none). Exception delivery is left out: this
    /// checks which exception the instruction raises and that it changed nothing before raising it.
    /// </summary>
    public unsafe int? RunToFault(ReadOnlySpan<byte> instruction, in RegisterImage initial, out RegisterImage final)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(instruction.ToArray()), CodeAddress);
        decoder.Decode(out Iced.Intel.Instruction ins);
        for (int i = 0; i < 16; i++)
        {
            _core.R[i] = initial.Gpr[i];
        }

        _core.Rflags = initial.Rflags;
        _core.Seg[(int)Seg.Gs].Base = initial.GsBase;
        LoadXmm(initial);
        _core.InstructionStart = CodeAddress;
        _core.Rip = CodeAddress + (ulong)ins.Length;
        _core.InternalError = null;
        int? vector = null;
        try
        {
            // Through the handler a block would choose (fast operand forms included).
            var op = Emulator.Jit.Decoding.DecodedOp.Create(ins, 64);
            op.Handler(_core, ref op.Ins);
        }
        catch (GuestFault fault)
        {
            vector = fault.Vector;
        }

        final = default;
        for (int i = 0; i < 16; i++)
        {
            final.Gpr[i] = _core.R[i];
        }

        final.Rflags = _core.Rflags;
        StoreXmm(ref final);
        return vector;
    }

    // XMM0-XMM15 and bits 255:128 of YMM0-YMM15, two 64-bit halves each in the image, and MXCSR.
    private unsafe void LoadXmm(in RegisterImage image)
    {
        for (int i = 0; i < 16; i++)
        {
            _core.Xmm[i] = Vector128.Create(image.Xmm[2 * i], image.Xmm[(2 * i) + 1]).AsByte();
            _core.YmmHigh[i] = Vector128.Create(image.YmmHigh[2 * i], image.YmmHigh[(2 * i) + 1]).AsByte();
        }

        _core.Mxcsr = image.Mxcsr;
    }

    private unsafe void StoreXmm(ref RegisterImage image)
    {
        for (int i = 0; i < 16; i++)
        {
            Vector128<ulong> v = _core.Xmm[i].AsUInt64();
            image.Xmm[2 * i] = v.GetElement(0);
            image.Xmm[(2 * i) + 1] = v.GetElement(1);
            Vector128<ulong> h = _core.YmmHigh[i].AsUInt64();
            image.YmmHigh[2 * i] = h.GetElement(0);
            image.YmmHigh[(2 * i) + 1] = h.GetElement(1);
        }

        image.Mxcsr = _core.Mxcsr;
    }

    /// <summary>Instructions of the cases that ran as host code (0 without the translator).</summary>
    public long TranslatedInstructions => _core.Translator?.Statistics.NativeInstructions ?? 0;

    public void Dispose()
    {
        _core.Translator?.Dispose();
        _platform.Dispose();
        _codeRam.Dispose();
        _dataRam.Dispose();
    }

    // CR4 as Linux runs user code: PAE, OSFXSR, OSXMMEXCPT (unmasked SIMD exceptions are #XM) and
    // OSXSAVE with XCR0 enabling x87, SSE and AVX state, so SSE and VEX instructions execute.
    private static CpuState LongModeWithoutPaging(ulong codeAddress)
    {
        const ulong Cr0PeEt = 0x11, Cr4 = 0x20 | (1 << 9) | (1 << 10) | (1 << 18), EferLmeLma = 0x500;
        const uint Code64 = 0x209b, FlatData = 0xc093;
        var s = new CpuState { Cr0 = Cr0PeEt, Cr4 = Cr4, Efer = EferLmeLma, Rip = codeAddress, Xcr0 = 7 };
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = new SegmentRegister { Selector = 0x10, Base = 0, Limit = 0xffff_ffff, Attributes = FlatData };
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x08, Base = 0, Limit = 0xffff_ffff, Attributes = Code64 };
        s.Gdtr = new TableRegister { Base = 0, Limit = 0 };
        s.Idtr = new TableRegister { Base = 0, Limit = 0 };
        s.Tr = new SegmentRegister { Limit = 0x67, Attributes = 0x8b };
        s.Ldtr = new SegmentRegister { Attributes = 0x10000 };
        return s;
    }
}
