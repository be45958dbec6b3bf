using Emulator.Jit.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// A load site's miss (Memory/SoftTlb.Sites), shared by every load of a vCPU's blocks (emitted once
/// with the other stubs, one per access size): the TLB's own probe, both ways; a hit in the first
/// way refills the site's entry. Written out at every load it made the host code of a boot 14%
/// larger (12.0 MiB without sites, 13.7 with; 11.6 with this stub).
/// Contract: RAX holds the linear address, RDX the site entry's address, R11 the TLB. On return
/// ZF=1 is a hit with the page's addend in R10; ZF=0 a miss. Clobbers RDX. The entry is emptied
/// (limit 0) before its tag changes, so it never pairs one page's tag with another's addend.
/// </summary>
internal static class SiteStubs
{
    /// <summary>Emits the stubs into <paramref name="a"/>; element N is bound to the stub for N-byte loads (N up to 64).</summary>
    public static Label[] Emit(Assembler a) => ProbeStubs.BySize(a, 64, SiteMiss);

    private static void SiteMiss(Assembler a, int size)
    {
        Label victim = a.CreateLabel(), miss = a.CreateLabel();
        X86Emitter.EmitTlbTag(a, size);
        a.mov(__qword_ptr[rdx + SoftTlb.SiteLimit], 0);
        a.mov(__qword_ptr[rdx + SoftTlb.SiteTag], r10);
        a.push(rdx);
        X86Emitter.EmitTlbSlot(a);
        a.cmp(r10, __qword_ptr[r11 + rdx + SoftTlb.ReadTagOffset]);
        a.jne(victim);
        a.mov(r10, __qword_ptr[r11 + rdx + SoftTlb.ReadAddendOffset]);
        a.pop(rdx);
        a.mov(__qword_ptr[rdx + SoftTlb.SiteAddend], r10);
        a.mov(__qword_ptr[rdx + SoftTlb.SiteLimit], SoftTlb.SiteLimitFor(SoftTlb.SiteClass(size)));
        a.cmp(eax, eax); // ZF=1
        a.ret();
        a.Label(ref victim);
        a.cmp(r10, __qword_ptr[r11 + rdx + SoftTlb.VictimReadTagOffset]);
        a.jne(miss);
        a.mov(r10, __qword_ptr[r11 + rdx + SoftTlb.VictimReadAddendOffset]);
        a.pop(rdx);
        a.cmp(eax, eax); // ZF=1
        a.ret();
        a.Label(ref miss);
        a.pop(rdx);
        a.test(rsp, rsp); // ZF=0: RSP is never 0
        a.ret();
    }
}
