using System.Numerics;
using System.Runtime.CompilerServices;
using Emulator.Jit.Decoding;
using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.Translation;

/// <summary>
/// The translator's front end: classifies each instruction of a decoded block into an
/// <see cref="IrKind"/>. Instructions whose whole effect is on their explicit general-register
/// operands, one memory operand and the arithmetic flags are kept as host instructions, and so are
/// the kinds with implicit operands the emitter routes through host registers (MUL/DIV, the vector
/// forms of VectorForms, REP MOVS/STOS, the stack and control transfers); everything else (system
/// instructions, other string operations, x87, floating-point SSE, most LOCK forms) is left to the
/// interpreter's handler, so each instruction's semantics stays written once.
/// </summary>
internal static unsafe class IrBuilder
{
    /// <summary>Host registers that hold guest registers through a block (see X86Emitter).</summary>
    public const int MaxCachedRegisters = 9;

    /// <summary>The bit of <see cref="IrBlock.FlatSegments"/> and GuestState.NonFlatSegments that stands for "SSE instructions fault".</summary>
    public const int SseUnavailable = 1 << 8;

    /// <summary>The bit of <see cref="IrBlock.FlatSegments"/> and GuestState.NonFlatSegments that stands for "VEX instructions fault" (CR4.OSXSAVE or XCR0's SSE and AVX bits clear, or CR0.TS set).</summary>
    public const int AvxUnavailable = 1 << 9;

    private const int Rsp = 4, Rbp = 5;

    /// <summary>The block's IR, or null when translating it would gain nothing.</summary>
    /// <param name="block">The decoded block.</param>
    /// <param name="successors">Reads the flags the code after the block reads first; null: all of them.</param>
    /// <param name="code">The decoded blocks, to continue the unit through the block's direct branches into hot ones (see <see cref="Regions"/>); null: the block alone.</param>
    /// <param name="threshold">Executions that make a block hot (the translation threshold).</param>
    /// <param name="loopsOnly">Regions take only members that branch straight back to the entry (<see cref="RegionMode.Loops"/>).</param>
    public static IrBlock? Build(Block block, SuccessorFlags? successors = null, BlockCache? code = null, int threshold = 1, bool loopsOnly = false)
    {
        if (block.Bitness == 16)
        {
            return null;
        }

        var ir = new IrBlock { StartRip = block.Rip, Bitness = block.Bitness, Ops = new List<IrOp>(block.Ops.Length) };
        ushort pinned = 0, used = 0;
        bool whole = AddSegment(ir, block, ref pinned, ref used, cut: true);
        if (whole && code is not null)
        {
            Regions.Grow(ir, block, code, threshold, loopsOnly, ref pinned, ref used);
        }

        // Only now is each segment's end known, and with it what may read the flags after it.
        foreach (IrSegment segment in ir.Segments)
        {
            if (segment.Count > 0)
            {
                // After an interpreter call FlagLiveness counts every flag as read anyway.
                IrOp last = ir.Ops[segment.FirstOp + segment.Count - 1];
                uint liveAfter = successors is not null && last.Kind != IrKind.Interpret ? successors.LiveAfter(block, last.Ins) : FlagLiveness.All;
                FlagLiveness.InterpretObservedUndefined(ir.Ops, segment.FirstOp, segment.Count, liveAfter);
            }
        }

        ushort registers = 0, written = 0;
        pinned = 0;
        Span<int> uses = stackalloc int[16];
        int flat = 1 << (int)SegIndex.Cs;
        int nativeCount = 0;
        foreach (IrOp op in ir.Ops)
        {
            pinned |= Spillable(op) ? (ushort)0 : op.Registers;
            registers |= op.Registers;
            written |= op.Written;
            for (ushort r = op.Registers; r != 0; r &= (ushort)(r - 1))
            {
                uses[BitOperations.TrailingZeroCount(r)]++;
            }

            if (op.Kind != IrKind.Interpret)
            {
                nativeCount++;
                if (block.Bitness != 64)
                {
                    flat |= SegmentsUsed(op);
                }
            }
        }

        // A block the translator would only hand back to the interpreter gains nothing.
        if (nativeCount == 0)
        {
            if (TranslatorSettings.Trace)
            {
                Console.Error.WriteLine($"translator: block at {block.Rip:x} has no native instruction: {string.Join("; ", ir.Ops.Select(o => o.Ins.ToString()))}");
            }

            return null;
        }

        ushort cached = CachedSet(registers, pinned, uses);
        for (int r = 0; r < 16; r++)
        {
            if ((cached & (1 << r)) != 0)
            {
                ir.CachedRegisters.Add(r);
            }
        }

        ir.WrittenRegisters = (ushort)(written & cached);
        ir.FlatSegments = block.Bitness == 64 ? 0 : flat;
        if (ir.Ops.Exists(o => o.Kind == IrKind.Vector))
        {
            // SSE runs only while CR0.EM and TS are clear and CR4.OSFXSR is set (else #UD or #NM, from the interpreter).
            ir.FlatSegments |= SseUnavailable;
        }

        if (ir.Ops.Exists(o => o.Kind == IrKind.Vector && o.Ins.Encoding == EncodingKind.VEX))
        {
            // VEX instructions run only while CR4.OSXSAVE is set, XCR0 enables SSE and AVX state and
            // CR0.TS is clear (else #UD or #NM, from the interpreter; Intel SDM Vol. 2A 2.4, Table 2-18).
            ir.FlatSegments |= AvxUnavailable;
        }
        return ir;
    }

