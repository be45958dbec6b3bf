using System.Runtime.Intrinsics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>
/// A software CPU in 64-bit mode without paging (CR0.PE, EFER.LME|LMA, CS.L, CR4.OSFXSR|OSXMMEXCPT)
/// over two RAM ranges, each as large as the span of the software TLB's slots (two pages that far apart share a slot), for running short encoded programs that end in HLT.
/// </summary>
internal sealed class LongModeMachine : IDisposable
{
    public const ulong CodeAddress = 0x1000;
    public const ulong DataAddress = 0x10000;
    private const ulong RamSize = (ulong)Emulator.Jit.Memory.SoftTlb.Entries << Emulator.Jit.Memory.SoftTlb.PageShift;
    private readonly HostMapping _ram = new(RamSize);
    // A second, separate host mapping above the first: a page here and the page RamSize below it
    // share a TLB slot but not a host address offset.
    private readonly HostMapping _highRam = new(RamSize);
    private readonly MachinePlatform _platform = new(deterministicTime: true);

    /// <param name="translate">Run programs through the translator (each block translated on its first run) rather than the interpreter alone.</param>
    public LongModeMachine(bool translate = false)
    {
        _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), RamSize, _ram);
        _platform.Memory.AddRam("high ram", new GuestPhysicalAddress(RamSize), RamSize, _highRam);
        var code = new BlockCache();
        _platform.Memory.ObserveRamWrites(code.OnWrite);
        Core = new CpuCore(0, _platform.Memory, _platform.Io, code);
        if (translate)
        {
            Core.Translator = new Emulator.Jit.Translation.TranslationCache(Core, 8 << 20, threshold: 1);
        }

        code.AttachTlb(Core.Tlb);
        Core.LoadState(InitialState());
    }

    public CpuCore Core { get; }

    public static CpuState InitialState()
    {
        var s = new CpuState
        {
            Cr0 = 0x33, // PE, MP, ET, NE
            Cr4 = CpuCore.Cr4OsFxsr | CpuCore.Cr4OsXmmExcpt,
            Efer = CpuCore.EferLME | CpuCore.EferLMA,
            Rip = CodeAddress,
        };
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = new SegmentRegister { Selector = 0x10, Limit = 0xffff_ffff, Attributes = 0xc093 };
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x08, Limit = 0xffff_ffff, Attributes = 0xa09b };
        s.Gpr[(int)Gpr.Rsp] = 0x8000;
        s.Gdtr = new TableRegister { Base = 0, Limit = 0xffff };
        s.Idtr = new TableRegister { Base = 0, Limit = 0xfff };
        s.Ldtr = new SegmentRegister { Limit = 0xffff, Attributes = 0x82 };
        s.Tr = new SegmentRegister { Limit = 0xffff, Attributes = 0x8b };
        s.FxState[0] = 0x7f;
        s.FxState[1] = 0x03;
        s.FxState[24] = 0x80;
        s.FxState[25] = 0x1f;
        return s;
    }

    /// <summary>Assembles the program at <see cref="CodeAddress"/> with HLT appended, and runs it from there until HLT.</summary>
    public void Run(Action<Assembler> program)
    {
        var asm = new Assembler(64);
        program(asm);
        asm.hlt();
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        Write(CodeAddress, stream.ToArray());
        Core.Rip = CodeAddress;
        Core.EndBlock = false;  // else the first instruction runs alone, in the interpreter
        Core.Halted = false;
        Core.InternalError = null;
        Core.UpdateMode();
        for (int i = 0; i < 10_000 && !Core.Halted; i++)
        {
            Core.ExecuteBlock();
            if (Core.InternalError is { } error)
            {
                throw new InvalidOperationException($"{error} at {Core.Rip:x}");
            }
        }

        if (!Core.Halted)
        {
            throw new InvalidOperationException("the program did not reach HLT");
        }
    }

    /// <summary>Executes one instruction directly through its handler; returns the vector of the fault it raised, or -1.</summary>
    public int Execute(Action<Assembler> instruction)
    {
        var asm = new Assembler(64);
        instruction(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), CodeAddress);
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(stream.ToArray()), CodeAddress);
        decoder.Decode(out Instruction ins);
        try
        {
            unsafe
            {
                // Through the handler a block would choose (fast operand forms included).
                var op = Emulator.Jit.Decoding.DecodedOp.Create(ins, 64);
                op.Handler(Core, ref op.Ins);
            }

            return -1;
        }
        catch (GuestFault fault)
        {
            return fault.Vector;
        }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data) => _platform.Memory.Write(new GuestPhysicalAddress(address), data);

    public byte[] Read(ulong address, int length)
    {
        byte[] data = new byte[length];
        _platform.Memory.Read(new GuestPhysicalAddress(address), data);
        return data;
    }

    public void WriteVector(ulong address, Vector128<byte> v)
    {
        Span<byte> b = stackalloc byte[16];
        v.CopyTo(b);
        Write(address, b);
    }

    public Vector128<byte> ReadVector(ulong address) => Vector128.Create(Read(address, 16));

    public void Dispose()
    {
        Core.Translator?.Dispose();
        _platform.Dispose();
        _ram.Dispose();
        _highRam.Dispose();
    }
}
