using Emulator.Jit.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The TLB probe's second look, shared by every probe of a vCPU's blocks (emitted once with the
/// other stubs): when the first way of the slot misses, a probe site calls one of these and goes
/// on at its hit label or to its miss path. Written once per code cache instead of out of line at
/// every memory access, where it was 6 host instructions for a load and 22 for a store: half of
/// the host code of a typical kernel block, and of the time spent encoding it.
/// Contract: RAX holds the linear address, RDX the slot's byte offset, R10 the tag the first way
/// was compared with (the page of the access's last byte), R11 the TLB. On return ZF=1 is a hit
/// with the host address in R10; ZF=0 a miss. Clobbers RCX (store stubs). Uses no stack beyond
/// its return address, so it can be called from anywhere in a block.
/// </summary>
internal static class ProbeStubs
{
    /// <summary>Store stubs exist for accesses of 1 to this many bytes.</summary>
    public const int MaxStoreSize = 64;

    /// <summary>Emits the stubs into <paramref name="a"/>; the labels are bound where they start.</summary>
    public static (Label Load, Label StoreNoCode, Label[] Store) Emit(Assembler a)
    {
        Label load = a.CreateLabel(), storeNoCode = a.CreateLabel();
        var store = new Label[MaxStoreSize + 1];

        // A load: the slot's second way (SoftTlb: the entry the first way displaced).
        a.Label(ref load);
        SecondWay(a, SoftTlb.VictimReadTagOffset, SoftTlb.VictimReadAddendOffset);

        // A store that may not go on over code (its chunks are not checked): the second way only.
        a.Label(ref storeNoCode);
        SecondWay(a, SoftTlb.VictimWriteTagOffset, SoftTlb.VictimWriteAddendOffset);

        for (int size = 1; size <= MaxStoreSize; size++)
        {
            store[size] = a.CreateLabel();
            a.Label(ref store[size]);
            Store(a, size);
        }

        return (load, storeNoCode, store);
    }

    // Compares with the second way's tag: a miss returns with ZF=0 from the CMP; a hit forms the
    // host address with LEA, which keeps the CMP's ZF=1.
    private static void SecondWay(Assembler a, int tagOffset, int addendOffset)
    {
        Label miss = a.CreateLabel();
        a.cmp(r10, __qword_ptr[r11 + rdx + tagOffset]);
        a.jne(miss);
        a.mov(r10, __qword_ptr[r11 + rdx + addendOffset]);
        a.lea(r10, __[r10 + rax]);
        a.Label(ref miss);
        a.ret();
    }

    // A store of `size` bytes: the second way; else, on a page holding code (a CodePageTag entry in
    // the first way), the store goes on in host code when the 64-byte chunks it writes hold no
    // translated code (data sharing the page), and misses when they do, so that the interpreter
    // drops the overwritten blocks.
    private static void Store(Assembler a, int size)
    {
        Label codePage = a.CreateLabel(), miss = a.CreateLabel(), done = a.CreateLabel();
        a.cmp(r10, __qword_ptr[r11 + rdx + SoftTlb.VictimWriteTagOffset]);
        a.jne(codePage);
        a.mov(r10, __qword_ptr[r11 + rdx + SoftTlb.VictimWriteAddendOffset]);
        a.lea(r10, __[r10 + rax]);
        a.ret();
        a.Label(ref codePage);
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
        a.lea(r10, __[r10 + rax]);
        a.cmp(eax, eax);
        a.ret();
        a.Label(ref miss);
        a.test(rsp, rsp); // ZF=0: RSP is never 0
        a.Label(ref done);
        a.ret();
    }
}
