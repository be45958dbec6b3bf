using Emulator.Core.Cpu;
using System.Runtime.Intrinsics;
using Emulator.Jit;
using Emulator.Jit.Translation;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The translator keeps the interpreter's precision: faults in the middle of a translated block
/// report the state before the faulting instruction (Intel SDM Vol. 3A 6.5: a fault's saved EIP
/// is that of the faulting instruction, and no state of it is committed), code written by the
/// running block or on its page is executed as written (Vol. 3A 9.1.3), a long loop of host code
/// still returns for interrupts, and a full code cache is reset without changing results. Expected
/// values come from the manuals' definitions of the instructions, not from either tier's output.
/// </summary>
public sealed class TranslatorTests
{
    private const uint ZF = 0x40, PF = 0x04, AF = 0x10;

    [Fact]
    public void DivideErrorFromAHelperInATranslatedBlockIsPrecise()
    {
        using var rig = new TranslatorRig();
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(ebx, 10);
            a.add(ebx, 5);
            a.mov(edx, 0);
            a.mov(ecx, 0xffff_ffff);
            a.inc(ecx);          // ECX = 0: ZF, PF and AF set, CF kept (clear)
            a.mov(eax, 100);
            a.mov(edi, 0);
            a.Label(ref fault);
            a.div(edi);          // #DE: the interpreter's handler, called from host code
            a.mov(ebx, 99);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        Assert.Equal(code.GetLabelRIP(fault), (ulong)rig.ReadUInt32(TranslatorRig.Stack - 12));
        Assert.Equal(0x08u, rig.ReadUInt32(TranslatorRig.Stack - 8) & 0xffff);
        Assert.Equal(0x2u | ZF | PF | AF, rig.ReadUInt32(TranslatorRig.Stack - 4) & 0x8d7);
        Assert.Equal((15UL, 0UL, 100UL, 0UL), (s.Gpr[(int)Gpr.Rbx], s.Gpr[(int)Gpr.Rcx], s.Gpr[(int)Gpr.Rax], s.Gpr[(int)Gpr.Rdx]));
        Assert.True(rig.Statistics!.NativeInstructions >= 7, "the block did not run as host code");
    }

    [Fact]
    public void PageFaultOnATlbMissInTranslatedCodeIsPrecise()
    {
        using var rig = new TranslatorRig(paging: true);
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(ebx, 7);
            a.add(ebx, ebx);
            a.mov(esi, 0x40_0100);
            a.Label(ref fault);
            a.mov(eax, __dword_ptr[esi + 0x23]);   // not present: #PF, nothing of the MOV done
            a.mov(ebx, 99);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        Assert.Equal(0x40_0123UL, s.Cr2);
        Assert.Equal(0u, rig.ReadUInt32(TranslatorRig.Stack - 16));                      // error code: not present, read, supervisor
        Assert.Equal(code.GetLabelRIP(fault), (ulong)rig.ReadUInt32(TranslatorRig.Stack - 12));
        Assert.Equal(14UL, s.Gpr[(int)Gpr.Rbx]);
        Assert.Equal(0x40_0100UL, s.Gpr[(int)Gpr.Rsi]);
    }

