using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.State;
using Emulator.Jit.Translation;
using Iced.Intel;

namespace Emulator.Tests.Cpu;

/// <summary>
/// One software vCPU in 32-bit protected mode with flat segments over 8 MiB of RAM, with the
/// translator on (every block translated at its first run unless told otherwise): a GDT at 0x800,
/// an IDT at 0x1000 whose gates all lead to a HLT at 0x2000 (so an exception stops the CPU with its
/// frame on the stack at 0x7000), code assembled at 0x10000.
/// </summary>
internal sealed class TranslatorRig : IDisposable
{
    public const ulong Code = 0x10000, Stack = 0x7000, Handler = 0x2000;
    private const ulong Gdt = 0x800, Idt = 0x1000;

    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(8 << 20);

    /// <param name="cacheBytes">The code cache's bound.</param>
    /// <param name="threshold">Interpreted runs of a block before it is translated.</param>
    /// <param name="translate">False for the interpreter alone.</param>
    /// <param name="paging">32-bit paging with one 4 MiB page (PSE) mapping 0-4 MiB; 4-8 MiB is not present.</param>
    /// <param name="background">Translate on a worker thread (the vCPU interprets a block until its translation is installed).</param>
    /// <param name="impatience">With a worker: executions after which the vCPU translates a waiting block itself (0: the default).</param>
    /// <param name="regions">Which units grow into regions of several blocks (Translation/Regions).</param>
    /// <param name="workerDelayMs">With a worker: milliseconds it waits before each compile, so that the vCPU outruns it.</param>
    /// <param name="loadSites">Loads check their own site's entry first (Emulator.Jit Memory/SoftTlb.Sites; null: EMU_JIT_SITES).</param>
    public TranslatorRig(long cacheBytes = 8 << 20, int threshold = 1, bool translate = true, bool paging = false, bool background = false, int impatience = 0, RegionMode regions = RegionMode.Off, int workerDelayMs = 0, bool? loadSites = null)
    {
        _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 8 << 20, _ram);
        var blocks = new BlockCache();
        _platform.Memory.ObserveRamWrites(blocks.OnWrite);
        Core = new CpuCore(0, _platform.Memory, _platform.Io, blocks);
        if (translate)
        {
            Core.Translator = new TranslationCache(Core, cacheBytes, threshold, background, impatience, regions, workerDelayMs, loadSites);
        }

        // GDT: null, flat 32-bit code (0x08), flat data (0x10).
        WriteUInt64(Gdt + 8, 0x00cf_9b00_0000_ffff);
        WriteUInt64(Gdt + 16, 0x00cf_9300_0000_ffff);
        for (int v = 0; v < 32; v++)
        {
            // 32-bit interrupt gate to 0x08:Handler (Intel SDM Vol. 3A 6.11).
            WriteUInt64(Idt + ((ulong)v * 8), (Handler & 0xffff) | (0x08UL << 16) | (0x8e00UL << 32) | ((Handler >> 16) << 48));
        }

        Write(Handler, [0xf4]);
        CpuState s = FlatProtectedMode(Code);
        s.Gdtr = new TableRegister { Base = Gdt, Limit = 23 };
        s.Idtr = new TableRegister { Base = Idt, Limit = (32 * 8) - 1 };
        s.Gpr[(int)Gpr.Rsp] = Stack;
        if (paging)
        {
            // Page directory at 0x3000: entry 0 maps 0-4 MiB (present, writable, PS), the rest not present.
            WriteUInt64(0x3000, 0x83);
            s.Cr3 = 0x3000;
            s.Cr4 = 0x10;
            s.Cr0 |= 0x8000_0000;
        }

        Core.LoadState(s);
    }

    public CpuCore Core { get; }

    public MachinePlatform Platform => _platform;

    public TranslationStatistics? Statistics => Core.Translator?.Statistics;

    /// <summary>32-bit protected mode, flat 4 GiB code and data segments, paging off.</summary>
    public static CpuState FlatProtectedMode(ulong entry)
    {
        CpuState s = CpuState.AtReset();
        s.Cr0 = 0x11;
        s.Rip = entry;
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = new SegmentRegister { Selector = 0x10, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc093 };
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x08, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc09b };
        return s;
    }

    /// <summary>Assembles 32-bit code at <see cref="Code"/>; the result gives label addresses.</summary>
    public AssemblerResult Load(Action<Assembler> emit)
    {
        var a = new Assembler(32);
        emit(a);
        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), Code, BlockEncoderOptions.ReturnNewInstructionOffsets);
        Write(Code, stream.ToArray());
        return result;
    }

    public void Write(ulong address, byte[] bytes) => _platform.Memory.Write(new GuestPhysicalAddress(address), bytes);

    public void WriteUInt64(ulong address, ulong value) => Write(address, BitConverter.GetBytes(value));

    public uint ReadUInt32(ulong address)
    {
        byte[] b = new byte[4];
        _platform.Memory.Read(new GuestPhysicalAddress(address), b);
        return BitConverter.ToUInt32(b);
    }

    /// <summary>Runs until HLT (or <paramref name="maxSlices"/> calls of the dispatcher); false if it never halted.</summary>
    public bool RunToHalt(int maxSlices = 1_000_000)
    {
        for (int i = 0; i < maxSlices; i++)
        {
            Core.ExecuteBlocks(32);
            if (Core.Halted || Core.TripleFault || Core.InternalError is not null)
            {
                return Core.Halted;
            }
        }

        return false;
    }

    public void Dispose()
    {
        Core.Translator?.Dispose();
        _platform.Dispose();
        _ram.Dispose();
    }
}