    /// <summary>
    /// Appends <paramref name="block"/>'s ops as a segment of <paramref name="ir"/>. With
    /// <paramref name="cut"/> (the entry block) the ops that fit the host registers are kept and the
    /// result says whether that was all of them; otherwise the block is added whole, and only if
    /// the unit then still uses no more guest registers than there are host registers for them
    /// (a member never adds spills), or not at all.
    /// </summary>
    internal static bool AddSegment(IrBlock ir, Block block, ref ushort pinned, ref ushort used, bool cut)
    {
        int first = ir.Ops.Count;
        Span<DecodedOp> ops = block.Ops;
        ushort p = pinned, u = used;
        ulong fallThrough = block.Rip;
        bool whole = true;
        for (int i = 0; i < ops.Length; i++)
        {
            IrOp op = Classify(ref ops[i], block.Bitness);
            op.Op = (DecodedOp*)Unsafe.AsPointer(ref ops[i]);
            ushort morePinned = Spillable(op) ? p : (ushort)(p | op.Registers);
            if (BitOperations.PopCount(morePinned) > MaxCachedRegisters || (!cut && BitOperations.PopCount((ushort)(u | op.Registers)) > MaxCachedRegisters))
            {
                whole = false;
                break;
            }

            p = morePinned;
            u |= op.Registers;
            ir.Ops.Add(op);
            fallThrough = op.Next;
        }

        if (!whole && !cut)
        {
            ir.Ops.RemoveRange(first, ir.Ops.Count - first);
            return false;
        }

        pinned = p;
        used = u;
        ir.Segments.Add(new IrSegment(block.Rip, first, ir.Ops.Count - first, fallThrough));
        return whole;
    }

    // Which registers live in host registers through the block: every register of an op that must
    // have its operands there (stack, control transfer, vector and CMPXCHG forms), then the most used
    // of the rest. A Native or NativeMemory op reaches a register left in the state through a
    // scratch register (X86Emitter.Spills), so a block that touches all sixteen is not cut in pieces.
    private static ushort CachedSet(ushort registers, ushort pinned, ReadOnlySpan<int> uses)
    {
        ushort cached = pinned;
        while (BitOperations.PopCount(cached) < MaxCachedRegisters && (registers & ~cached) != 0)
        {
            int best = -1;
            for (ushort r = (ushort)(registers & ~cached); r != 0; r &= (ushort)(r - 1))
            {
                int g = BitOperations.TrailingZeroCount(r);
                if (best < 0 || uses[g] > uses[best])
                {
                    best = g;
                }
            }

            cached |= (ushort)(1 << best);
        }

        return cached;
    }

