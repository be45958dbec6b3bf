using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Tests.Cpu.Simd;

/// <summary>The registers one SIMD test case reads and writes, on the host and in the emulator.</summary>
internal struct SimdCase
{
    public uint Mxcsr;
    public Vector128<byte> Xmm0, Xmm1;
    public ulong Rax;
    public ulong Flags;
}

/// <summary>
/// Runs one instruction on the host CPU: the test's oracle. The instruction is assembled into a
/// stub in an executable page that loads MXCSR, XMM0, XMM1 and RAX from a block, executes it,
/// stores them and RFLAGS back, and restores the runtime's MXCSR. Callers keep every exception
/// masked, so the host never takes a SIMD floating-point exception.
/// </summary>
internal sealed unsafe class HostSimd : IDisposable
{
    private const int PageSize = 4096;
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 0x02, MapAnonymous = 0x20;

    // Block layout: 0 MXCSR in/out, 4 saved MXCSR, 16 XMM0, 32 XMM1, 48 RAX, 56 RFLAGS in/out.
    private readonly byte* _block = (byte*)NativeMemory.AlignedAlloc(64, 16);
    private readonly nint _code;

    public HostSimd(Action<Assembler> instruction)
    {
        _code = Mmap(0, PageSize, ProtRead | ProtWrite | ProtExec, MapPrivate | MapAnonymous, -1, 0);
        if (_code == -1)
        {
            throw new InvalidOperationException("mmap of an executable page failed");
        }

        var a = new Assembler(64);
        a.stmxcsr(__dword_ptr[rdi + 4]);
        a.ldmxcsr(__dword_ptr[rdi]);
        a.movups(xmm0, __xmmword_ptr[rdi + 16]);
        a.movups(xmm1, __xmmword_ptr[rdi + 32]);
        a.mov(rax, __qword_ptr[rdi + 48]);
        a.push(__qword_ptr[rdi + 56]);
        a.popfq();
        instruction(a);
        a.pushfq();
        a.pop(rcx);
        a.mov(__qword_ptr[rdi + 56], rcx);
        a.mov(__qword_ptr[rdi + 48], rax);
        a.movups(__xmmword_ptr[rdi + 16], xmm0);
        a.movups(__xmmword_ptr[rdi + 32], xmm1);
        a.stmxcsr(__dword_ptr[rdi]);
        a.ldmxcsr(__dword_ptr[rdi + 4]);
        a.ret();
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), (ulong)_code);
        stream.ToArray().CopyTo(new Span<byte>((void*)_code, PageSize));
    }

    public SimdCase Run(SimdCase input)
    {
        *(uint*)_block = input.Mxcsr;
        *(Vector128<byte>*)(_block + 16) = input.Xmm0;
        *(Vector128<byte>*)(_block + 32) = input.Xmm1;
        *(ulong*)(_block + 48) = input.Rax;
        *(ulong*)(_block + 56) = input.Flags;
        ((delegate* unmanaged<byte*, void>)_code)(_block);
        return new SimdCase
        {
            Mxcsr = *(uint*)_block,
            Xmm0 = *(Vector128<byte>*)(_block + 16),
            Xmm1 = *(Vector128<byte>*)(_block + 32),
            Rax = *(ulong*)(_block + 48),
            Flags = *(ulong*)(_block + 56),
        };
    }

    public void Dispose()
    {
        _ = Munmap(_code, PageSize);
        NativeMemory.AlignedFree(_block);
    }

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static extern int Munmap(nint addr, nuint length);
}
