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
        using var rig = new TranslatorRig(paging: true, translate: translate, loadSites: true);
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

    /// <summary>
    /// A dword load (a site of the 4-byte class) and a 16-byte MOVDQU (the class checked as 64 bytes)
    /// step 2 or 4 bytes at a time up to and across the end of a page whose successor maps elsewhere;
    /// each load's last dword is summed in order.
    /// </summary>
    [Theory]
    [InlineData(4, true)]
    [InlineData(4, false)]
    [InlineData(16, true)]
    [InlineData(16, false)]
    public void ALoadSiteThatHitInItsPageStillSeesTheNextPageWhenAnAccessRunsOntoIt(int size, bool translate)
    {
        using var rig = new TranslatorRig(paging: true, translate: translate, loadSites: true);
        rig.WriteUInt64(Pde1, 0x40_0083);            // linear 4 MiB -> physical 4 MiB
        rig.WriteUInt64(Pde2, 0x83);                 // linear 8 MiB -> physical 0: not what follows physically
        byte[] bytes = new byte[96];
        for (int k = 0; k < 64; k++)
        {
            bytes[k] = (byte)(k + 1);                // linear 7FFFC0 .. 7FFFFF
        }

        for (int k = 64; k < 96; k++)
        {
            bytes[k] = (byte)(0x80 + k);             // linear 800000 .. 80001F (physical 0)
        }

        rig.Write(0x7f_ffc0, bytes[..64]);
        rig.Write(0x0, bytes[64..]);
        const int Steps = 10;
        int step = size == 4 ? 2 : 4;
        uint start = (uint)(0x80_0000 - (step * (Steps - 2)) - size + 1); // the last two loads cross
        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            if (size == 16)
            {
                a.mov(eax, cr4);
                a.or(eax, 0x600);                  // CR4.OSFXSR, OSXMMEXCPT
                a.mov(cr4, eax);
            }

            a.xor(edi, edi);
            a.mov(esi, start);
            a.mov(ecx, Steps);
            a.Label(ref loop);
            if (size == 4)
            {
                a.mov(eax, __dword_ptr[esi]);      // the site
            }
            else
            {
                a.movdqu(xmm0, __xmmword_ptr[esi]); // the site
                a.psrldq(xmm0, 12);
                a.movd(eax, xmm0);
            }

            a.add(edi, eax);
            a.rol(edi, 3);
            a.add(esi, step);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        uint expected = 0;
        for (int k = 0; k < Steps; k++)
        {
            int lastDword = (int)(start - 0x7f_ffc0) + (k * step) + size - 4;
            expected = uint.RotateLeft(expected + BitConverter.ToUInt32(bytes, lastDword), 3);
        }

        Assert.Equal(expected, (uint)rig.Core.SaveState().Gpr[(int)Gpr.Rdi]);
    }
}