    /// <summary>
    /// Whether the emitter can run <paramref name="op"/> with its general registers in the state
    /// rather than in host registers (loaded into scratch registers around it). CMPXCHG's implicit
    /// accumulator already takes the host's RAX.
    /// </summary>
    public static bool Spillable(in IrOp op) =>
        op.Kind is IrKind.Native or IrKind.NativeMemory or IrKind.MulDiv && op.Ins.Mnemonic != Mnemonic.Cmpxchg && !op.HighByte;

    private static int SegmentsUsed(in IrOp op) => op.Kind switch
    {
        IrKind.Push or IrKind.Pop or IrKind.Leave or IrKind.Pushf or IrKind.Call or IrKind.Return => 1 << (int)SegIndex.Ss,
        IrKind.NativeMemory => 1 << CpuCore.SegmentIndex(op.Ins.MemorySegment),
        IrKind.MulDiv => op.Ins.Op0Kind == OpKind.Memory ? 1 << CpuCore.SegmentIndex(op.Ins.MemorySegment) : 0,
        IrKind.Vector => HasMemoryOperand(op.Ins) ? 1 << CpuCore.SegmentIndex(op.Ins.MemorySegment) : 0,
        IrKind.JumpIndirect => (op.Ins.Op0Kind == OpKind.Memory ? 1 << CpuCore.SegmentIndex(op.Ins.MemorySegment) : 0)
            | (op.Ins.Mnemonic == Mnemonic.Call ? 1 << (int)SegIndex.Ss : 0),
        _ => 0,
    };

