using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Runs one instruction on the host CPU. A stub emitted once with Iced's <see cref="Assembler"/>
/// into an executable page saves the callee-saved registers and the host's MXCSR, loads RFLAGS,
/// MXCSR, XMM0-XMM15 (whole YMM registers on a host with AVX) and every general register except
/// RSP from a <see cref="RegisterImage"/> (pointer in RDI, System V ABI), executes the instruction
/// placed in a 15-byte slot (padded with NOPs), stores the registers, MXCSR and RFLAGS (PUSHFQ)
/// back, clears DF as the ABI requires, restores and returns.
/// <para>
/// RSP is never an operand of a case: the stub runs on the host stack, so the instruction under
/// test must neither read RSP as a value nor move it. <see cref="Run"/> executes in the test
/// process, so its cases must not fault (the generator guarantees it: no division by zero or
/// quotient overflow, memory operands inside the buffer, aligned CMPXCHG16B, no locked access
/// split across cache lines). Cases that may fault go to <see cref="RunInChild"/>: a second stub
/// forks with the raw fork system call; the child, which runs nothing but this native code,
/// restores the default action of the fault signals, runs the first stub and exits with
/// exit_group, or dies of the signal its fault raised. The parent waits for it and reports which.
/// </para>
/// </summary>
internal sealed unsafe partial class NativeCpu : IDisposable
{
    /// <summary>Bytes of the slot for one instruction (an x86 instruction is at most 15 bytes).</summary>
    public const int SlotSize = 15;
    private const byte Nop = 0x90;
    private const int SysRtSigaction = 13, SysFork = 57, SysExitGroup = 231;
    private const int DefaultActionOffset = 4096 - 64;

    // SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV: the signals an instruction's fault raises.
    private static readonly int[] FaultSignals = [4, 5, 7, 8, 11];

    private static readonly AssemblerRegister64[] Gpr64 =
        [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15];

    // XMM registers are caller-saved in the System V ABI, so the stub may load them freely; MXCSR's
    // control bits are callee-saved and are left alone.
    private static readonly AssemblerRegisterXMM[] Xmm =
        [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15];

    private static readonly AssemblerRegisterYMM[] Ymm =
        [ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12, ymm13, ymm14, ymm15];

    /// <summary>True when the host has AVX (and the kernel enabled its state): the stub then loads and stores whole YMM registers.</summary>
    public static bool HasAvx { get; } = System.Runtime.Intrinsics.X86.Avx.IsSupported;

    private readonly HostPages _page = HostPages.Executable(4096);
    private readonly HostPages _shared = HostPages.Low(4096);
    private readonly int _slot;
    private readonly int _forkEntry;

    private readonly int _slotSize;

    /// <param name="slotSize">Room for the code under test: one instruction by default, a whole block for block tests.</param>
    public NativeCpu(int slotSize = SlotSize)
    {
        _slotSize = slotSize;
        byte[] prologue = Assemble(EmitPrologue, 0);
        byte[] epilogue = Assemble(EmitEpilogue, 0);
        Span<byte> code = _page.Span;
        code.Clear();
        prologue.CopyTo(code);
        _slot = prologue.Length;
        code.Slice(_slot, slotSize).Fill(Nop);
        epilogue.CopyTo(code[(_slot + slotSize)..]);
        _forkEntry = (_slot + slotSize + epilogue.Length + 15) & ~15;
        byte[] fork = Assemble(EmitForkAndRun, _page.Address + (ulong)_forkEntry);
        fork.CopyTo(code[_forkEntry..]);
        if (_forkEntry + fork.Length > DefaultActionOffset)
        {
            throw new InvalidOperationException("the native stubs outgrew their page");
        }
    }

    /// <summary>
    /// True when user code may set the GS base (the kernel enabled CR4.FSGSBASE and says so in
    /// AT_HWCAP2), so GS-prefixed operands can be tested. The stub sets it around the instruction
    /// and restores it: neither the .NET runtime nor glibc use GS on x86-64 Linux. FS holds the
    /// thread pointer and is never changed.
    /// </summary>
    public static bool CanSetGsBase { get; } = OperatingSystem.IsLinux() && (GetAuxiliaryValue(AtHwcap2) & Hwcap2FsGsBase) != 0;

    private RegisterImage* Image => (RegisterImage*)_shared.Pointer;

    /// <summary>The page holding the stubs.</summary>
    public ulong Page => _page.Address;

    /// <summary>Where the instruction under test runs: its RIP, which RIP-relative operands are relative to.</summary>
    public ulong SlotAddress => _page.Address + (ulong)_slot;

    /// <summary>Executes <paramref name="instruction"/> natively from <paramref name="registers"/>, which receives the final state.</summary>
    public void Run(ReadOnlySpan<byte> instruction, ref RegisterImage registers)
    {
        Place(instruction);
        *Image = registers;

        // SAFETY: the page holds the stub built above; it follows the System V calling convention,
        // preserves every callee-saved register, RSP and the host's MXCSR, leaves DF clear and touches
        // only the image and the instruction's own operands, which the case generator keeps inside
        // the data buffer and free of faults (a case that unmasks a SIMD exception runs in a child).
        ((delegate* unmanaged[SuppressGCTransition]<RegisterImage*, void>)_page.Pointer)(Image);
        registers = *Image;
    }

