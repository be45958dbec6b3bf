using Emulator.Jit.IntermediateRepresentation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>A load through a bounded index (<see cref="IndexWindows"/>): one probe for the window the index can reach.</summary>
internal sealed unsafe partial class X86Emitter
{
    private void WindowLoad(IrOp op, IndexWindows.Window window)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        var guestBase = new AssemblerRegister64(Host64Of(op.Ins.MemoryBase));
        // The probe depends on the base alone; a hit leaves the host address of the base in R10, and
        // the access is [R10 + index * scale + displacement].
        _a.lea(rax, __[guestBase + window.Low]);
        Probe(window.High - window.Low, write: false, miss, codePages: false, addend: true);
        _a.add(r10, guestBase);
        _windowed = true;
        HostAccess(op);
        Bind(ref done);
        // Out of the window's page, or a miss: the load on its own (as a page group's fallback).
        _outOfLine.Add(new OutOfLine(OutOfLineKind.GroupFallback, miss, done) { Op = _opIndex, Replay = _opReplay });
    }
}
