using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// REP MOVS and REP STOS (IrKind.RepString) as the host's own string instruction, when that does
/// exactly what the guest's would: DF clear (so the strings ascend), a count that keeps each string
/// within one 4 KiB page, both pages mapped in the TLB with the access's permission, and a
/// destination page without translated code. The host's REP MOVS then copies byte by byte in
/// effect, overlapping strings included (Intel SDM Vol. 2B MOVS, REP: fast-string operation keeps
/// the architectural result), and leaves RCX 0 and RSI/RDI past the strings, as the guest's does.
/// Anything else (a descending or page-crossing string, a TLB miss, a code page) runs in the
/// interpreter's handler. A count of 0 changes nothing.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private const int Rcx = 1, Rbp = 5, Rsi = 6, Rdi = 7;

    private bool RepString(IrOp op)
    {
        Instruction ins = op.Ins;
        bool move = ins.Mnemonic is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq;
        int shift = op.Size switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 };
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        _a.test(__dword_ptr[rbx + GuestState.FlagsRestOffset], 1 << 10);
        _a.jnz(miss);
        _a.test(Host64(Rcx), Host64(Rcx));
        _a.jz(done);
        _a.cmp(Host64(Rcx), 4096 >> shift);
        _a.ja(miss);

        // The strings' length in bytes into ECX; each must end within the page it starts in.
        _a.mov(ecx, Host32(Rcx));
        if (shift > 0)
        {
            _a.shl(ecx, (byte)shift);
        }

        foreach (int r in move ? (ReadOnlySpan<int>)[Rdi, Rsi] : [Rdi])
        {
            _a.mov(eax, Host32(r));
            _a.and(eax, 0xfff);
            _a.add(eax, ecx);
            _a.cmp(eax, 0x1000);
            _a.ja(miss);
        }

        // Host addresses: the source's kept in the state's scratch word while the destination is probed.
        if (move)
        {
            _a.mov(rax, Host64(Rsi));
            Probe(1, write: false, miss);
            _a.mov(__qword_ptr[rbx + GuestState.ScratchOffset], r10);
        }

        _a.mov(rax, Host64(Rdi));
        Probe(1, write: true, miss, codePages: false);

        // RSI and RDI may hold guest registers: swapped with the host addresses around the instruction.
        _a.mov(rcx, Host64(Rcx));
        if (move)
        {
            _a.mov(rdx, __qword_ptr[rbx + GuestState.ScratchOffset]);
            _a.xchg(rsi, rdx);
        }
        else
        {
            _a.mov(rax, Host64(0));
        }

        _a.xchg(rdi, r10);
        switch (ins.Mnemonic)
        {
            case Mnemonic.Movsb: _a.rep.movsb(); break;
            case Mnemonic.Movsw: _a.rep.movsw(); break;
            case Mnemonic.Movsd: _a.rep.movsd(); break;
            case Mnemonic.Movsq: _a.rep.movsq(); break;
            case Mnemonic.Stosb: _a.rep.stosb(); break;
            case Mnemonic.Stosw: _a.rep.stosw(); break;
            case Mnemonic.Stosd: _a.rep.stosd(); break;
            default: _a.rep.stosq(); break;
        }

        _a.xchg(rdi, r10);
        if (move)
        {
            _a.xchg(rsi, rdx);
        }

        // The guest's registers as its instruction leaves them.
        _a.mov(rcx, Host64(Rcx));
        if (shift > 0)
        {
            _a.shl(rcx, (byte)shift);
        }

        _a.add(Host64(Rdi), rcx);
        if (move)
        {
            _a.add(Host64(Rsi), rcx);
        }

        _a.mov(Host32(Rcx), 0);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }
}
