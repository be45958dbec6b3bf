using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Runs one instruction on the host CPU. A stub emitted once with Iced's <see cref="Assembler"/>
/// into an executable page saves the callee-saved registers, loads RFLAGS and every general
/// register except RSP from a <see cref="RegisterImage"/> (pointer in RDI, System V ABI), executes
/// the instruction placed in a 15-byte slot (padded with NOPs), stores the registers and RFLAGS
/// (PUSHFQ) back, clears DF as the ABI requires, restores and returns.
/// <para>
/// RSP is never an operand of a case: the stub runs on the host stack, so the instruction under
/// test must neither read RSP as a value nor move it. Cases must not fault either (division by
/// zero, a quotient overflow, an unmapped or misaligned CMPXCHG16B operand, a locked access split
/// across cache lines): the generator guarantees it, since a fault here would end the test process.
/// </para>
/// </summary>
internal sealed unsafe class NativeCpu : IDisposable
{
    public const int SlotSize = 15;
    private const byte Nop = 0x90;

    private static readonly AssemblerRegister64[] Gpr64 =
        [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15];

    private readonly HostPages _page = HostPages.Executable(4096);
    private readonly RegisterImage* _image = (RegisterImage*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)sizeof(RegisterImage));
    private readonly int _slot;

    public NativeCpu()
    {
        byte[] prologue = Assemble(EmitPrologue);
        byte[] epilogue = Assemble(EmitEpilogue);
        Span<byte> code = _page.Span;
        prologue.CopyTo(code);
        _slot = prologue.Length;
        code.Slice(_slot, SlotSize).Fill(Nop);
        epilogue.CopyTo(code[(_slot + SlotSize)..]);
    }

    /// <summary>Executes <paramref name="instruction"/> natively from <paramref name="registers"/>, which receives the final state.</summary>
    public void Run(ReadOnlySpan<byte> instruction, ref RegisterImage registers)
    {
        if (instruction.Length > SlotSize)
        {
            throw new ArgumentException("an x86 instruction is at most 15 bytes", nameof(instruction));
        }

        Span<byte> slot = _page.Span.Slice(_slot, SlotSize);
        instruction.CopyTo(slot);
        slot[instruction.Length..].Fill(Nop);
        *_image = registers;

        // SAFETY: the page holds the stub built above; it follows the System V calling convention,
        // preserves every callee-saved register and RSP, leaves DF clear and touches only the image
        // and the instruction's own operands, which the case generator keeps inside the data buffer.
        ((delegate* unmanaged[SuppressGCTransition]<RegisterImage*, void>)_page.Pointer)(_image);
        registers = *_image;
    }

    public void Dispose()
    {
        _page.Dispose();
        System.Runtime.InteropServices.NativeMemory.Free(_image);
    }

    private static byte[] Assemble(Action<Assembler> emit)
    {
        var a = new Assembler(64);
        emit(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0);
        return stream.ToArray();
    }

    private static void EmitPrologue(Assembler a)
    {
        a.push(rbx);
        a.push(rbp);
        a.push(r12);
        a.push(r13);
        a.push(r14);
        a.push(r15);
        a.push(rdi);
        a.push(__qword_ptr[rdi + RegisterImage.RflagsOffset]);
        a.popfq();
        for (int i = 0; i < 16; i++)
        {
            if (i is not (4 or 7))
            {
                a.mov(Gpr64[i], __qword_ptr[rdi + (i * 8)]);
            }
        }

        a.mov(rdi, __qword_ptr[rdi + (7 * 8)]);
    }

    private static void EmitEpilogue(Assembler a)
    {
        // The image pointer is at [rsp] on entry to the slot; after two pushes it is at [rsp + 16].
        a.pushfq();
        a.push(rdi);
        a.mov(rdi, __qword_ptr[rsp + 16]);
        for (int i = 0; i < 16; i++)
        {
            if (i is not (4 or 7))
            {
                a.mov(__qword_ptr[rdi + (i * 8)], Gpr64[i]);
            }
        }

        a.pop(__qword_ptr[rdi + (7 * 8)]);
        a.pop(__qword_ptr[rdi + RegisterImage.RflagsOffset]);
        a.pop(rdi);
        a.cld();
        a.pop(r15);
        a.pop(r14);
        a.pop(r13);
        a.pop(r12);
        a.pop(rbp);
        a.pop(rbx);
        a.ret();
    }
}