    /// <summary>
    /// A flag writer whose flags the next compare replaces, with a load between them that faults: no
    /// instruction reads those flags, but the #PF pushes them (X86Emitter.FlagReplay recomputes them on
    /// the load's slow path instead of saving them before its probe). The pushed EFLAGS, the registers
    /// and CR2 are the interpreter's, and for ADD 0xFFFFFFFF + 1 they are CF, PF, AF and ZF set (Intel
    /// SDM Vol. 2A ADD: the result is 0 with a carry out of bits 31 and 3).
    /// </summary>
    [Theory]
    [InlineData("add ebx, 1")]
    [InlineData("sub ebx, ecx")]
    [InlineData("and ebx, ecx")]
    [InlineData("xor ebx, ebx")]
    [InlineData("shr ebx, 4")]
    [InlineData("shl ebx, 1")]
    [InlineData("cmp ebx, ecx")]
    [InlineData("neg ebx")]
    [InlineData("add bl, cl")]
    public void AFaultBetweenAFlagWriterAndTheInstructionThatReplacesItsFlagsPushesItsFlags(string writer)
    {
        (CpuState Translated, uint Eflags) translated = RunFaultAfter(writer, translate: true);
        (CpuState Interpreted, uint Eflags) interpreted = RunFaultAfter(writer, translate: false);

        // Except the flags the SDM leaves undefined after a shift (AF; OF for a count above 1): a
        // host instruction leaves the host's values there, the interpreter its documented ones
        // (ARCHITECTURE.md, "Undefined flags"; the pushed image is one of the places they show).
        uint undefined = writer switch { "shr ebx, 4" => 0x810u, "shl ebx, 1" => 0x10u, _ => 0u };
        Assert.Equal(interpreted.Eflags & ~undefined, translated.Eflags & ~undefined);
        Assert.Equal(interpreted.Interpreted.Gpr, translated.Translated.Gpr);
        Assert.Equal(0x40_0123UL, translated.Translated.Cr2);
        if (writer == "add ebx, 1")
        {
            Assert.Equal(0x55u, translated.Eflags & 0x8d5);
        }
    }

