using Emulator.Jit.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The last look of a store's TLB probe, shared by every probe of a vCPU's blocks (emitted once
/// with the other stubs, one per access size): a store whose slot misses in both ways may be to a
/// page holding code, whose write entry the first way keeps as a CodePageTag entry. The store goes
/// on in host code when the 64-byte chunks it writes hold no translated code (data sharing the
/// page), and misses when they do, so that the interpreter drops the overwritten blocks. Written
/// out of line at every store, this had been 16 host instructions each: a tenth of all translated
/// code, and of the time spent emitting and encoding it.
/// Contract: RAX holds the linear address, RDX the slot's byte offset, R10 the page of the access's
/// last byte (the tag the first way was compared with), R11 the TLB. On return ZF=1 is a hit with
/// the host address in R10; ZF=0 a miss. Clobbers RCX. Uses no stack beyond its return address.
/// </summary>
internal static class ProbeStubs
{
    /// <summary>Stubs exist for stores of 1 to this many bytes.</summary>
    public const int MaxStoreSize = 64;

    /// <summary>Emits the stubs into <paramref name="a"/>; element N is bound to the stub for N-byte stores.</summary>
    public static Label[] Emit(Assembler a) => BySize(a, MaxStoreSize, CodePageStore);

    /// <summary>Emits <paramref name="stub"/> for each access size from 1 to <paramref name="max"/>; element N is bound to the one for N bytes.</summary>
    public static Label[] BySize(Assembler a, int max, Action<Assembler, int> stub)
    {
        var labels = new Label[max + 1];
        for (int size = 1; size <= max; size++)
        {
            labels[size] = a.CreateLabel();
            a.Label(ref labels[size]);
            stub(a, size);
        }

        return labels;
    }

    private static void CodePageStore(Assembler a, int size)
    {
        Label miss = a.CreateLabel(), done = a.CreateLabel();
        a.or(r10, (int)SoftTlb.CodePageTag);
        a.cmp(r10, __qword_ptr[r11 + rdx + SoftTlb.WriteTagOffset]);
        a.jne(done);
        a.mov(r10, __qword_ptr[r11 + rdx + SoftTlb.WriteCodeMapOffset]);
        a.mov(r10, __qword_ptr[r10]);
        a.mov(ecx, eax);
        a.shr(ecx, Decoding.BlockCache.ChunkShift);
        a.bt(r10, rcx);
        a.jc(miss);
        a.lea(ecx, __[rax + (size - 1)]);
        a.shr(ecx, Decoding.BlockCache.ChunkShift);
        a.bt(r10, rcx);
        a.jc(miss);
        a.mov(r10, __qword_ptr[r11 + rdx + SoftTlb.WriteAddendOffset]);
        a.lea(r10, __[r10 + rax]); // LEA keeps the ZF=1 of the CMP below
        a.cmp(eax, eax);
        a.ret();
        a.Label(ref miss);
        a.test(rsp, rsp); // ZF=0: RSP is never 0
        a.Label(ref done);
        a.ret();
    }
}
