using Emulator.Core.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Translated loads first check the page their own site read last (Emulator.Jit Memory/SoftTlb.Sites).
/// These run one load site until its entry is filled and hit, then change what it must see: a page
/// table entry rewritten and the old translation invalidated (INVLPG, or a CR3 load: Intel SDM Vol.
/// 3A 4.10.4.1, after which the processor uses the new entry), or an access that runs past its page
/// into a page mapped elsewhere. The expected sums are the bytes the guest's own page tables point
/// at, planted by the test; the interpreter alone computes the same.
/// </summary>
public sealed class LoadSiteTests
{
    private const ulong Pde1 = 0x3004, Pde2 = 0x3008; // 32-bit paging: 4 MiB pages at 4 MiB and 8 MiB

    public static TheoryData<string, bool> Invalidations => new()
    {
        { "invlpg", true }, { "invlpg", false }, { "mov cr3", true }, { "mov cr3", false },
    };

    [Theory]
    [MemberData(nameof(Invalidations))]
    public void ALoadSiteReadsTheNewPageAfterItsMappingChangesAndIsInvalidated(string invalidation, bool translate)
    {
        using var rig = new TranslatorRig(paging: true, translate: translate);
        rig.WriteUInt64(Pde1, 0x40_0083);            // linear 4 MiB -> physical 4 MiB (present, writable, PS)
        rig.WriteUInt64(0x42_0000, 0x1111);          // what the site reads through the first mapping
        rig.WriteUInt64(0x02_0000, 0x2222_0000);     // and through the second (linear 4 MiB -> physical 0)
        rig.Write(0x3000, BitConverter.GetBytes(0x183u)); // the code's page is global: a CR3 load keeps it (and drops only the rest)
        rig.Load(a =>
        {
            Label outer = a.CreateLabel(), inner = a.CreateLabel();
            a.mov(eax, cr4);
            a.or(eax, 0x80);                       // CR4.PGE
            a.mov(cr4, eax);
            a.xor(edi, edi);
            a.mov(ebp, 2);
            a.Label(ref outer);
            a.mov(ecx, 4);
            a.Label(ref inner);
            a.mov(eax, __dword_ptr[0x42_0000]);    // the load site: filled on its second run, hit on the rest
            a.add(edi, eax);
            a.dec(ecx);
            a.jnz(inner);
            a.mov(__dword_ptr[(uint)Pde1], 0x83);   // now linear 4 MiB -> physical 0
            if (invalidation == "invlpg")
            {
                a.invlpg(__[0x42_0000]);
            }
            else
            {
                a.mov(edx, cr3);
                a.mov(cr3, edx);                   // the 4 MiB page is not global: dropped
            }

            a.dec(ebp);
            a.jnz(outer);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.NotEqual(TranslatorRig.Handler + 1, s.Rip); // halted in the program, not in the exception handler
        Assert.Equal((4 * 0x1111UL) + (4 * 0x2222_0000UL), s.Gpr[(int)Gpr.Rdi]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ALoadSiteThatHitInItsPageStillSeesTheNextPageWhenAnAccessRunsOntoIt(bool translate)
    {
        using var rig = new TranslatorRig(paging: true, translate: translate);
        rig.WriteUInt64(Pde1, 0x40_0083);            // linear 4 MiB -> physical 4 MiB
        rig.WriteUInt64(Pde2, 0x83);                 // linear 8 MiB -> physical 0: not what follows physically
        rig.WriteUInt64(0x7f_fff0, 0x0807_0605_0403_0201);
        rig.WriteUInt64(0x7f_fff8, 0x100f_0e0d_0c0b_0a09);
        rig.Write(0x0, [0xa1, 0xa2, 0xa3, 0xa4]);   // linear 0x800000: the bytes after the page
        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            a.xor(edi, edi);
            a.mov(esi, 0x7f_fff0);
            a.mov(ecx, 8);
            a.Label(ref loop);
            a.mov(eax, __dword_ptr[esi]);          // the site: dwords at 7FFFF0 .. 7FFFFE, the last two cross
            a.add(edi, eax);
            a.rol(edi, 3);
            a.add(esi, 2);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        byte[] bytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0xa1, 0xa2, 0xa3, 0xa4];
        uint expected = 0;
        for (int k = 0; k < 8; k++)
        {
            expected = uint.RotateLeft(expected + BitConverter.ToUInt32(bytes, 2 * k), 3);
        }

        Assert.Equal(expected, (uint)rig.Core.SaveState().Gpr[(int)Gpr.Rdi]);
    }
}