    private static (CpuState State, uint Eflags) RunFaultAfter(string writer, bool translate)
    {
        using var rig = new TranslatorRig(paging: true, translate: translate);
        rig.Load(a =>
        {
            a.mov(ebx, 0xffff_ffff);
            a.mov(ecx, 0x8000_0011);
            switch (writer)
            {
                case "add ebx, 1": a.add(ebx, 1); break;
                case "sub ebx, ecx": a.sub(ebx, ecx); break;
                case "and ebx, ecx": a.and(ebx, ecx); break;
                case "xor ebx, ebx": a.xor(ebx, ebx); break;
                case "shr ebx, 4": a.shr(ebx, 4); break;
                case "shl ebx, 1": a.shl(ebx, 1); break;
                case "cmp ebx, ecx": a.cmp(ebx, ecx); break;
                case "neg ebx": a.neg(ebx); break;
                case "add bl, cl": a.add(bl, cl); break;
            }

            a.mov(esi, 0x40_0100);
            a.mov(edx, 5);
            a.mov(eax, __dword_ptr[esi + 0x23]);   // not present: #PF
            a.cmp(eax, edx);                       // replaces every flag the writer left
            a.mov(ebx, 99);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        return (s, rig.ReadUInt32(TranslatorRig.Stack - 4));
    }

    [Fact]
    public void LeaveInTranslatedCodeRestoresTheFrameAndFaultsPrecisely()
    {
        // LEAVE: ESP = EBP + 4, EBP = [EBP] (Intel SDM Vol. 2A LEAVE). A frame whose saved EBP is on a
        // page that is not present raises #PF with both registers as before the instruction.
        using var rig = new TranslatorRig(paging: true);
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            a.mov(ebp, 0x6000);
            a.mov(__dword_ptr[ebp], 0x1234_5678);
            a.mov(esp, 0x5000);
            a.leave();
            a.mov(ecx, esp);
            a.mov(edx, ebp);
            a.mov(esp, (uint)TranslatorRig.Stack);
            a.mov(ebp, 0x40_0200);
            a.Label(ref fault);
            a.leave();
            a.mov(ebx, 99);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal((0x6004UL, 0x1234_5678UL), (s.Gpr[(int)Gpr.Rcx], s.Gpr[(int)Gpr.Rdx]));
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        Assert.Equal(0x40_0200UL, s.Cr2);
        Assert.Equal(code.GetLabelRIP(fault), (ulong)rig.ReadUInt32(TranslatorRig.Stack - 12));
        Assert.Equal((0x40_0200UL, TranslatorRig.Stack - 16), (s.Gpr[(int)Gpr.Rbp], s.Gpr[(int)Gpr.Rsp]));
        // Every instruction translated ran as host code but the HLTs (the program's and the handler's).
        Assert.Equal(rig.Statistics!.GuestInstructions - 2, rig.Statistics.NativeInstructions);
    }

    [Fact]
    public void AStoreIntoTheRunningBlockChangesTheInstructionsAfterIt()
    {
        using var rig = new TranslatorRig();
        // mov eax, 1 (5 bytes at 0x10000); mov byte [0x1000d], 5 (7 bytes); 0x1000c: mov eax, imm32.
        rig.Load(a =>
        {
            a.mov(eax, 1);
            a.mov(__byte_ptr[TranslatorRig.Code + 13], 5);    // the low byte of the next MOV's immediate
            a.mov(eax, 0x1111_1111);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal(0x1111_1105UL, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AByteScanLoopOfThreeBlocksComputesTheSameAsALoopRegion(bool loopRegions)
    {
        // A scan for E8/E9 bytes as in Linux's BCJ filter: the head's JNE goes to a block whose JB
        // returns to the head, and so does the block after a find. With loop regions
        // (Translation/Regions) all three are one unit and the loop stays in host code.
        const uint Buffer = 0x40000, Length = 50_000;
        using var rig = new TranslatorRig(threshold: 2, regions: loopRegions ? RegionMode.Loops : RegionMode.Off);
        byte[] data = new byte[Length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)((i * 97) ^ (i >> 3));
        }

        rig.Write(Buffer, data);
        rig.Load(a =>
        {
            Label head = a.CreateLabel(), next = a.CreateLabel();
            a.xor(eax, eax);
            a.xor(edi, edi);
            a.mov(ecx, Length);
            a.Label(ref head);
            a.movzx(edx, __byte_ptr[eax + Buffer]);
            a.lea(ebx, __[eax + 1]);
            a.and(edx, -2);
            a.cmp(dl, 0xe8);
            a.jne(next);
            a.inc(edi);
            a.Label(ref next);
            a.mov(eax, ebx);
            a.cmp(ebx, ecx);
            a.jb(head);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal((ulong)data.Count(b => (b & 0xfe) == 0xe8), rig.Core.SaveState().Gpr[(int)Gpr.Rdi]);
        Assert.True(rig.Statistics!.Entries > 0, "translated code never ran");
        Assert.Equal(loopRegions, rig.Statistics.RegionMembers > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ALoopThroughBothWaysOfABranchComputesTheSameAsRegionOrBlocks(bool regions)
    {
        // The loop head's JZ goes to one of two blocks that meet again at the loop's end: as a
        // region (Translation/Regions) both ways and the back edge stay in host code.
        using var rig = new TranslatorRig(threshold: 2, regions: regions ? RegionMode.All : RegionMode.Off);
        rig.Load(a =>
        {
            Label loop = a.CreateLabel(), even = a.CreateLabel(), join = a.CreateLabel();
            a.mov(ecx, 100_000);
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.Label(ref loop);
            a.test(ecx, 1);
            a.jz(even);
            a.add(eax, ecx);
            a.jmp(join);
            a.Label(ref even);
            a.xor(edx, ecx);
            a.add(eax, 3);
            a.Label(ref join);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        uint sum = 0, mix = 0;
        for (uint c = 100_000; c != 0; c--)
        {
            if ((c & 1) != 0)
            {
                sum += c;
            }
            else
            {
                mix ^= c;
                sum += 3;
            }
        }

        CpuState s = rig.Core.SaveState();
        Assert.Equal((sum, mix), ((uint)s.Gpr[(int)Gpr.Rax], (uint)s.Gpr[(int)Gpr.Rdx]));
        Assert.True(rig.Statistics!.Entries > 0, "translated code never ran");
        Assert.Equal(regions, rig.Statistics.RegionMembers > 0);
    }

    [Fact]
    public void AStoreIntoABlockTranslatedAsAnotherBlocksRegionMemberDropsTheRegion()
    {
        // The loop's end (S) becomes hot after its head (E) and is translated as a region with E as
        // a member. Halfway, the code outside the region rewrites E's MOV EBX immediate from 1 to 7:
        // every later pass must add 7 (stale code would keep adding 1). 501 passes add 1 (the
        // rewriting pass's MOV ran before the store), 499 add 7. E starts with CMP, which writes
        // every flag, so S's look at the flags its successor reads (SuccessorFlags) watches only
        // the CMP's bytes: only the region's own watch of E's bytes sees the MOV rewritten.
        using var rig = new TranslatorRig(threshold: 2, regions: RegionMode.All);
        rig.Load(a =>
        {
            Label start = a.CreateLabel(), loop = a.CreateLabel(), skip = a.CreateLabel();
            a.jmp(start);                              // 2 bytes: the loop head starts at Code + 2
            a.Label(ref loop);
            a.cmp(ecx, 500);                           // 6 bytes
            a.db(0xbb);
            a.dd(1);                                   // mov ebx, 1: its immediate at Code + 9
            a.jne(skip);
            a.mov(__byte_ptr[TranslatorRig.Code + 9], 7);
            a.Label(ref skip);
            a.add(eax, ebx);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
            a.Label(ref start);
            a.mov(ecx, 1000);
            a.xor(eax, eax);
            a.jmp(loop);
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal((ulong)(501 + (499 * 7)), rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
        Assert.True(rig.Statistics!.RegionMembers > 0, "no region was translated");
    }

    [Fact]
    public void ALoopWhoseDataSharesItsCodePageCountsRight()
    {
        using var rig = new TranslatorRig();
        rig.Load(a =>
        {
            const ulong Counter = TranslatorRig.Code + 0x800;    // on the loop's own 4 KiB page
            Label loop = a.CreateLabel();
            a.mov(ecx, 10_000);
            a.Label(ref loop);
            a.add(__dword_ptr[Counter], 3);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(eax, __dword_ptr[Counter]);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal(30_000UL, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void CallsAndJumpsThroughPointersInMemoryStayInTranslatedCode()
    {
        using var rig = new TranslatorRig();
        const ulong Table = 0x9000, Pointer = 0x9100;
        Label[] functions = [];
        // Assembled twice: the first pass places the functions, the second stores their addresses
        // (MOV r32, imm32 has one length whatever the value).
        uint[] at = new uint[4];
        for (int pass = 0; pass < 2; pass++)
        {
            AssemblerResult result = rig.Load(a =>
            {
                Label loop = a.CreateLabel();
                functions = [a.CreateLabel(), a.CreateLabel(), a.CreateLabel(), a.CreateLabel()];
                for (int f = 0; f < 3; f++)
                {
                    a.mov(edx, at[f]);
                    a.mov(__dword_ptr[Table + (ulong)(f * 4)], edx);
                }

                a.mov(edx, at[3]);
                a.mov(__dword_ptr[Pointer], edx);
                a.xor(eax, eax);
                a.xor(esi, esi);       // i
                a.xor(edi, edi);       // i mod 3
                a.Label(ref loop);
                a.call(__dword_ptr[edi * 4 + (int)Table]);   // CALL r/m32 through a table (Intel SDM Vol. 2A CALL)
                a.inc(edi);
                a.cmp(edi, 3);
                a.mov(edx, 0);
                a.cmove(edi, edx);
                a.inc(esi);
                a.cmp(esi, 1000);
                a.jne(loop);
                a.hlt();
                a.Label(ref functions[0]);
                a.add(eax, 1);
                a.ret();
                a.Label(ref functions[1]);
                a.add(eax, 10);
                a.ret();
                a.Label(ref functions[2]);
                a.jmp(__dword_ptr[Pointer]);            // JMP r/m32 to the fourth, which returns to the caller
                a.Label(ref functions[3]);
                a.add(eax, 100);
                a.ret();
            });
            for (int f = 0; f < 4; f++)
            {
                at[f] = (uint)result.GetLabelRIP(functions[f]);
            }
        }

        Assert.True(rig.RunToHalt());
        // i = 0..999 calls f0, f1, f2 in turn: 334 x 1 + 333 x 10 + 333 x 100.
        Assert.Equal(36_964UL, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
        Assert.True(rig.Statistics!.Entries < 100, $"{rig.Statistics.Entries} entries from the dispatcher: the indirect transfers left translated code");
    }

    [Fact]
    public void AnSseScanInTranslatedCodeFindsTheTerminator()
    {
        using var rig = new TranslatorRig();
        const ulong Buffer = 0x9000;
        byte[] text = new byte[256];
        Array.Fill(text, (byte)'a', 0, 100);    // NUL at offset 100, then NULs
        rig.Write(Buffer, text);
        rig.Load(a =>
        {
            Label loop = a.CreateLabel(), found = a.CreateLabel();
            EnableSse(a);
            a.pxor(xmm0, xmm0);
            a.mov(esi, (uint)Buffer);
            a.Label(ref loop);
            a.movdqa(xmm1, __xmmword_ptr[esi]);
            a.pcmpeqb(xmm1, xmm0);               // 0xFF where the byte is NUL (Intel SDM Vol. 2B PCMPEQB)
            a.pmovmskb(eax, xmm1);               // one bit per byte's top bit
            a.test(eax, eax);
            a.jnz(found);
            a.add(esi, 16);
            a.jmp(loop);
            a.Label(ref found);
            a.bsf(eax, eax);
            a.add(eax, esi);
            a.sub(eax, (uint)Buffer);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        Assert.Equal(100UL, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
    }

    [Fact]
    public void AMisalignedMovdqaInTranslatedCodeRaisesGpAtItsAddress()
    {
        using var rig = new TranslatorRig();
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            EnableSse(a);
            a.mov(ebx, 5);
            a.pcmpeqb(xmm2, xmm2);
            a.mov(esi, 0x9001);
            a.Label(ref fault);
            a.movdqa(xmm2, __xmmword_ptr[esi]);  // not 16-byte aligned: #GP(0) (Intel SDM Vol. 2B MOVDQA)
            a.mov(ebx, 99);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        Assert.Equal(0u, rig.ReadUInt32(TranslatorRig.Stack - 16));                      // error code 0
        Assert.Equal(code.GetLabelRIP(fault), (ulong)rig.ReadUInt32(TranslatorRig.Stack - 12));
        Assert.Equal(5UL, s.Gpr[(int)Gpr.Rbx]);
        Assert.Equal(ulong.MaxValue, rig.Core.Xmm[2].AsUInt64()[0]);                   // XMM2 as PCMPEQB left it
    }

    [Fact]
    public void AnSseInstructionAfterCr0TsIsSetRaisesNm()
    {
        using var rig = new TranslatorRig();
        Label fault = default;
        AssemblerResult code = rig.Load(a =>
        {
            fault = a.CreateLabel();
            EnableSse(a);
            a.pxor(xmm3, xmm3);
            a.mov(eax, cr0);
            a.or(eax, 8);                        // CR0.TS
            a.mov(cr0, eax);
            a.mov(ebx, 7);
            a.Label(ref fault);
            a.pxor(xmm3, xmm3);                  // #NM: TS set (Intel SDM Vol. 3A 2.5, Table 12-1)
            a.mov(ebx, 99);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        CpuState s = rig.Core.SaveState();
        Assert.Equal(TranslatorRig.Handler + 1, s.Rip);
        Assert.Equal(code.GetLabelRIP(fault), (ulong)rig.ReadUInt32(TranslatorRig.Stack - 12));
        Assert.Equal(7UL, s.Gpr[(int)Gpr.Rbx]);
    }

    // CR4.OSFXSR and OSXMMEXCPT: the operating system supports SSE (Intel SDM Vol. 3A 13.1.3).
    private static void EnableSse(Assembler a)
    {
        a.mov(eax, cr4);
        a.or(eax, 0x600);
        a.mov(cr4, eax);
    }

    [Fact]
    public void ALongTranslatedLoopReturnsWithinItsBudget()
    {
        using var rig = new TranslatorRig();
        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.inc(eax);
            a.jmp(loop);
        });

        // The loop never ends; the dispatcher must get control back after at most one budget.
        rig.Core.ExecuteBlocks(32);
        long first = rig.Core.InstructionsRetired;
        rig.Core.ExecuteBlocks(32);
        Assert.InRange(rig.Core.InstructionsRetired - first, 1, Emulator.Jit.Translation.TranslationCache.Budget + 64);
        Assert.True(rig.Core.SaveState().Gpr[(int)Gpr.Rax] > 1000, "the loop did not run as host code");
    }

    [Fact]
    public void AnInterruptReachesAVcpuSpinningInTranslatedCode()
    {
        using var rig = new InterruptRig();
        // The handler of vector 0x40 at 0x600: mov byte [0x700], 1; hlt. The main code spins with IF=1.
        rig.Write(0x600, [0xc6, 0x05, 0x00, 0x07, 0x00, 0x00, 0x01, 0xf4]);
        CpuState s = TranslatorRig.FlatProtectedMode(0x1000);
        s.Rflags = 0x202;
        s.Gpr[(int)Gpr.Rsp] = 0x8000;
        // Flat 32-bit code: inc eax; jmp $-3. Interrupts in protected mode need an IDT: vector 0x40 -> 0x600 as 32-bit code.
        rig.Write(0x1000, [0x40, 0xeb, 0xfd]);
        rig.Write(0x800 + 8, BitConverter.GetBytes(0x00cf_9b00_0000_ffffUL));
        rig.Write(0x2000 + (0x40 * 8), BitConverter.GetBytes(0x0600UL | (0x08UL << 16) | (0x8e00UL << 32)));
        s.Gdtr = new TableRegister { Base = 0x800, Limit = 23 };
        s.Idtr = new TableRegister { Base = 0x2000, Limit = 0x7ff };
        Assert.Equal(1UL, rig.RunWithOneInterrupt(s));
        Assert.True(rig.Vcpu.GetState().Gpr[(int)Gpr.Rax] > 10_000, "the loop did not spin");
    }

    [Fact]
    public void AnInterruptWaitingForIfIsTakenAfterTheInstructionThatFollowsSti()
    {
        // 64-bit code that opens a one-instruction window: sti; inc eax; cli; jmp back. The STI
        // shadow holds the interrupt over INC, and the processor takes it before CLI (Intel SDM
        // Vol. 2B STI), so the handler finds the CLI's address as its return RIP. Translated code
        // looks at interrupts only at block boundaries, and the whole loop is one block.
        using var rig = new InterruptRig();

        // Handler of vector 0x40 at 0x600: mov rdx, [rsp]; mov [0x700], rdx; hlt.
        rig.Write(0x600, [0x48, 0x8b, 0x14, 0x24, 0x48, 0x89, 0x14, 0x25, 0x00, 0x07, 0x00, 0x00, 0xf4]);
        // Main code at 0x1000: cli; 0x1001: sti; inc eax; 0x1004: cli; jmp 0x1001.
        rig.Write(0x1000, [0xfa, 0xfb, 0xff, 0xc0, 0xfa, 0xeb, 0xfa]);
        // GDT: 0x08 a 64-bit code segment, 0x10 data; a 64-bit interrupt gate for vector 0x40 (16 bytes).
        rig.Write(0x800 + 8, BitConverter.GetBytes(0x00af_9b00_0000_ffffUL));
        rig.Write(0x800 + 16, BitConverter.GetBytes(0x00cf_9300_0000_ffffUL));
        rig.Write(0x2000 + (0x40 * 16), BitConverter.GetBytes(0x0600UL | (0x08UL << 16) | (0x8e00UL << 32)));
        CpuState s = Simd.LongModeMachine.InitialState();
        s.Rip = 0x1000;
        s.Rflags = 0x2;
        s.Gpr[(int)Gpr.Rsp] = 0x8000;
        s.Gdtr = new TableRegister { Base = 0x800, Limit = 23 };
        s.Idtr = new TableRegister { Base = 0x2000, Limit = 0xfff };
        Assert.Equal(0x1004UL, rig.RunWithOneInterrupt(s));
        Assert.True(rig.Vcpu.GetState().Gpr[(int)Gpr.Rax] > 10_000, "the loop did not spin");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFullCodeCacheIsResetAndTheProgramStillComputesTheSame(bool background)
    {
        // With a worker translating, results compiled before a reset are dropped, not installed.
        using var rig = new TranslatorRig(cacheBytes: 64 << 10, background: background);
        const int Pieces = 3000;
        // The worker needs time to fill the cache while the program runs: more rounds with it.
        int rounds = background ? 300 : 3;
        LoadPieces(rig, Pieces, rounds);

        Assert.True(rig.RunToHalt());
        Assert.Equal((ulong)((long)rounds * Pieces * (Pieces + 1) / 2) & 0xffff_ffff, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
        Assert.True(rig.Statistics!.Flushes > 0, "the cache never filled");
    }

    [Fact]
    public void ALoopTranslatedInTheBackgroundRunsAsHostCodeAndComputesTheSame()
    {
        // The vCPU interprets the loop until the worker's translation is installed, then runs it.
        using var rig = new TranslatorRig(threshold: 2, background: true);
        rig.Load(a =>
        {
            Label loop = a.CreateLabel();
            a.mov(ecx, 2_000_000);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.add(eax, ecx);
            a.xor(eax, 0x55);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        Assert.True(rig.RunToHalt());
        uint expected = 0;
        for (uint c = 2_000_000; c != 0; c--)
        {
            expected = (expected + c) ^ 0x55;
        }

        Assert.Equal(expected, (uint)rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
        Assert.True(rig.Statistics!.Entries > 0, "translated code never ran");
    }

    [Fact]
    public void BlocksTheWorkerIsSlowToTranslateAreTranslatedByTheVcpuAndComputeTheSame()
    {
        // 3,000 blocks become hot at once; the worker takes the newest first, so the older ones
        // reach the impatience count while they wait and the vCPU translates them itself; the
        // worker's copies that arrive afterwards are not installed (chain slots stay numbered in order).
        // The worker waits 2 ms before each block, so that it is slow however fast or loaded the host.
        // Whether a late copy arrives before the program halts is the host's timing (a busy test
        // run once saw none), so the count asserted is the vCPU's own translations of waiting blocks.
        using var rig = new TranslatorRig(threshold: 2, background: true, impatience: 4, workerDelayMs: 2);
        const int Pieces = 3000, Rounds = 20;
        LoadPieces(rig, Pieces, Rounds);

        Assert.True(rig.RunToHalt());
        Assert.Equal((ulong)((long)Rounds * Pieces * (Pieces + 1) / 2) & 0xffff_ffff, rig.Core.SaveState().Gpr[(int)Gpr.Rax]);
        // Every piece translated (regions join up to Regions.MaxSegments of them in one unit, so count instructions, not units).
        Assert.True(rig.Statistics!.GuestInstructions >= 2 * Pieces, $"only {rig.Statistics.GuestInstructions} guest instructions translated");
        Assert.True(rig.Statistics.TranslatedWhileWaiting > Pieces / 2, $"{rig.Statistics.TranslatedWhileWaiting} translated while waiting, blocks {rig.Statistics.Blocks}");
        Assert.True(rig.Statistics.Entries > 0, "translated code never ran");
    }

    // `rounds` passes over `pieces` blocks, each `add eax, i` ended by a JMP to the next; EAX ends as
    // rounds * pieces * (pieces + 1) / 2 (mod 2^32).
    private static void LoadPieces(TranslatorRig rig, int pieces, int rounds) => rig.Load(a =>
    {
        Label outer = a.CreateLabel();
        a.mov(ecx, rounds);
        a.Label(ref outer);
        for (int i = 1; i <= pieces; i++)
        {
            Label next = a.CreateLabel();
            a.add(eax, i);
            a.jmp(next);
            a.Label(ref next);
        }

        a.dec(ecx);
        a.jnz(outer);
        a.hlt();
    });

    [Fact]
    public void CodeWrittenByOneVcpuRunsOnAnotherAfterSerialisingInTranslatedCode()
    {
        using var machine = new RealModeVcpus();
        // f: mov eax, 1; ret
        machine.Write(0x8000, [0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3]);
        machine.Write(0x7c00, Assemble(0x7c00, a =>
        {
            Label wait = a.CreateLabel(), spin = a.CreateLabel();
            a.Label(ref wait);
            a.cmp(__byte_ptr[0x600], 1);   // the reader has run f
            a.jne(wait);
            a.mov(__byte_ptr[0x8001], 2);  // f now returns 2
            a.mov(__byte_ptr[0x602], 1);
            a.Label(ref spin);
            a.jmp(spin);
        }));
        machine.Write(0x7d00, Assemble(0x7d00, a =>
        {
            Label reader = a.CreateLabel(), spin = a.CreateLabel();
            a.Label(ref reader);
            a.call(0x8000);
            a.mov(__dword_ptr[0x604], eax);
            a.mov(__byte_ptr[0x600], 1);
            a.cmp(__byte_ptr[0x602], 1);
            a.jne(reader);
            a.cpuid();
            a.mov(eax, 0);
            a.call(0x8000);
            a.mov(__dword_ptr[0x606], eax);
            a.mov(__byte_ptr[0x60a], 1);
            a.Label(ref spin);
            a.jmp(spin);
        }));

        byte[] data = machine.RunUntil([0x7c00, 0x7d00], 0x600, 11, d => d[10] == 1, TimeSpan.FromSeconds(30), flat32: true);

        Assert.True(data[10] == 1, $"the reader did not finish: {Convert.ToHexString(data)}");
        Assert.Equal(2u, BitConverter.ToUInt32(data, 6));
    }

    private static byte[] Assemble(ulong at, Action<Assembler> emit)
    {
        var a = new Assembler(32);
        emit(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), at);
        return stream.ToArray();
    }

    // A software vCPU translating over 1 MiB of RAM, for the interrupt tests: the code spins while
    // RunWithOneInterrupt raises vector 0x40 once.
    private sealed class InterruptRig : IDisposable
    {
        private readonly Emulator.Core.Machine.MachinePlatform _platform = new(deterministicTime: true);
        private readonly Emulator.Core.Memory.HostMapping _ram = new(1 << 20);
        private readonly SoftAccelerator _accelerator;

        public InterruptRig()
        {
            _platform.Memory.AddRam("ram", new Emulator.Core.Memory.GuestPhysicalAddress(0), 1 << 20, _ram);
            _accelerator = new SoftAccelerator(_platform) { Translate = true };
            Vcpu = _accelerator.CreateVcpu(0);
        }

        public IVcpu Vcpu { get; }

        public void Write(ulong at, byte[] bytes) => _platform.Memory.Write(new Emulator.Core.Memory.GuestPhysicalAddress(at), bytes);

        // Runs the vCPU from `s` on a thread of its own, raises vector 0x40 once after 300 ms, and
        // waits up to 10 s for the handler to leave a non-zero mark in the quadword at 0x700;
        // returns the mark. The mark must still be 0 just before the interrupt is raised.
        public ulong RunWithOneInterrupt(CpuState s)
        {
            Vcpu.SetState(s);
            var source = new PendingInterrupt();
            Vcpu.InterruptSource = source;
            var thread = new Thread(() => Vcpu.Run());
            thread.Start();
            Thread.Sleep(300);
            ulong early = Mark();
            source.Pending = true;
            Vcpu.NotifyInterrupt();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            ulong mark;
            while ((mark = Mark()) == 0 && watch.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(1);
            }

            Vcpu.RequestExit();
            thread.Join();
            Assert.True(early == 0, "the handler ran before the interrupt was raised");
            return mark;
        }

        public void Dispose()
        {
            Vcpu.Dispose();
            _accelerator.Dispose();
            _platform.Dispose();
            _ram.Dispose();
        }

        private ulong Mark()
        {
            byte[] b = new byte[8];
            _platform.Memory.Read(new Emulator.Core.Memory.GuestPhysicalAddress(0x700), b);
            return BitConverter.ToUInt64(b);
        }
    }

    private sealed class PendingInterrupt : IInterruptSource
    {
        public volatile bool Pending;

        public bool HasInterrupt => Pending;

        public int Acknowledge()
        {
            Pending = false;
            return 0x40;
        }
    }
}