    /// <summary>
    /// Executes <paramref name="instruction"/> in a forked child. Returns 0 when it completed
    /// (<paramref name="registers"/> then holds the final state, and the shared data buffer its
    /// memory), else the number of the signal its fault raised.
    /// </summary>
    public int RunInChild(ReadOnlySpan<byte> instruction, ref RegisterImage registers)
    {
        Place(instruction);
        *Image = registers;

        // SAFETY: the fork stub returns the child's pid (or -errno) in the parent like a plain
        // function; the child never returns into managed code: it runs only the stubs and raw
        // system calls, then exits or is killed by the default action of its fault signal.
        long pid = ((delegate* unmanaged[SuppressGCTransition]<RegisterImage*, long>)(_page.Pointer + _forkEntry))(Image);
        if (pid <= 0)
        {
            throw new InvalidOperationException($"fork failed: {-pid}");
        }

        int status;
        while (WaitPid((int)pid, out status, 0) < 0)
        {
            if (Marshal.GetLastPInvokeError() != 4)
            {
                throw new InvalidOperationException($"waitpid failed, errno {Marshal.GetLastPInvokeError()}");
            }
        }

        int signal = status & 0x7f;
        if (signal == 0)
        {
            registers = *Image;
            int exit = (status >> 8) & 0xff;
            return exit == 0 ? 0 : throw new InvalidOperationException($"the native child exited with {exit}");
        }

        return signal;
    }

    public void Dispose()
    {
        _page.Dispose();
        _shared.Dispose();
    }

    private void Place(ReadOnlySpan<byte> instruction)
    {
        if (instruction.Length > _slotSize)
        {
            throw new ArgumentException($"the code under test is longer than the slot's {_slotSize} bytes", nameof(instruction));
        }

        Span<byte> slot = _page.Span.Slice(_slot, _slotSize);
        instruction.CopyTo(slot);
        slot[instruction.Length..].Fill(Nop);
    }

    private static byte[] Assemble(Action<Assembler> emit, ulong rip)
    {
        var a = new Assembler(64);
        emit(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), rip);
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
        if (CanSetGsBase)
        {
            a.rdgsbase(rax);
            a.push(rax);
            a.mov(rax, __qword_ptr[rdi + RegisterImage.GsBaseOffset]);
            a.wrgsbase(rax);
        }

        // The host's MXCSR (its control bits are callee-saved) is kept on the stack while the case's is loaded.
        a.sub(rsp, 8);
        a.stmxcsr(__dword_ptr[rsp]);
        a.push(rdi);
        a.push(__qword_ptr[rdi + RegisterImage.RflagsOffset]);
        a.popfq();
        a.ldmxcsr(__dword_ptr[rdi + RegisterImage.MxcsrOffset]);
        for (int i = 0; i < 16; i++)
        {
            if (HasAvx)
            {
                a.vmovdqu(Xmm[i], __xmmword_ptr[rdi + RegisterImage.XmmOffset + (i * 16)]);
                a.vinsertf128(Ymm[i], Ymm[i], __xmmword_ptr[rdi + RegisterImage.YmmHighOffset + (i * 16)], 1);
            }
            else
            {
                a.movdqu(Xmm[i], __xmmword_ptr[rdi + RegisterImage.XmmOffset + (i * 16)]);
            }
        }

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

        for (int i = 0; i < 16; i++)
        {
            if (HasAvx)
            {
                a.vmovdqu(__xmmword_ptr[rdi + RegisterImage.XmmOffset + (i * 16)], Xmm[i]);
                a.vextractf128(__xmmword_ptr[rdi + RegisterImage.YmmHighOffset + (i * 16)], Ymm[i], 1);
            }
            else
            {
                a.movdqu(__xmmword_ptr[rdi + RegisterImage.XmmOffset + (i * 16)], Xmm[i]);
            }
        }

        a.stmxcsr(__dword_ptr[rdi + RegisterImage.MxcsrOffset]);
        a.pop(__qword_ptr[rdi + (7 * 8)]);
        a.pop(__qword_ptr[rdi + RegisterImage.RflagsOffset]);
        a.pop(rdi);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.add(rsp, 8);
        if (CanSetGsBase)
        {
            a.pop(rax);
            a.wrgsbase(rax);
        }

        a.cld();
        if (HasAvx)
        {
            a.vzeroupper();
        }

        a.pop(r15);
        a.pop(r14);
        a.pop(r13);
        a.pop(r12);
        a.pop(rbp);
        a.pop(rbx);
        a.ret();
    }

    // fork(); the parent returns the pid. The child sets SIGILL, SIGTRAP, SIGBUS, SIGFPE and
    // SIGSEGV back to their default action (the runtime's handlers must not run in it), runs the
    // stub at the start of the page and calls exit_group(0).
    private void EmitForkAndRun(Assembler a)
    {
        Label parent = a.CreateLabel();
        a.push(rbx);
        a.mov(rbx, rdi);
        a.mov(eax, SysFork);
        a.syscall();
        a.test(rax, rax);
        a.jnz(parent);
        foreach (int signal in FaultSignals)
        {
            a.mov(eax, SysRtSigaction);
            a.mov(edi, signal);
            a.mov(rsi, _page.Address + DefaultActionOffset);
            a.xor(edx, edx);
            a.mov(r10d, 8);
            a.syscall();
        }

        a.mov(rdi, rbx);
        a.call(_page.Address);
        a.mov(eax, SysExitGroup);
        a.xor(edi, edi);
        a.syscall();
        a.ud2();
        a.Label(ref parent);
        a.pop(rbx);
        a.ret();
    }

    private const ulong AtHwcap2 = 26, Hwcap2FsGsBase = 2;

    [LibraryImport("libc", EntryPoint = "getauxval")]
    private static partial ulong GetAuxiliaryValue(ulong type);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, out int status, int options);
}
