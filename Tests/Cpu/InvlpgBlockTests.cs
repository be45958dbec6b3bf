using Emulator.Core.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// INVLPG ends the block it is in only when the rest of the block may be fetched through the
/// translation it invalidates (Emulator.Jit Instructions/SystemOps.Invlpg). Of a large page, one
/// INVLPG of any address in it invalidates the whole page (Intel SDM Vol. 3A 4.10.4.1), so the code
/// that follows must come from where the page maps now; of a page far from the code, the block and
/// its loop go on in translated code.
/// </summary>
public sealed class InvlpgBlockTests
{
    private const ulong Pde0 = 0x3000, NewFrame = 0x40_0000;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InvlpgOfAnotherAddressInTheCodesLargePageFetchesTheNextInstructionThroughTheNewMapping(bool translate)
    {
        using var rig = new TranslatorRig(paging: true, translate: translate);
        Label next = default;
        AssemblerResult code = rig.Load(a =>
        {
            next = a.CreateLabel();
            a.mov(__dword_ptr[(uint)Pde0], (int)(NewFrame | 0x83)); // linear 0-4 MiB -> physical 4 MiB
            a.invlpg(__[0x20_0000]);                                // another 4 KiB page of the same 4 MiB page
            a.Label(ref next);
            a.mov(eax, 1);                                           // here; 2 in the new frame's copy
            a.hlt();
        });

        // The new frame holds a copy of the low 128 KiB (tables, handler, code), with the instruction
        // after INVLPG changed.
        byte[] low = new byte[0x2_0000];
        rig.Platform.Memory.Read(new Emulator.Core.Memory.GuestPhysicalAddress(0), low);
        ulong at = code.GetLabelRIP(next) + 1;                       // MOV EAX's immediate
        low[at] = 2;
        rig.Write(NewFrame, low);

        Assert.True(rig.RunToHalt());
        Assert.Equal(2UL, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void ALoopThatInvalidatesAFarPageStaysInTranslatedCode()
    {
        const int Iterations = 1000;
        using var rig = new TranslatorRig(paging: true);
        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            a.xor(edi, edi);
            a.mov(ecx, Iterations);
            a.Label(ref loop);
            a.invlpg(__[0x4000_0000]);                               // 1 GiB away from the code
            a.inc(edi);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal((ulong)Iterations, rig.Core.SaveState().Gpr[(int)Gpr.Rdi]);
        // One entry per INVLPG if each still ended its block.
        Assert.InRange(rig.Statistics!.Entries, 1, 20);
    }
}
