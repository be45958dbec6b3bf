using Emulator.Core.Cpu;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// A page whose decoded code has all been overwritten is a data page again (its stores take the
/// fast paths), and when code is decoded there once more, stores must again drop it: a program
/// patches a function, calls it, and each call runs the instruction as last written (Intel SDM
/// Vol. 3A 8.1.3, on one processor a store to code is seen by the next instruction fetch).
/// </summary>
public sealed class CodePageReuseTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CodeOnAPageThatHeldCodeBeforeIsStillDroppedByAStore(bool translate)
    {
        using var rig = new TranslatorRig(translate: translate);
        const uint Function = (uint)TranslatorRig.Code + 0x1000;   // MOV EAX, imm32; RET on a page of its own
        rig.Write(Function, [0xb8, 1, 0, 0, 0, 0xc3]);
        rig.Load(a =>
        {
            a.mov(edx, Function);
            a.call(edx);                                    // decodes code on the page
            a.mov(ebx, eax);
            a.mov(__byte_ptr[Function + 1], 2);             // drops it: the page holds no code now
            a.mov(__dword_ptr[Function + 0x800], 0x5555);   // a store to the page as data
            a.call(edx);                                    // code on the page again
            a.mov(esi, eax);
            a.mov(__byte_ptr[Function + 1], 3);             // must drop it again
            a.call(edx);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal((1UL, 2UL, 3UL), (s.Gpr[(int)Gpr.Rbx], s.Gpr[(int)Gpr.Rsi], s.Gpr[(int)Gpr.Rax]));
        Assert.Equal(0x5555u, rig.ReadUInt32(Function + 0x800));
    }
}
