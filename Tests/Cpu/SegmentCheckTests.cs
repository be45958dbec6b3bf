using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.State;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>VERR/VERW in 32-bit protected mode: ZF per Intel SDM Vol. 2B (VERR/VERW), never a fault for a bad selector.</summary>
public sealed class SegmentCheckTests : IDisposable
{
    private const ulong Gdt = 0x1000, Code = 0x2000;
    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(1 << 20);

    public SegmentCheckTests() => _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);

    // GDT: 08 code DPL0 readable, 10 data DPL0 writable, 18 data DPL0 read-only, 20 data DPL3 writable,
    // 28 code DPL0 execute-only, 30 a 32-bit TSS (system).
    private static readonly ulong[] Descriptors =
    [
        0,
        0x00CF9A000000FFFF,
        0x00CF92000000FFFF,
        0x00CF90000000FFFF,
        0x00CFF2000000FFFF,
        0x00CF98000000FFFF,
        0x0000890000000067,
    ];

    [Theory]
    [InlineData(0x10, true, true)]    // writable data at DPL 0
    [InlineData(0x18, true, false)]   // read-only data
    [InlineData(0x20, true, true)]    // DPL 3 data is reachable from CPL 0
    [InlineData(0x08, true, false)]   // readable code: VERR yes, VERW never
    [InlineData(0x28, false, false)]  // execute-only code
    [InlineData(0x30, false, false)]  // a system segment
    [InlineData(0x00, false, false)]  // null selector
    [InlineData(0x80, false, false)]  // past the GDT limit: ZF clear, no #GP
    [InlineData(0x13, false, false)]  // RPL 3 above the data segment's DPL 0
    public void ZeroFlagTellsWhetherTheSegmentIsReadableOrWritable(ushort selector, bool readable, bool writable)
    {
        Assert.Equal(readable, Run(0xe0, selector));   // 0F 00 E0: verr ax
        Assert.Equal(writable, Run(0xe8, selector));   // 0F 00 E8: verw ax
    }

    [Fact]
    public void Endbr64IsANopWithoutCet()
    {
        // F3 0F 1E FA: ENDBR64, a NOP when CET is off (Intel SDM Vol. 2A ENDBR64); then VERW AX on 0x10.
        Assert.True(RunBytes([0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x00, 0xe8, 0xf4], 0x10));
    }

    private bool Run(byte modrm, ushort selector) => RunBytes([0x0f, 0x00, modrm, 0xf4], selector);

    private bool RunBytes(byte[] program, ushort selector)
    {
        for (int i = 0; i < Descriptors.Length; i++)
        {
            _platform.Memory.WriteUInt(new GuestPhysicalAddress(Gdt + (ulong)(8 * i)), 8, Descriptors[i]);
        }

        _platform.Memory.Write(new GuestPhysicalAddress(Code), program);
        var cache = new BlockCache();
        var core = new CpuCore(0, _platform.Memory, _platform.Io, cache);
        cache.AttachTlb(core.Tlb);
        CpuState s = CpuState.AtReset();
        s.Cr0 = 0x11;
        s.Gdtr = new TableRegister { Base = Gdt, Limit = (ushort)((8 * Descriptors.Length) - 1) };
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = new SegmentRegister { Selector = 0x10, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc093 };
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x08, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc09b };
        s.Rip = Code;
        s.Gpr[0] = selector; // AX
        s.Rflags = 2 | (1 << 6); // ZF set beforehand, so a clear result shows
        core.LoadState(s);
        for (int i = 0; i < 10 && !core.Halted; i++)
        {
            core.ExecuteBlock();
        }

        Assert.True(core.Halted, "did not reach HLT (a fault?)");
        Assert.True(core.Rip == Code + (ulong)program.Length && core.R[0] == selector, $"rip {core.Rip:x} rax {core.R[0]:x} flags {core.SaveState().Rflags:x}");
        return (core.SaveState().Rflags & (1 << 6)) != 0;
    }

    public void Dispose()
    {
        _platform.Dispose();
        _ram.Dispose();
    }
}
