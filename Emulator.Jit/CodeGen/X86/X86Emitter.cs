using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.Memory;
using Emulator.Jit.State;
using Emulator.Jit.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Lowers an <see cref="IrBlock"/> to x86-64 host code. Guest registers used by the block live in
/// host registers (loaded at entry, stored at exits and around helper calls). The guest's flags
/// are the host's flags after a native instruction and stay there while nothing clobbers them;
/// otherwise they are in the state (saved with LAHF/SETO, see <see cref="LazyFlags.HostRflags"/>),
/// which is where they must be at every exit and at every point that may fault. A memory operand is
/// probed in the TLB inline; a miss runs the whole instruction through the interpreter's handler
/// (which walks the page tables, handles MMIO and code pages, and delivers faults) and rejoins.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private readonly Assembler _a;
    private readonly EmitterScratch _scratch;
    private readonly Register[] _host = new Register[16];
    private readonly List<OutOfLine> _outOfLine = [];
    private readonly List<(Label Label, Label? Tail, ulong Target)> _slots;
    private readonly PageGroups _groups;
    private readonly IndexWindows _windows;

    // The block being emitted (set by Begin: one emitter serves block after block).
    private IrBlock _ir = null!;
    private ulong _exitStub;
    private ulong _chainExitStub;
    private ulong _chainLookupStub;
    private ulong _interpretHelper;
    private HostStubs _stubs;
    private int _firstSlot;
    private Label _invalidByte;
    private Label _body;
    private Label _helperStub;
    private bool _helperStubUsed;
    private bool _hostFlags;
    private bool _savedFlags = true;
    private int _opIndex;

    // The segment being emitted, and each segment's first instruction (the first is _body).
    private int _segment;
    private readonly List<Label> _segmentLabels = [];

    /// <summary>Time spent in Iced's block encoder (for the translator's statistics).</summary>
    public static long AssembleTicks;

    /// <summary>An emitter over <paramref name="scratch"/>'s buffers, reused block after block (see <see cref="EmitterScratch"/>).</summary>
    public X86Emitter(EmitterScratch scratch)
    {
        _scratch = scratch;
        _a = scratch.Assembler;
        _slots = scratch.Slots;
        _groups = scratch.Groups;
        _windows = scratch.Windows;
    }

    // Every per-block field back to its state before a block's first op.
    private void Begin(IrBlock ir, HostStubs stubs, int firstSlot)
    {
        _scratch.Reset();
        _outOfLine.Clear();
        _firstSlot = firstSlot;
        _ir = ir;
        _exitStub = stubs.Exit;
        _chainExitStub = stubs.ChainExit;
        _chainLookupStub = stubs.ChainLookup;
        _interpretHelper = stubs.InterpretHelper;
        _stubs = stubs;
        _helperStubUsed = false;
        _hostFlags = false;
        _savedFlags = true;
        _replayCandidate = _replayOp = _opReplay = -1;
        _opIndex = 0;
        _foldAddend = false;
        _groupBase = Register.None;
        _windowed = false;
        Array.Clear(_host);
        for (int i = 0; i < ir.CachedRegisters.Count; i++)
        {
            _host[ir.CachedRegisters[i]] = HostRegisters.Pool[i];
        }
    }

    /// <summary>
    /// The assembled block, for the address it was assembled at. Its bytes stay in the scratch's
    /// encoder (<see cref="LinearEncoder.Output"/>) until the next block is compiled.
    /// </summary>
    public sealed class Result
    {
        public required int Length { get; init; }

        public required int EntryOffset { get; init; }

        public required int InvalidOffset { get; init; }

        /// <summary>Each chain slot's JMP rel32, the JMP rel32 ending its unpatched path (-1: none, a call to the lookup), and its target.</summary>
        public required (int Offset, int Tail, ulong Target)[] Slots { get; init; }
    }

    /// <summary>
    /// Assembles <paramref name="ir"/> for host address <paramref name="at"/>; null when a guest
    /// instruction has no host encoding. Chain exits report slot numbers from <paramref name="firstSlot"/>.
    /// </summary>
    public static Result? Compile(IrBlock ir, ulong at, HostStubs stubs, int firstSlot, EmitterScratch scratch)
    {
        X86Emitter e = scratch.Emitter;
        e.Begin(ir, stubs, firstSlot);
        try
        {
            return e.Emit(at);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            // Iced could not encode an instruction with host operands (a form the host lacks in 64-bit mode).
            if (Translation.TranslatorSettings.Trace)
            {
                Console.Error.WriteLine($"translator: block at {ir.StartRip:x} not encodable: {ex.Message}");
            }

            return null;
        }
    }

    private Result Emit(ulong at)
    {
        Assembler a = _a;
        _invalidByte = a.CreateLabel();
        _body = a.CreateLabel();
        Bind(ref _invalidByte);
        a.db(0, 0, 0, 0, 0, 0, 0, 0);
        Label entry = a.CreateLabel();
        Bind(ref entry);
        Prologue();
        Bind(ref _body);
        List<IrOp> ops = _ir.Ops;
        _groups.Find(_ir, _host);
        _windows.Find(_ir, _host);
        List<IrSegment> segments = _ir.Segments;
        _segmentLabels.Clear();
        _segmentLabels.Add(_body);
        for (int s = 1; s < segments.Count; s++)
        {
            _segmentLabels.Add(a.CreateLabel());
        }

        for (int s = 0; s < segments.Count; s++)
        {
            IrSegment segment = segments[s];
            _segment = s;
            if (s > 0)
            {
                // Reached only by jumps from other segments, which leave the flags in the state.
                Label label = _segmentLabels[s];
                Bind(ref label);
                _segmentLabels[s] = label;
                _hostFlags = false;
                _savedFlags = true;
                _replayCandidate = _replayOp = -1;
                _foldAddend = false;
                _groupBase = Register.None;
                _windowed = false;
            }

            bool ended = false;
            int end = segment.FirstOp + segment.Count;
            for (int i = segment.FirstOp; i < end && !ended; i++)
            {
                IrOp op = ops[i];
                _opIndex = i;
                _opReplay = _replayOp;
                bool last = i == end - 1;
                bool afterSti = i > segment.FirstOp && ops[i - 1].Kind == IrKind.Sti;
                ended = op.Kind switch
                {
                    IrKind.Native => Native(op),
                    IrKind.NativeMemory => NativeMemory(op),
                    IrKind.Push => Push(op),
                    IrKind.Pop => Pop(op),
                    IrKind.Leave => Leave(op),
                    IrKind.Pushf => Pushf(op),
                    IrKind.Cli => Cli(op),
                    IrKind.Sti when !last => Sti(op),
                    IrKind.MovFromSegment => MovFromSegment(op),
                    IrKind.Call => Call(op),
                    IrKind.Return => Return(op),
                    IrKind.Jump => Jump(op.Target),
                    IrKind.Branch => Branch(op),
                    IrKind.JumpIndirect => JumpIndirect(op),
                    IrKind.Vector => Vector(op),
                    IrKind.MulDiv => MulDiv(op),
                    IrKind.RepString => RepString(op),
                    _ => Interpret(op, last && op.Ins.FlowControl != FlowControl.Next),
                };
                if (afterSti && !ended)
                {
                    AfterSti(op.Next);
                }
            }

            if (!ended)
            {
                Jump(segment.FallThrough);
            }
        }

        // By index: out-of-line code may add more (a page group's fallback brings its own slow path).
        for (int k = 0; k < _outOfLine.Count; k++)
        {
            EmitOutOfLine(_outOfLine[k]);
        }

        if (_helperStubUsed)
        {
            HelperStub();
        }

        long assembleStart = System.Diagnostics.Stopwatch.GetTimestamp();
        LinearEncoder encoder = _scratch.Encoder;
        int length = encoder.Encode(a.Instructions, at);
        AssembleTicks += System.Diagnostics.Stopwatch.GetTimestamp() - assembleStart;
        var slots = new (int Offset, int Tail, ulong Target)[_slots.Count];
        for (int i = 0; i < slots.Length; i++)
        {
            (Label label, Label? tail, ulong target) = _slots[i];
            slots[i] = ((int)(encoder.AddressOf(label.Id) - at), tail is { } t ? (int)(encoder.AddressOf(t.Id) - at) : -1, target);
        }

        return new Result
        {
            Length = length,
            EntryOffset = (int)(encoder.AddressOf(entry.Id) - at),
            InvalidOffset = (int)(encoder.AddressOf(_invalidByte.Id) - at),
            Slots = slots,
        };
    }

    // Entry checks (dropped block, budget, flat segments) before anything changes, then the loads.
    private void Prologue()
    {
        Assembler a = _a;
        Label dropped = a.CreateLabel(), spent = a.CreateLabel(), guard = a.CreateLabel();
        a.cmp(__byte_ptr[_invalidByte], 0);
        a.jne(dropped);
        a.sub(__qword_ptr[rbx + GuestState.BudgetOffset], _ir.Segments[0].Count);
        a.jle(spent);
        if (_ir.FlatSegments != 0)
        {
            a.test(__dword_ptr[rbx + GuestState.NonFlatSegmentsOffset], _ir.FlatSegments);
            a.jnz(guard);
        }

        LoadRegisters();
        _outOfLine.Add(new OutOfLine(OutOfLineKind.PrologueExits, dropped, spent, guard));
    }

    // The prologue's exits: the block was dropped, the budget is spent, a segment is not flat.
    private void PrologueExits(Label dropped, Label spent, Label guard)
    {
        Bind(ref dropped);
        _a.mov(__dword_ptr[rbx + GuestState.ExitSlotOffset], ExitSlotDropped);
        ExitAt(_ir.StartRip, ExitReason.Continue);
        Bind(ref spent);
        ExitAt(_ir.StartRip, ExitReason.End);
        if (_ir.FlatSegments != 0)
        {
            Bind(ref guard);
            ExitAt(_ir.StartRip, ExitReason.Interpret);
        }
    }

    private void ExitAt(ulong rip, ExitReason reason)
    {
        _a.mov(rax, rip);
        _a.mov(__qword_ptr[rbx + GuestState.RipOffset], rax);
        _a.mov(eax, (int)reason);
        _a.jmp(_exitStub);
    }

    private void LoadRegisters()
    {
        foreach (int g in _ir.CachedRegisters)
        {
            _a.mov(new AssemblerRegister64(_host[g]), __qword_ptr[rbx + GuestState.GprOffset(g)]);
        }

        _a.mov(r11, __qword_ptr[rbx + GuestState.TlbOffset]);
    }

    private void StoreRegisters()
    {
        foreach (int g in _ir.CachedRegisters)
        {
            if ((_ir.WrittenRegisters & (1 << g)) != 0)
            {
                _a.mov(__qword_ptr[rbx + GuestState.GprOffset(g)], new AssemblerRegister64(_host[g]));
            }
        }
    }

    // The guest's flags into the state, if only the host's RFLAGS holds them (LAHF/SETO/MOV leave RFLAGS alone).
    private void SaveFlags()
    {
        ReplayIntoHost();
        if (_hostFlags && !_savedFlags)
        {
            _a.lahf();
            _a.seto(al);
            _a.mov(__word_ptr[rbx + GuestState.HostRflagsOffset], ax);
            _savedFlags = true;
        }
    }

    // The guest's flags into the host's RFLAGS, from the state.
    private void LoadFlags()
    {
        ReplayIntoHost();
        if (!_hostFlags)
        {
            _a.mov(ax, __word_ptr[rbx + GuestState.HostRflagsOffset]);
            _a.add(al, 0x7f);
            _a.sahf();
            _hostFlags = true;
        }
    }

    // Before host code that clobbers RFLAGS for its own purposes.
    private void ClobberFlags()
    {
        if (ReplayInsteadOfSave())
        {
            return;
        }

        SaveFlags();
        _hostFlags = false;
    }

    private void FlagsAfter(in IrOp op)
    {
        if (op.WritesFlags)
        {
            _hostFlags = true;
            _savedFlags = false;
            _replayCandidate = _replayOp = -1;
        }
    }

    private Register Host(Register guest)
    {
        int g = RegisterMap.Index[(int)guest];
        return HostRegisters.Sized(_host[g], RegisterMap.Size[(int)guest]);
    }

    private AssemblerRegister64 Host64(int guest) => new(_host[guest]);

    private AssemblerRegister32 Host32(int guest) => new(HostRegisters.Sized(_host[guest], 4));

    // Set while NativeMemory emits an access through [R10+RAX] (Probe's addend form).
    private bool _foldAddend;

    // Set while a load of a page group is emitted: its operand is [_groupBase + guest base + displacement]
    // (X86Emitter.PageGroups).
    private Register _groupBase = Register.None;

    // Set while a load through a bounded index is emitted: its operand is [R10 + index * scale +
    // displacement], R10 the host address of its guest base (X86Emitter.IndexWindows).
    private bool _windowed;

    // The guest instruction with host registers, and [R10] (or [R10+RAX]) for its memory operand.
    private Instruction Rewrite(in IrOp op)
    {
        Instruction ins = op.Ins;
        ins.Code = GeneralForms.Of(ins.Code);
        for (int i = 0; i < ins.OpCount; i++)
        {
            OpKind kind = ins.GetOpKind(i);
            if (kind == OpKind.Register)
            {
                Register r = ins.GetOpRegister(i);
                if (!(op.CountInCl && r == Register.CL && i == ins.OpCount - 1))
                {
                    ins.SetOpRegister(i, Host(r));
                }
            }
            else if (kind == OpKind.Memory && op.Kind is IrKind.NativeMemory or IrKind.MulDiv)
            {
                if (_windowed)
                {
                    ins.MemoryBase = Register.R10;
                    ins.MemoryIndex = Host64Of(ins.MemoryIndex);
                    ins.MemoryDisplacement64 = (ulong)(long)(int)ins.MemoryDisplacement64;
                    ins.MemoryDisplSize = ins.MemoryDisplacement64 == 0 ? 0 : 8;
                    ins.SegmentPrefix = Register.None;
                    continue;
                }

                if (_groupBase != Register.None)
                {
                    ins.MemoryIndex = Host64Of(ins.MemoryBase);
                    ins.MemoryBase = _groupBase;
                    ins.MemoryDisplacement64 = (ulong)(long)(int)ins.MemoryDisplacement64;
                    ins.MemoryDisplSize = ins.MemoryDisplacement64 == 0 ? 0 : 8;
                }
                else
                {
                    ins.MemoryBase = Register.R10;
                    ins.MemoryIndex = _foldAddend ? Register.RAX : Register.None;
                    ins.MemoryDisplacement64 = 0;
                    ins.MemoryDisplSize = 0;
                }

                ins.MemoryIndexScale = 1;
                ins.SegmentPrefix = Register.None;
            }
            else if (kind == OpKind.Memory)
            {
                // LEA: the same address arithmetic on the host registers.
                ins.MemoryBase = ins.MemoryBase == Register.None ? Register.None : Host64Of(ins.MemoryBase);
                ins.MemoryIndex = ins.MemoryIndex == Register.None ? Register.None : Host64Of(ins.MemoryIndex);
                ins.MemoryDisplacement64 = (ulong)(long)(int)ins.MemoryDisplacement64;
                ins.MemoryDisplSize = ins.MemoryDisplacement64 == 0 && ins.MemoryBase != Register.None ? 0 : 8;
                ins.SegmentPrefix = Register.None;
            }
        }

        ins.IP = 0;
        return ins;
    }

    private Register Host64Of(Register guest) => _host[RegisterMap.Index[(int)guest]];

    // What a Continue exit leaves in ExitSlot (for the EMU_JIT_STATS=3 profile only).
    public const int ExitSlotDropped = -1, ExitSlotControlSlowPath = -2, ExitSlotIndirectMiss = -3;

    private bool Native(IrOp op)
    {
        if (op.Ins.Mnemonic == Mnemonic.Nop)
        {
            return false;
        }

        if (IrBuilder.IsHint(op.Ins.Mnemonic))
        {
            // MFENCE orders this vCPU's stores before its later loads as seen by other vCPUs (host
            // threads), which the host's TSO alone does not; PAUSE keeps spin-wait loops kind to the
            // host core. SERIALIZE orders at least as much as MFENCE (Intel SDM Vol. 2B SERIALIZE).
            // LFENCE, SFENCE (stores are never non-temporal here) and prefetches need nothing.
            if (op.Ins.Mnemonic is Mnemonic.Mfence or Mnemonic.Serialize)
            {
                _a.mfence();
            }
            else if (op.Ins.Mnemonic == Mnemonic.Pause)
            {
                _a.pause();
            }

            return false;
        }

        if (op.Ins.Mnemonic == Mnemonic.Lea && op.Ins.MemoryBase is Register.RIP or Register.EIP)
        {
            // RIP-relative: Iced gives the absolute address.
            ulong address = op.Ins.MemoryDisplacement64;
            Operands(op);
            ushort leaSpills = LoadSpills(OperandRegisters(op), NativeScratch);
            switch (RegisterMap.Size[(int)op.Ins.Op0Register])
            {
                case 8: _a.mov(new AssemblerRegister64(Host(op.Ins.Op0Register)), address); break;
                case 4: _a.mov(new AssemblerRegister32(Host(op.Ins.Op0Register)), (uint)address); break;
                default: _a.mov(new AssemblerRegister16(Host(op.Ins.Op0Register)), (ushort)address); break;
            }

            StoreSpills(leaSpills, op.Written);
            return false;
        }

        if (op.HighByte)
        {
            HighByteNative(op);
            return false;
        }

        if (op.Fixup != UndefinedFlagFixup.None && !CanFixUndefinedFlags(ref op))
        {
            return Interpret(op, false);
        }

        Operands(op);
        ushort spills = LoadSpills((ushort)(OperandRegisters(op) | AddressRegisters(op.Ins)), NativeScratch);
        bool replayable = spills == 0 && PlanReplay(op);
        if (replayable)
        {
            SaveReplaySource(op);
        }

        BeforeUndefinedFlagFixup(op);
        HostInstruction(op);
        AfterUndefinedFlagFixup(op);
        StoreSpills(spills, op.Written);
        FlagsAfter(op);
        if (replayable)
        {
            _replayCandidate = _opIndex;
        }

        return false;
    }

    // The rewritten guest instruction; CMPXCHG's implicit accumulator goes through the host's RAX.
    private void HostInstruction(in IrOp op)
    {
        bool accumulator = op.Ins.Mnemonic == Mnemonic.Cmpxchg;
        if (accumulator)
        {
            _a.mov(rax, Host64(0));
        }

        _a.AddInstruction(Rewrite(op));
        if (accumulator)
        {
            _a.mov(Host64(0), rax);
        }
    }

    // What a host instruction needs in place before it runs: its CL count, and the guest's flags.
    private void Operands(in IrOp op)
    {
        if (op.CountInCl)
        {
            if (_host[1] == Register.None)
            {
                _a.mov(ecx, __dword_ptr[rbx + GuestState.GprOffset(1)]);
            }
            else
            {
                _a.mov(ecx, Host32(1));
            }
        }

        if (op.ReadsFlags)
        {
            LoadFlags();
        }
    }

    // The linear address of the memory operand into RAX.
    private void Address(in IrOp op)
    {
        ref readonly Instruction ins = ref op.Ins;
        if (ins.MemoryBase is Register.RIP or Register.EIP)
        {
            _a.mov(rax, ins.MemoryDisplacement64);
        }
        else
        {
            Register b = ins.MemoryBase == Register.None ? Register.None : Host64Of(ins.MemoryBase);
            Register x = ins.MemoryIndex == Register.None ? Register.None : Host64Of(ins.MemoryIndex);
            long disp = (long)ins.MemoryDisplacement64;
            bool wide = _ir.Bitness == 64 && CpuCoreAddressMask(ins) == ulong.MaxValue;
            if (!wide)
            {
                disp = (int)(uint)disp;
            }

            if (b == Register.None && x == Register.None)
            {
                // An absolute address (moffs forms carry 64 bits of it).
                _a.mov(rax, wide ? (ulong)disp : (uint)disp);
            }
            else
            {
                var memory = new MemoryOperand(b, x, ins.MemoryIndexScale, disp, disp == 0 && b != Register.None ? 0 : 8);
                _a.AddInstruction(Instruction.Create(wide ? Code.Lea_r64_m : Code.Lea_r32_m, wide ? Register.RAX : Register.EAX, memory));
            }
        }

        if (_ir.Bitness == 64 && ins.MemorySegment is Register.FS or Register.GS)
        {
            int seg = ins.MemorySegment == Register.FS ? (int)Core.Cpu.Seg.Fs : (int)Core.Cpu.Seg.Gs;
            _a.add(rax, __qword_ptr[rbx + GuestState.SegmentBaseOffset(seg)]);
        }
    }

    private static ulong CpuCoreAddressMask(in Instruction ins) => CpuCore.AddressMask(ins, 64);

    // The TLB probe for an access of `size` bytes at the linear address in RAX: on a hit R10 holds
    // the host address; on a miss it jumps to `miss`. The tag compared is that of the access's last
    // byte, so an access that crosses into the next page misses (Tag and Addend: see SoftTlb). A
    // miss in the slot's first way tries its second (out of line, but not in a stub: Linux's boot
    // decompressor hits the second way all the time, and a call there cost it 5-8%); a store that
    // misses both calls the shared code-page check (ProbeStubs), which lets it go on when the
    // chunks it writes on a page holding code hold none. Clobbers RDX, R10 and, on that path, RCX.
    // With codePages false a store to a page holding code always misses (the access's length is not
    // known here, so its chunks cannot be checked).
    // With `addend` set a hit leaves the entry's addend in R10 instead, for an access through
    // [R10+RAX]: one instruction fewer on every hit (the caller keeps RAX).
    private void Probe(int size, bool write, Label miss, bool codePages = true, bool addend = false)
    {
        Assembler a = _a;
        Label hit = a.CreateLabel(), victim = a.CreateLabel(), codePage = a.CreateLabel();
        codePages &= write && size <= ProbeStubs.MaxStoreSize;
        if (!write && _scratch.LoadSites && SoftTlb.SiteClass(size) is var sizeClass and >= 0)
        {
            SiteProbe(size, sizeClass, miss, addend);
            return;
        }

        EmitTlbSlot(a);
        EmitTlbTag(a, size);
        a.cmp(r10, __qword_ptr[r11 + rdx + (write ? SoftTlb.WriteTagOffset : SoftTlb.ReadTagOffset)]);
        a.jne(victim);
        a.mov(r10, __qword_ptr[r11 + rdx + (write ? SoftTlb.WriteAddendOffset : SoftTlb.ReadAddendOffset)]);
        if (!addend)
        {
            a.add(r10, rax);
        }

        Bind(ref hit);
        _outOfLine.Add(new OutOfLine(OutOfLineKind.VictimWay, victim, hit, miss, codePage)
        {
            Size = size,
            Write = write,
            CodePages = codePages,
            Addend = addend,
        });
    }

    /// <summary>The slot of a TLB probe: RDX the byte offset of the slot of the linear address in RAX.</summary>
    public static void EmitTlbSlot(Assembler a)
    {
        a.mov(edx, eax);
        a.shr(edx, SoftTlb.PageShift - 3);
        a.and(edx, (SoftTlb.Entries - 1) << 3);
    }

    /// <summary>
    /// The tag a TLB probe compares, for an access of <paramref name="size"/> bytes at RAX: R10 the
    /// page of its last byte (an access that runs onto the next page matches no entry of its slot).
    /// </summary>
    public static void EmitTlbTag(Assembler a, int size)
    {
        if (size == 1)
        {
            a.mov(r10, rax);
        }
        else
        {
            a.lea(r10, __[rax + (size - 1)]);
        }

        a.and(r10, unchecked((int)~SoftTlb.PageMask));
    }

    // A load probed at its own site's entry first (Memory/SoftTlb.Sites): RAX the linear address;
    // a hit leaves the addend (or, without `addend`, the host address) in R10 as Probe does.
    private void SiteProbe(int size, int sizeClass, Label miss, bool addend)
    {
        Assembler a = _a;
        Label hit = a.CreateLabel(), siteMiss = a.CreateLabel();
        int entry = SoftTlb.SiteEntryOffset(sizeClass, _scratch.SiteNext[sizeClass]++);
        a.mov(r10, rax);
        a.xor(r10, __qword_ptr[r11 + (entry + SoftTlb.SiteTag)]);
        a.cmp(r10, __qword_ptr[r11 + (entry + SoftTlb.SiteLimit)]);
        a.jae(siteMiss);
        a.mov(r10, __qword_ptr[r11 + (entry + SoftTlb.SiteAddend)]);
        if (!addend)
        {
            a.add(r10, rax);
        }

        Bind(ref hit);
        _outOfLine.Add(new OutOfLine(OutOfLineKind.SiteMiss, siteMiss, hit, miss)
        {
            Size = size,
            Addend = addend,
            Op = entry,
        });
    }

    // A site's miss: the shared stub (SiteStubs) probes the TLB and refills the entry.
    private void SiteMiss(in OutOfLine probe)
    {
        Assembler a = _a;
        Label siteMiss = probe.Entry;
        Bind(ref siteMiss);
        a.lea(rdx, __[r11 + probe.Op]);
        a.call(_stubs.SiteMiss[probe.Size]);
        a.jne(probe.Miss);
        if (!probe.Addend)
        {
            a.add(r10, rax);
        }

        a.jmp(probe.Back);
    }

    // A probe's miss in the slot's first way: its second way (SoftTlb: the entry the first way
    // displaced), then, for a store, the code-page check; back to `hit`, or on to `miss`.
    private void VictimWay(in OutOfLine probe)
    {
        Assembler a = _a;
        Label victim = probe.Entry, codePage = probe.Fourth;
        bool write = probe.Write;
        Bind(ref victim);
        a.cmp(r10, __qword_ptr[r11 + rdx + (write ? SoftTlb.VictimWriteTagOffset : SoftTlb.VictimReadTagOffset)]);
        a.jne(probe.CodePages ? codePage : probe.Miss);
        a.mov(r10, __qword_ptr[r11 + rdx + (write ? SoftTlb.VictimWriteAddendOffset : SoftTlb.VictimReadAddendOffset)]);
        if (!probe.Addend)
        {
            a.add(r10, rax);
        }

        a.jmp(probe.Back);
        if (probe.CodePages)
        {
            Bind(ref codePage);
            a.call(_stubs.CodePageStore[probe.Size]);
            a.jne(probe.Miss);
            if (probe.Addend)
            {
                a.sub(r10, rax); // the stub gives the host address
            }

            a.jmp(probe.Back);
        }
    }

    private bool NativeMemory(IrOp op)
    {
        if (_groups.Count != 0 && _groups.Member(_opIndex) is { } member)
        {
            GroupLoad(op, member);
            return false;
        }

        if (_windows.Count != 0 && _windows.At(_opIndex) is { } window)
        {
            WindowLoad(op, window);
            return false;
        }

        ClobberFlags();
        PerAccess(op);
        return false;
    }

    // The access probed on its own (flags already in the state), rejoining after it.
    private void PerAccess(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ushort addressSpills = LoadSpills(AddressRegisters(op.Ins), AddressScratch);
        Address(op);
        StoreSpills(addressSpills, 0);
        int size = op.Ins.MemorySize.GetSize() is var s and > 0 ? s : 1;
        if (op.Locked && size > 1)
        {
            // A locked operand that straddles an aligned 8-byte word takes the interpreter's bus
            // lock (CpuCore.Locked), so that all such updates exclude one another as they do there.
            _a.mov(edx, eax);
            _a.and(edx, 7);
            _a.cmp(edx, 8 - size);
            _a.ja(miss);
        }

        // The access goes through [R10+RAX] unless something below needs RAX: the guest flags
        // (loaded through AH), a spilled operand, CMPXCHG's accumulator.
        _foldAddend = !op.ReadsFlags && op.Ins.Mnemonic != Mnemonic.Cmpxchg && !Spills(OperandRegisters(op));
        Probe(size, op.MemoryWrite, miss, addend: _foldAddend);
        HostAccess(op);
        Bind(ref done);
        SlowPath(miss, done);
    }

    // The access itself, once its memory operand's host form is chosen (_foldAddend, _groupBase or
    // _windowed, which it clears): operands and spills in, the host instruction, spills and flags out.
    private void HostAccess(IrOp op)
    {
        Operands(op);
        ushort spills = LoadSpills(OperandRegisters(op), OperandScratch);
        HostInstruction(op);
        _foldAddend = false;
        _groupBase = Register.None;
        _windowed = false;
        StoreSpills(spills, op.Written);
        FlagsAfter(op);
    }

    // A TLB miss: the interpreter runs the instruction, then the host state is made what the fast
    // path leaves (registers reloaded, flags in RFLAGS if the fast path has them there).
    // For the current op, whose fast path has just been emitted.
    private void SlowPath(Label miss, Label done) =>
        _outOfLine.Add(new OutOfLine(OutOfLineKind.SlowPath, miss, done) { Op = _opIndex, FlagsInHost = _hostFlags, Replay = _opReplay });

    private void SlowPath(in OutOfLine path)
    {
        Label miss = path.Entry;
        Bind(ref miss);
        SaveReplayedFlags(path.Replay);
        CallInterpreter(_ir.Ops[path.Op]);
        if (path.FlagsInHost)
        {
            _a.mov(ax, __word_ptr[rbx + GuestState.HostRflagsOffset]);
            _a.add(al, 0x7f);
            _a.sahf();
        }

        _a.jmp(path.Back);
    }

    // The interpreter runs `op` through the block's helper stub: registers stored, the helper
    // called, registers reloaded; a non-zero return has left through the exit stub.
    private void CallInterpreter(in IrOp op)
    {
        if (!_helperStubUsed)
        {
            _helperStub = _a.CreateLabel();
            _helperStubUsed = true;
        }

        _a.mov(rax, (ulong)op.Op);
        _a.call(_helperStub);
    }

    // One per block, shared by every helper call of it (each site is a MOV and a CALL, where it
    // was some thirty instructions): the block's written registers go to the state, the
    // interpreter runs the op whose DecodedOp is in RAX, and the cached registers and the TLB
    // base come back. The stores and loads are the same at every site, because the emitter keeps
    // each cached guest register in its host register for the whole block. A non-zero return
    // (an exit reason) drops the return address into the block and leaves through the exit stub,
    // whose frame the block shares. The CALL into the stub left RSP 8 bytes off the 16-byte
    // alignment the ABI wants at the helper call; FrameBytes (8, or 40 with Windows' shadow space) restores it.
    private void HelperStub()
    {
        Assembler a = _a;
        Label leave = a.CreateLabel();
        Bind(ref _helperStub);
        StoreRegisters();
        a.mov(new AssemblerRegister64(HostAbi.Arg1), rax);
        a.mov(new AssemblerRegister64(HostAbi.Arg0), rbx);
        a.sub(rsp, HostAbi.FrameBytes);
        a.mov(rax, _interpretHelper);
        a.call(rax);
        a.add(rsp, HostAbi.FrameBytes);
        a.test(eax, eax);
        a.jnz(leave);
        LoadRegisters();
        a.ret();
        Bind(ref leave);
        a.lea(rsp, __[rsp + 8]);
        a.jmp(_exitStub);
    }

    private bool Interpret(IrOp op, bool last)
    {
        SaveFlags();
        CallInterpreter(op);
        _hostFlags = false;
        _savedFlags = true;
        if (last)
        {
            // A control transfer the interpreter ran (RIP is set): look the next block up.
            _a.mov(eax, (int)ExitReason.Continue);
            _a.jmp(_exitStub);
            return true;
        }

        return false;
    }

    // The stack slot below RSP into RAX (the linear address: SS is flat or 64-bit).
    private void StackSlot(int offset, int size)
    {
        if (size == 8)
        {
            _a.lea(rax, __[Host64(4) + offset]);
        }
        else
        {
            _a.lea(eax, __[Host64(4) + offset]);
        }
    }

    private void AdjustStack(int delta, int size)
    {
        if (size == 8)
        {
            _a.lea(Host64(4), __[Host64(4) + delta]);
        }
        else
        {
            _a.lea(Host32(4), __[Host64(4) + delta]);
        }
    }

    private bool Push(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        StackSlot(-op.Size, op.Size);
        Probe(op.Size, write: true, miss);
        if (op.Ins.Op0Kind == OpKind.Register)
        {
            int g = RegisterMap.Index[(int)op.Ins.Op0Register];
            if (op.Size == 8)
            {
                _a.mov(__qword_ptr[r10], Host64(g));
            }
            else
            {
                _a.mov(__dword_ptr[r10], Host32(g));
            }
        }
        else
        {
            ulong value = op.Ins.GetImmediate(0);
            if (op.Size == 8)
            {
                _a.mov(rdx, value);
                _a.mov(__qword_ptr[r10], rdx);
            }
            else
            {
                _a.mov(__dword_ptr[r10], (uint)value);
            }
        }

        AdjustStack(-op.Size, op.Size);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    private bool Pop(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        StackSlot(0, op.Size);
        Probe(op.Size, write: false, miss);
        int g = RegisterMap.Index[(int)op.Ins.Op0Register];
        if (op.Size == 8)
        {
            _a.mov(Host64(g), __qword_ptr[r10]);
        }
        else
        {
            _a.mov(Host32(g), __dword_ptr[r10]);
        }

        AdjustStack(op.Size, op.Size);
        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    // LEAVE (Intel SDM Vol. 2A): the saved frame pointer is read at RBP before either register
    // changes, so a fault (the slow path runs the whole instruction) leaves both as they were.
    private bool Leave(IrOp op)
    {
        Label miss = _a.CreateLabel(), done = _a.CreateLabel();
        ClobberFlags();
        if (op.Size == 8)
        {
            _a.mov(rax, Host64(Rbp));
            Probe(8, write: false, miss);
            _a.mov(rdx, __qword_ptr[r10]);
            _a.lea(Host64(4), __[Host64(Rbp) + 8]);
            _a.mov(Host64(Rbp), rdx);
        }
        else
        {
            _a.mov(eax, Host32(Rbp));
            Probe(4, write: false, miss);
            _a.mov(edx, __dword_ptr[r10]);
            _a.lea(Host32(4), __[Host64(Rbp) + 4]);
            _a.mov(Host32(Rbp), edx);
        }

        Bind(ref done);
        SlowPath(miss, done);
        return false;
    }

    // A control transfer (the current op) whose fast path failed: the interpreter runs it and the block ends.
    private void ControlSlowPath(Label miss) =>
        _outOfLine.Add(new OutOfLine(OutOfLineKind.ControlSlowPath, miss) { Op = _opIndex, Replay = _opReplay });

    private void ControlSlowPath(in OutOfLine path)
    {
        Label miss = path.Entry;
        Bind(ref miss);
        SaveReplayedFlags(path.Replay);
        CallInterpreter(_ir.Ops[path.Op]);
        _a.mov(__dword_ptr[rbx + GuestState.ExitSlotOffset], ExitSlotControlSlowPath);
        _a.mov(eax, (int)ExitReason.Continue);
        _a.jmp(_exitStub);
    }

    private bool Call(IrOp op)
    {
        Label miss = _a.CreateLabel();
        ClobberFlags();
        StackSlot(-op.Size, op.Size);
        Probe(op.Size, write: true, miss);
        if (op.Size == 8)
        {
            _a.mov(rdx, op.Next);
            _a.mov(__qword_ptr[r10], rdx);
        }
        else
        {
            _a.mov(__dword_ptr[r10], (uint)op.Next);
        }

        AdjustStack(-op.Size, op.Size);
        ControlSlowPath(miss);
        return Jump(op.Target);
    }

    // 64-bit mode: a non-canonical target in RCX goes to the interpreter, which raises #GP at the branch.
    private void CheckCanonical(Label miss)
    {
        if (_ir.Bitness == 64)
        {
            _a.mov(rdx, rcx);
            _a.shl(rdx, 16);
            _a.sar(rdx, 16);
            _a.cmp(rdx, rcx);
            _a.jne(miss);
        }
    }

    private bool Return(IrOp op)
    {
        Label miss = _a.CreateLabel();
        ClobberFlags();
        StackSlot(0, op.Size);
        Probe(op.Size, write: false, miss);
        if (op.Size == 8)
        {
            _a.mov(rcx, __qword_ptr[r10]);
        }
        else
        {
            _a.mov(ecx, __dword_ptr[r10]);
        }

        CheckCanonical(miss);
        AdjustStack(op.Size, op.Size);
        ControlSlowPath(miss);
        StoreRegisters();
        IndirectJump();
        return true;
    }

    private bool JumpIndirect(IrOp op)
    {
        Label miss = _a.CreateLabel();
        ClobberFlags();
        bool viaMemory = op.Ins.Op0Kind == OpKind.Memory;
        int target = viaMemory ? -1 : RegisterMap.Index[(int)op.Ins.Op0Register];
        if (viaMemory)
        {
            // The pointer is read before anything changes; a miss leaves the whole transfer to the interpreter.
            Address(op);
            Probe(op.Size, write: false, miss);
            if (op.Size == 8)
            {
                _a.mov(rcx, __qword_ptr[r10]);
            }
            else
            {
                _a.mov(ecx, __dword_ptr[r10]);
            }
        }
        else if (op.Size == 8 || _ir.Bitness == 64)
        {
            _a.mov(rcx, Host64(target));
        }
        else
        {
            _a.mov(ecx, Host32(target));
        }

        CheckCanonical(miss);
        if (op.Ins.Mnemonic == Mnemonic.Call)
        {
            if (viaMemory)
            {
                _a.mov(__qword_ptr[rbx + GuestState.ScratchOffset], rcx);
            }

            StackSlot(-op.Size, op.Size);
            Probe(op.Size, write: true, miss);
            if (op.Size == 8)
            {
                _a.mov(rdx, op.Next);
                _a.mov(__qword_ptr[r10], rdx);
            }
            else
            {
                _a.mov(__dword_ptr[r10], (uint)op.Next);
            }

            // The probe may have used RCX; the target register is unchanged until RSP moves.
            if (viaMemory)
            {
                _a.mov(rcx, __qword_ptr[rbx + GuestState.ScratchOffset]);
            }
            else if (op.Size == 8 || _ir.Bitness == 64)
            {
                _a.mov(rcx, Host64(target));
            }
            else
            {
                _a.mov(ecx, Host32(target));
            }

            AdjustStack(-op.Size, op.Size);
        }

        ControlSlowPath(miss);
        StoreRegisters();
        IndirectJump();
        return true;
    }

    // Target RIP in RCX; registers stored and flags saved. The jump cache maps it to translated
    // code for the current mode and mappings (see JumpCache); a miss goes back to the dispatcher.
    private void IndirectJump()
    {
        Label miss = _a.CreateLabel();
        JumpCacheLookup(miss);
        Bind(ref miss);
        _a.mov(__qword_ptr[rbx + GuestState.RipOffset], rcx);
        _a.mov(__dword_ptr[rbx + GuestState.ExitSlotOffset], ExitSlotIndirectMiss);
        _a.mov(eax, (int)ExitReason.Continue);
        _a.jmp(_exitStub);
    }

    private void JumpCacheLookup(Label miss) => EmitJumpCacheLookup(_a, miss);

    /// <summary>
    /// Guest RIP in RCX: jumps to its translation when the vCPU's jump cache has it, else to
    /// <paramref name="miss"/>; clobbers RDX. Indirect branches use it.
    /// </summary>
    public static void EmitJumpCacheLookup(Assembler a, Label miss)
    {
        EmitJumpCacheProbe(a, miss);
        a.jmp(__qword_ptr[rdx + 8]);
    }

    /// <summary>
    /// Guest RIP in RCX: leaves RDX at its jump-cache entry (the code address at [RDX+8]) when the
    /// vCPU's jump cache has it, else jumps to <paramref name="miss"/>. The shared chain-lookup stub uses it.
    /// </summary>
    public static void EmitJumpCacheProbe(Assembler a, Label miss)
    {
        Label way0 = a.CreateLabel();
        a.mov(rdx, rcx);
        a.shr(rdx, JumpCache.Shift);
        a.xor(rdx, rcx);
        a.and(edx, JumpCache.Sets - 1);
        a.shl(edx, 5);
        a.add(rdx, __qword_ptr[rbx + GuestState.JumpCacheOffset]);
        a.cmp(rcx, __qword_ptr[rdx]);
        a.je(way0);
        a.cmp(rcx, __qword_ptr[rdx + 16]);
        a.jne(miss);
        a.add(rdx, 16);
        a.Label(ref way0);
        a.zero_bytes();
    }

    private bool Jump(ulong target)
    {
        SaveFlags();
        Transfer(target);
        return true;
    }

    private bool Branch(IrOp op)
    {
        LoadFlags();
        SaveFlags();
        Label taken = _a.CreateLabel();
        ConditionalJumps.Emit(_a, op.Condition, taken);
        Transfer(op.Next);
        Bind(ref taken);
        Transfer(op.Target);
        return true;
    }

    // A direct transfer with the flags saved: to another segment of the unit it stays in host code
    // (counted against the budget as a block entry would be, and checked where it goes backwards,
    // since only there can a loop close); anywhere else it stores the registers and chains.
    private void Transfer(ulong target)
    {
        int s = _ir.SegmentAt(target);
        if (s < 0)
        {
            StoreRegisters();
            Chain(target);
        }
        else if (s <= _segment)
        {
            BackEdge(s);
        }
        else
        {
            _a.sub(__qword_ptr[rbx + GuestState.BudgetOffset], _ir.Segments[s].Count);
            _a.jmp(_segmentLabels[s]);
        }
    }

    // A patchable JMP rel32 (E9 with a zero displacement falls through to what follows it).
    // Until it is patched (same-page targets, by the dispatcher), the branch goes to the shared
    // chain-miss stub with the target in RCX and the slot number in R10D: the stub looks the
    // target up in the jump cache and leaves to the dispatcher on a miss (HostStubs).
    private void Chain(ulong target)
    {
        Label slot = _a.CreateLabel();
        Bind(ref slot);
        _a.db(0xe9, 0, 0, 0, 0);
        if ((long)target == (int)(long)target)
        {
            // Sign-extended imm32 (user code below 2 GiB, a kernel in the top 2 GiB): 7 bytes, not 10.
            _a.mov(rcx, (int)(long)target);
        }
        else if (target <= uint.MaxValue)
        {
            _a.mov(ecx, (uint)target);
        }
        else
        {
            _a.mov(rcx, target);
        }

        _a.mov(r10d, _firstSlot + _slots.Count);
        if ((target ^ _ir.StartRip) >> 12 == 0)
        {
            // Same page: the dispatcher patches the slot the first time the target has a translation.
            Label tail = _a.CreateLabel();
            Bind(ref tail);
            _slots.Add((slot, tail, target));
            _a.AddInstruction(Instruction.CreateBranch(Code.Jmp_rel32_64, _chainExitStub));
        }
        else
        {
            _slots.Add((slot, null, target));
            // Another page (never patched, see TranslationCache.Patch): the jump cache, through an
            // indirect JMP of this site's own, which the host predicts per site.
            _a.call(_chainLookupStub);
            _a.jmp(rax);
        }
    }

    // A branch back to the start of segment `s` (the unit's own start for 0): the loop stays in host
    // registers; it still counts against the budget and sees the unit being dropped. Flags are already saved.
    private void BackEdge(int s)
    {
        Assembler a = _a;
        IrSegment segment = _ir.Segments[s];
        Label spent = a.CreateLabel(), dropped = a.CreateLabel();
        a.sub(__qword_ptr[rbx + GuestState.BudgetOffset], segment.Count);
        a.jle(spent);
        a.cmp(__byte_ptr[_invalidByte], 0);
        a.jne(dropped);
        a.jmp(_segmentLabels[s]);
        Bind(ref spent);
        StoreRegisters();
        ExitAt(segment.Rip, ExitReason.End);
        Bind(ref dropped);
        StoreRegisters();
        ExitAt(segment.Rip, ExitReason.Continue);
    }

    // Binds a label to the next instruction; the empty instruction after it lets two labels meet.
    private void Bind(ref Label label)
    {
        _a.Label(ref label);
        _a.zero_bytes();
    }
}