    private static bool HasMemoryOperand(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Memory)
            {
                return true;
            }
        }

        return false;
    }

    private static IrOp Classify(ref DecodedOp decoded, int bitness)
    {
        scoped ref Instruction ins = ref decoded.Ins;
        var op = new IrOp
        {
            Kind = IrKind.Interpret,
            Ins = ins,
            Rip = ins.IP,
            Next = ins.NextIP & (bitness == 64 ? ulong.MaxValue : 0xffff_ffff),
        };
        bool locked = ins.HasLockPrefix || CpuCore.IsLockedAccess(ins);
        if (RepString(ins, bitness) is { } size)
        {
            op.Kind = IrKind.RepString;
            op.Size = size;
            bool move = ins.Mnemonic is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq;
            op.Registers = (ushort)((1 << 1) | (1 << 7) | (move ? 1 << 6 : 1 << 0));
            op.Written = (ushort)((1 << 1) | (1 << 7) | (move ? 1 << 6 : 0));
            return op;
        }

        if (ins.HasRepPrefix || ins.HasRepnePrefix || (locked && !LockableNatively(ins)))
        {
            return op;
        }

        if (IsHint(ins.Mnemonic))
        {
            // No architectural effect the interpreter would make (a prefetch never faults; the
            // fences only order memory, which the host's own fence or TSO provides): see Native.
            op.Kind = IrKind.Native;
            return op;
        }

        if (VectorForms.IsNative(ins))
        {
            return Vector(op, bitness);
        }

        if (VectorForms.IsZeroing(ins))
        {
            op.Kind = IrKind.Vector;
            return op;
        }

        if (SignExtension(ins) is { } extend)
        {
            // CBW, CWDE and CDQE are MOVSX of the accumulator into itself (Intel SDM Vol. 2A
            // CBW/CWDE/CDQE): translated as that explicit form, which the host can take with any register.
            op.Ins = extend;
            ins = ref op.Ins;
        }

        int stackSize = bitness / 8;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Mul or Mnemonic.Imul or Mnemonic.Div or Mnemonic.Idiv when ins.OpCount == 1 && !locked:
                return MulDiv(op, bitness);
            case Mnemonic.Push when ins.StackPointerIncrement == -stackSize && ins.OpCount == 1
                && (ins.Op0Kind != OpKind.Memory):
                return Stack(op, IrKind.Push, stackSize);
            case Mnemonic.Pop when ins.StackPointerIncrement == stackSize && ins.Op0Kind == OpKind.Register
                && RegisterMap.Index[(int)ins.Op0Register] is >= 0 and not Rsp:
                return Stack(op, IrKind.Pop, stackSize);
            case Mnemonic.Leave when ins.Code == (bitness == 64 ? Code.Leaveq : Code.Leaved) && bitness != 16:
                op = Stack(op, IrKind.Leave, stackSize);
                op.Registers |= 1 << Rbp;
                op.Written |= 1 << Rbp;
                return op;
            case Mnemonic.Pushfq when bitness == 64:
                return Stack(op, IrKind.Pushf, 8);
            case Mnemonic.Cli when bitness == 64:
                op.Kind = IrKind.Cli;
                return op;
            case Mnemonic.Sti when bitness == 64:
                op.Kind = IrKind.Sti;
                return op;
            case Mnemonic.Mov when bitness == 64 && ins.Code is Code.Mov_r32m16_Sreg or Code.Mov_r64m16_Sreg
                && ins.Op0Kind == OpKind.Register:
                // Linux's sync_core reads SS and CS this way before its IRETQ to itself.
                op.Kind = IrKind.MovFromSegment;
                op.Registers = op.Written = (ushort)(1 << RegisterMap.Index[(int)ins.Op0Register]);
                return op;
            case Mnemonic.Call when ins.StackPointerIncrement == -stackSize && IsNearBranch(ins, bitness) && Reachable(ins.NearBranchTarget, bitness):
                op.Target = ins.NearBranchTarget;
                return Stack(op, IrKind.Call, stackSize);
            case Mnemonic.Call when ins.StackPointerIncrement == -stackSize && ins.Op0Kind == OpKind.Register:
                op.Target = 0;
                op = Stack(op, IrKind.JumpIndirect, stackSize);
                return WithOperands(op, bitness, IrKind.JumpIndirect);
            case Mnemonic.Ret when ins.OpCount == 0 && ins.StackPointerIncrement == stackSize:
                return Stack(op, IrKind.Return, stackSize);
            case Mnemonic.Jmp when IsNearBranch(ins, bitness) && Reachable(ins.NearBranchTarget, bitness):
                op.Kind = IrKind.Jump;
                op.Target = ins.NearBranchTarget;
                return op;
            case Mnemonic.Jmp when ins.Op0Kind == OpKind.Register && RegisterMap.Size[(int)ins.Op0Register] == stackSize:
                return WithOperands(op, bitness, IrKind.JumpIndirect);
            case Mnemonic.Call when ins.Code == (bitness == 64 ? Code.Call_rm64 : Code.Call_rm32) && ins.Op0Kind == OpKind.Memory
                && ins.StackPointerIncrement == -stackSize:
                // Through a pointer in memory (a PLT or IFUNC slot, a function table).
                op.Target = 0;
                op = Stack(op, IrKind.JumpIndirect, stackSize);
                return WithOperands(op, bitness, IrKind.JumpIndirect);
            case Mnemonic.Jmp when ins.Code == (bitness == 64 ? Code.Jmp_rm64 : Code.Jmp_rm32) && ins.Op0Kind == OpKind.Memory:
                op.Size = stackSize;
                return WithOperands(op, bitness, IrKind.JumpIndirect);
            case var _ when ins.IsJccShortOrNear && IsNearBranch(ins, bitness) && Reachable(ins.NearBranchTarget, bitness):
                op.Kind = IrKind.Branch;
                op.Target = ins.NearBranchTarget;
                op.Condition = ins.ConditionCode;
                op.ReadsFlags = true;
                return op;
        }

        if (!NativeForms.TryGetFlags(ins, out bool reads, out bool writes))
        {
            return op;
        }

        op.ReadsFlags = reads;
        op.WritesFlags = writes;
        bool memory = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Memory)
            {
                memory = true;
            }
        }

        if (ins.Mnemonic == Mnemonic.Lea && ins.Op0Kind == OpKind.Register && RegisterMap.Size[(int)ins.Op0Register] == 8
            && CpuCore.AddressMask(ins, bitness) != ulong.MaxValue)
        {
            // A 32-bit address into a 64-bit register is zero-extended; the host form would not truncate.
            return op;
        }

        IrKind kind = memory && ins.Mnemonic is not (Mnemonic.Lea or Mnemonic.Nop) ? IrKind.NativeMemory : IrKind.Native;
        op = WithOperands(op, bitness, kind);
        if (op.Kind == IrKind.NativeMemory)
        {
            op.MemoryWrite = (ins.Op0Kind == OpKind.Memory && NativeForms.WritesDestination(ins.Mnemonic)) || ins.Mnemonic == Mnemonic.Xchg;
            op.Locked = locked;
        }

        if (op.Kind != IrKind.Interpret && ins.Mnemonic == Mnemonic.Cmpxchg)
        {
            // The accumulator is an implicit operand, read and written (Intel SDM Vol. 2A CMPXCHG).
            op.Registers |= 1;
            op.Written |= 1;
        }

        return op;
    }

    private static Instruction? SignExtension(in Instruction ins)
    {
        (Code code, Register to, Register from) = ins.Code switch
        {
            Code.Cbw => (Code.Movsx_r16_rm8, Register.AX, Register.AL),
            Code.Cwde => (Code.Movsx_r32_rm16, Register.EAX, Register.AX),
            Code.Cdqe => (Code.Movsxd_r64_rm32, Register.RAX, Register.EAX),
            _ => (Code.INVALID, Register.None, Register.None),
        };
        if (code == Code.INVALID)
        {
            return null;
        }

        Instruction explicitForm = Instruction.Create(code, to, from);
        explicitForm.IP = ins.IP;
        explicitForm.Length = ins.Length;
        return explicitForm;
    }

    // REP MOVS/STOS of 64-bit code with 64-bit addresses and no FS or GS source (see IrKind.RepString): the element size.
    private static int? RepString(in Instruction ins, int bitness)
    {
        if (bitness != 64 || !ins.HasRepPrefix || ins.Op0Kind != OpKind.MemoryESRDI
            || ins.SegmentPrefix is Register.FS or Register.GS)
        {
            return null;
        }

        return ins.Mnemonic switch
        {
            Mnemonic.Movsb or Mnemonic.Stosb => 1,
            Mnemonic.Movsw or Mnemonic.Stosw => 2,
            Mnemonic.Movsd or Mnemonic.Stosd => 4,
            Mnemonic.Movsq or Mnemonic.Stosq => 8,
            _ => null,
        };
    }

    // Locked read-modify-writes that run as the host's own locked instruction on guest RAM: atomic
    // against other vCPUs' host instructions and the interpreter's compare-and-exchange alike.
    private static bool LockableNatively(in Instruction ins) =>
        ins.Op0Kind == OpKind.Memory || ins.Mnemonic == Mnemonic.Xchg
            ? ins.Mnemonic is Mnemonic.Add or Mnemonic.Or or Mnemonic.Adc or Mnemonic.Sbb or Mnemonic.And or Mnemonic.Sub
                or Mnemonic.Xor or Mnemonic.Inc or Mnemonic.Dec or Mnemonic.Not or Mnemonic.Neg or Mnemonic.Xadd
                or Mnemonic.Xchg or Mnemonic.Cmpxchg or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc
            : false;

    /// <summary>Instructions with no effect on guest state: PAUSE, the fences, SERIALIZE and the prefetches.</summary>
    public static bool IsHint(Mnemonic m) =>
        m is Mnemonic.Pause or Mnemonic.Lfence or Mnemonic.Sfence or Mnemonic.Mfence or Mnemonic.Serialize or Mnemonic.Prefetchnta
            or Mnemonic.Prefetcht0 or Mnemonic.Prefetcht1 or Mnemonic.Prefetcht2 or Mnemonic.Prefetchw or Mnemonic.Prefetch;

    // An SSE or AVX form of VectorForms: its general-register operand and address registers are
    // cached like any other; the XMM and YMM registers stay in the state. The string compares'
    // implicit registers are cached too: ECX, which PCMPxSTRI writes, and EAX and EDX, the
    // lengths PCMPESTRI reads.
    private static IrOp Vector(IrOp op, int bitness)
    {
        ref Instruction ins = ref op.Ins;
        ushort regs = 0, written = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register when !ins.GetOpRegister(i).IsXMM() && !ins.GetOpRegister(i).IsYMM():
                    int r = RegisterMap.Index[(int)ins.GetOpRegister(i)];
                    if (r < 0)
                    {
                        return op;
                    }

                    regs |= (ushort)(1 << r);
                    if (i == 0)
                    {
                        written |= (ushort)(1 << r);
                    }

                    break;
                case OpKind.Memory:
                    if (!AddressRegisters(ins, bitness, ref regs))
                    {
                        return op;
                    }

                    break;
            }
        }

        if (VectorForms.WritesEcx(ins.Mnemonic))
        {
            regs |= 1 << 1;
            written |= 1 << 1;
        }

        if (VectorForms.ReadsLengths(ins.Mnemonic))
        {
            regs |= (1 << 0) | (1 << 2);
        }

        op.Kind = IrKind.Vector;
        op.Registers = regs;
        op.Written = written;
        op.MemoryWrite = ins.Op0Kind == OpKind.Memory;
        op.WritesFlags = VectorForms.WritesFlags(ins.Mnemonic);
        return op;
    }

    // RDX:RAX and one register or memory operand of 16, 32 or 64 bits (the 8-bit forms use AH).
    private static IrOp MulDiv(IrOp op, int bitness)
    {
        ref Instruction ins = ref op.Ins;
        ushort regs = (1 << 0) | (1 << 2);
        int size;
        if (ins.Op0Kind == OpKind.Register)
        {
            Register reg = ins.Op0Register;
            int r = RegisterMap.Index[(int)reg];
            if (r < 0 || RegisterMap.HighByte[(int)reg])
            {
                return op;
            }

            size = RegisterMap.Size[(int)reg];
            regs |= (ushort)(1 << r);
        }
        else if (ins.Op0Kind == OpKind.Memory && AddressRegisters(ins, bitness, ref regs))
        {
            size = ins.MemorySize.GetSize();
        }
        else
        {
            return op;
        }

        if (size < 2)
        {
            return op;
        }

        op.Kind = IrKind.MulDiv;
        op.Size = size;
        op.Registers = regs;
        op.Written = (1 << 0) | (1 << 2);
        // MUL and IMUL define CF and OF (the host's undefined SF, ZF, AF and PF come along, as for
        // the two-operand IMUL, unless FlagLiveness finds a reader); DIV and IDIV leave every flag
        // undefined, and here keep the guest's, as the interpreter does.
        op.WritesFlags = ins.Mnemonic is Mnemonic.Mul or Mnemonic.Imul;
        return op;
    }

    private static IrOp Stack(IrOp op, IrKind kind, int size)
    {
        ref Instruction ins = ref op.Ins;
        op.Kind = kind;
        op.Size = size;
        op.Registers = 1 << Rsp;
        op.Written = 1 << Rsp;
        if (kind is IrKind.Push or IrKind.Pop && ins.Op0Kind == OpKind.Register)
        {
            int r = RegisterMap.Index[(int)ins.Op0Register];
            if (r < 0 || RegisterMap.Size[(int)ins.Op0Register] != size)
            {
                op.Kind = IrKind.Interpret;
                op.Registers = op.Written = 0;
                return op;
            }

            op.Registers |= (ushort)(1 << r);
            if (kind == IrKind.Pop)
            {
                op.Written |= (ushort)(1 << r);
            }
        }

        return op;
    }

    // Fills in the registers of a Native, NativeMemory or JumpIndirect op, or falls back to
    // Interpret for operands the host form cannot take (high-byte registers beside memory or REX
    // registers, 16-bit addressing, segment or control registers).
    private static IrOp WithOperands(IrOp op, int bitness, IrKind kind)
    {
        ref Instruction ins = ref op.Ins;
        ushort regs = op.Registers, written = op.Written;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    Register reg = ins.GetOpRegister(i);
                    int r = RegisterMap.Index[(int)reg];
                    if (reg == Register.CL && NativeForms.IsShiftCount(ins, i))
                    {
                        op.CountInCl = true;
                    }
                    else if (r < 0 || (RegisterMap.HighByte[(int)reg] && !HighByteForm(ins, kind)))
                    {
                        return Fallback(op);
                    }
                    else if (RegisterMap.HighByte[(int)reg])
                    {
                        op.HighByte = true;
                    }

                    regs |= (ushort)(1 << r);
                    if (kind != IrKind.JumpIndirect && (i == 0 || ins.Mnemonic is Mnemonic.Xchg or Mnemonic.Xadd))
                    {
                        written |= (ushort)(1 << r);
                    }

                    break;
                case OpKind.Memory:
                    if (!AddressRegisters(ins, bitness, ref regs))
                    {
                        return Fallback(op);
                    }

                    break;
                case OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64
                    or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64:
                    break;
                default:
                    return Fallback(op);
            }
        }

        // Instructions that only compare or test write no register.
        if (ins.Mnemonic is Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt)
        {
            written = op.Written;
        }

        op.Kind = kind;
        op.Registers = regs;
        op.Written = written;
        return op;
    }

    /// <summary>The op left to the interpreter's handler.</summary>
    public static IrOp Fallback(IrOp op)
    {
        op.Kind = IrKind.Interpret;
        op.Registers = op.Written = 0;
        op.ReadsFlags = op.WritesFlags = op.CountInCl = op.HighByte = false;
        return op;
    }

    // A register-only form naming AH, CH, DH or BH (`and dh, 80h`, `test ah, 40h`, `movzx eax, ah`):
    // its guest registers, at most three and none needing REX, can pass through the host's RAX, RCX
    // and RDX (X86Emitter.HighByteNative). A shift by CL is left out (its count must be the host's
    // CL), and so is CMPXCHG (its accumulator is implicit).
    private static bool HighByteForm(in Instruction ins, IrKind kind)
    {
        if (kind != IrKind.Native || ins.Mnemonic == Mnemonic.Cmpxchg)
        {
            // CMPXCHG's implicit accumulator would take the host's RAX too.
            return false;
        }

        ushort distinct = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    Register reg = ins.GetOpRegister(i);
                    int r = RegisterMap.Index[(int)reg];
                    if (r < 0 || (reg.IsGPR8() && r > 3) || RegisterMap.Size[(int)reg] == 8 || (NativeForms.IsShiftCount(ins, i) && reg == Register.CL))
                    {
                        return false;
                    }

                    distinct |= (ushort)(1 << r);
                    break;
                case OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate8to16 or OpKind.Immediate8to32:
                    break;
                default:
                    return false;
            }
        }

        return BitOperations.PopCount(distinct) <= 3;
    }

    private static bool AddressRegisters(in Instruction ins, int bitness, ref ushort regs)
    {
        if (ins.MemoryBase is Register.RIP or Register.EIP)
        {
            return bitness == 64;
        }

        if ((CpuCore.AddressMask(ins, bitness) & 0xffff_0000) == 0)
        {
            // 16-bit addressing has no host encoding in 64-bit mode.
            return false;
        }

        if (bitness != 64 && ins.MemorySegment is Register.FS or Register.GS or Register.CS)
        {
            // Outside 64-bit mode the translator only addresses flat data segments; FS and GS are
            // left to the interpreter, and so is CS, which is never writable and readable only with
            // its R bit (Intel SDM Vol. 3A 5.5), checks the flat test of CS does not make.
            return false;
        }

        foreach (Register reg in (ReadOnlySpan<Register>)[ins.MemoryBase, ins.MemoryIndex])
        {
            if (reg == Register.None)
            {
                continue;
            }

            int r = RegisterMap.Index[(int)reg];
            if (r < 0)
            {
                return false;
            }

            regs |= (ushort)(1 << r);
        }

        return true;
    }

    private static bool IsNearBranch(in Instruction ins, int bitness) =>
        ins.Op0Kind == (bitness == 64 ? OpKind.NearBranch64 : OpKind.NearBranch32);

    // A direct target the translated code may jump to without the checks of the interpreter's
    // branch forms: canonical in 64-bit mode (a non-canonical target is #GP at the branch; Intel
    // SDM Vol. 3A 6.15), and within CS, which a 32-bit block requires to be flat.
    private static bool Reachable(ulong target, int bitness) =>
        bitness != 64 || target + 0x8000_0000_0000UL <= 0xffff_ffff_ffffUL;
}
