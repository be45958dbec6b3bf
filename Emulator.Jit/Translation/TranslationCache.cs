using System.Diagnostics;
using System.Runtime.InteropServices;
using Emulator.Jit.CodeGen;
using Emulator.Jit.CodeGen.X86;
using Emulator.Jit.Decoding;
using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Translation;

/// <summary>
/// A vCPU's translator and code cache: decides which blocks to translate, holds their host code in
/// executable memory with a bound (reset as a whole when full), enters translated code, patches
/// direct branches into chains and keeps the jump cache. Each vCPU has its own, so a reset never
/// pulls code from under another vCPU; the decoded blocks they translate are shared (BlockCache).
/// </summary>
internal sealed unsafe class TranslationCache : IDisposable
{
    /// <summary>
    /// Guest instructions translated code may run before it returns to the dispatcher on its own.
    /// Interrupts and requests do not wait for it (CpuCore.RequestStop zeroes it); it bounds the
    /// rare case where a decrement undoes that zeroing, and how long background translations and
    /// unlink requests wait. At 8,192 a boot to /init returned about 600,000 times for it alone.
    /// </summary>
    public const long Budget = 65536;

    private readonly CpuCore _cpu;
    private readonly ExecutableMemory _memory;
    private readonly long _stubBytes;
    private readonly nint _enter;
    private readonly HostStubs _stubs;
    private readonly List<Translation> _translations = [];
    private readonly List<(Translation From, int Slot)> _slots = [];
    private (Translation From, int Slot)? _pendingChain;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Translation> _unlink = new();

    // Held while code is compiled into _memory and while the cache is reset, which a background
    // worker and the vCPU may do at once. _nextSlot numbers chain slots as they are compiled;
    // _epoch counts resets, so a result compiled before one is thrown away.
    private readonly object _compileLock = new();

    // The emitter's reusable buffers and the successors' reader; used under _compileLock only.
    private readonly CodeGen.X86.EmitterScratch _scratch = new();
    private readonly SuccessorFlags _successors;
    private int _nextSlot;
    private int _epoch;
    private readonly RegionMode _regions;

    // With a worker: the blocks this vCPU asked for and has not had back (vCPU thread only).
    private readonly TranslationWorker? _worker;
    private readonly HashSet<Block> _requested = [];

    /// <param name="cpu">The vCPU whose code this cache holds.</param>
    /// <param name="capacity">Bytes of host code before the cache is reset.</param>
    /// <param name="threshold">Executions of a block before it is translated.</param>
    /// <param name="background">Translate on a worker thread (the vCPU interprets a block until its translation is installed).</param>
    /// <param name="impatience">With a worker: executions after which the vCPU translates a block still waiting (0: EMU_JIT_IMPATIENCE's value).</param>
    /// <param name="regions">Which units grow into regions (<see cref="Regions"/>; null: as EMU_JIT_REGIONS says, loops by default).</param>
    /// <param name="workerDelayMs">With a worker: milliseconds it waits before each compile (tests of a slow worker).</param>
    /// <param name="loadSites">Loads check their own site's entry first (Memory/SoftTlb.Sites; null: EMU_JIT_SITES).</param>
    public TranslationCache(CpuCore cpu, long capacity, int threshold, bool background = false, int impatience = 0, RegionMode? regions = null, int workerDelayMs = 0, bool? loadSites = null)
    {
        _scratch.LoadSites = loadSites ?? TranslatorSettings.LoadSites;
        cpu.SupervisorTlb.Sites = cpu.UserTlb.Sites = _scratch.LoadSites;
        _regions = regions ?? Regions.Default;
        Impatience = impatience > 0 ? impatience : TranslatorSettings.Impatience;
        _cpu = cpu;
        _successors = new SuccessorFlags(cpu.Memory, cpu.Code);
        Threshold = threshold;
        _memory = new ExecutableMemory(capacity);
        (_enter, _stubs) = EmitStubs();
        _memory.Align();
        _stubBytes = _memory.Used;
        Jumps = _supervisorJumps;
        cpu.State->JumpCache = Jumps.Base;
        if (background)
        {
            _worker = new TranslationWorker($"emu-jit{cpu.Index}", block =>
            {
                lock (_compileLock)
                {
                    _worker!.Deliver(Compile(block));
                }
            }, workerDelayMs);
        }
    }

    /// <summary>Executions of a block before it is translated.</summary>
    public int Threshold { get; }

    /// <summary>With a worker: executions of a block still waiting for it after which the vCPU translates it itself.</summary>
    public int Impatience { get; }

    /// <summary>The jump cache of the current mode (see <see cref="SelectJumps"/>).</summary>
    public JumpCache Jumps { get; private set; }

    // One jump cache for user mode and one for the kernel, so that a system call, an interrupt and
    // their return switch tables instead of clearing one: a syscall-heavy guest (a network stack
    // copying through read and write) otherwise starts every return to user mode, and every entry
    // into the kernel, with no indirect branch target known.
    private readonly JumpCache _supervisorJumps = new(), _userJumps = new();

    /// <summary>
    /// After a mode or CS change: the jump cache for <paramref name="mode"/>'s privilege class
    /// becomes current, cleared first if its entries were made in another mode.
    /// </summary>
    public void SelectJumps(JumpCache.ModeKey mode)
    {
        JumpCache j = mode.Cpl == 3 ? _userJumps : _supervisorJumps;
        if (j.Mode != mode)
        {
            j.Clear();
            j.Mode = mode;
        }

        Jumps = j;
        _cpu.State->JumpCache = j.Base;
    }

    /// <summary>
    /// A CR3 load, which keeps the TLB's global entries (Intel SDM Vol. 3A 4.10.4.1): the user
    /// jump cache forgets everything, the kernel's only if it holds code from a non-global page. A
    /// kernel whose text is global (Linux's is) so keeps its indirect branch targets across context
    /// switches, which a pipe between two processes makes frequent.
    /// </summary>
    public void ForgetNonGlobalJumps()
    {
        _userJumps.Clear();
        if (_supervisorJumps.HasNonGlobal)
        {
            _supervisorJumps.Clear();
        }
    }

    /// <summary>INVLPG: both jump caches drop what the page of <paramref name="linear"/> may have mapped.</summary>
    public void ForgetJumpsAround(ulong linear)
    {
        _supervisorJumps.DropAround(linear);
        _userJumps.DropAround(linear);
    }

    /// <summary>Mappings may have changed (TLB flush, A20, code cache reset): both jump caches forget everything.</summary>
    public void ForgetJumps()
    {
        _supervisorJumps.Clear();
        _userJumps.Clear();
    }

    public TranslationStatistics Statistics { get; } = new();

    /// <summary>What the dispatcher does after <see cref="TryRun"/>.</summary>
    public enum Outcome
    {
        /// <summary>Not run: interpret the block.</summary>
        Interpret,

        /// <summary>Translated code ran; look up the block at RIP next.</summary>
        Continue,

        /// <summary>Translated code ran; return to the vCPU loop.</summary>
        Stop,
    }

    /// <summary>Runs <paramref name="block"/> (just fetched at CS:RIP) as translated code if it is, or has become, worth it.</summary>
    public Outcome TryRun(Block block)
    {
        while (_unlink.TryDequeue(out Translation? dropped))
        {
            UnlinkNow(dropped);
        }

        if (_worker is { HasResults: true })
        {
            InstallFinished();
        }

        Translation? t = block.TranslationFor(_cpu.Index);
        if (t is null)
        {
            _pendingChain = null;
            if (block.Untranslatable || ++block.Executions < Threshold)
            {
                if (TranslatorSettings.Profile)
                {
                    Statistics.CountReason(block.Untranslatable ? (block.FirstPage != block.LastPage ? "cross-page" : block.Bitness == 16 ? "16-bit" : "untranslatable") : "cold");
                }

                return Outcome.Interpret;
            }

            if (_worker is not null)
            {
                if (_requested.Add(block))
                {
                    _worker.Request(block);
                    return Outcome.Interpret;
                }

                // Still waiting behind the worker's other requests after this many runs: hot enough
                // to stop for (the worker's copy, when it comes, is not installed).
                if (block.Executions < Impatience)
                {
                    return Outcome.Interpret;
                }

                Statistics.TranslatedWhileWaiting++;
            }

            t = Translate(block);
            if (t is null)
            {
                return Outcome.Interpret;
            }
        }

        GuestState* state = _cpu.State;
        // Computed whatever this block needs: chained blocks check it too.
        int nonFlat = NonFlatSegments();
        if ((t.FlatSegments & nonFlat) != 0)
        {
            if (TranslatorSettings.Profile)
            {
                Statistics.CountReason("segments not flat");
            }

            _pendingChain = null;
            return Outcome.Interpret;
        }

        if (_pendingChain is { } chain)
        {
            _pendingChain = null;
            Patch(chain.From, chain.Slot, t);
        }

        state->NonFlatSegments = nonFlat;
        _cpu.Flags.ToHostForm();
        // A block that runs onto a second page is valid while that page maps where it did. FetchBlock
        // just checked it, and the jump cache is cleared whenever a mapping may change (every TLB
        // flush and INVLPG), as for the first page: until then the stale mapping is one a TLB may
        // hold (Intel SDM Vol. 3A 4.10.4.3). Patched chains, which outlive a flush, never target it.
        Jumps.Insert(block.Rip, t.Entry, _cpu.Cpl != 3 && _cpu.FetchesFromGlobalPages(block));
        // The budget is granted with a full fence, then the stop request is read: a RequestStop on
        // another thread either zeroes the budget after this grant or is seen here (its flag is set
        // before its exchange).
        Interlocked.Exchange(ref state->Budget, Budget);
        if (_cpu.StopRequested)
        {
            RevokeBudget(state);
            _pendingChain = null;
            return Outcome.Stop;
        }

        Statistics.Entries++;
        int exit = ((delegate* unmanaged<GuestState*, nint, int>)_enter)(state, t.Entry);
        _cpu.InstructionsRetired += RevokeBudget(state);
        _cpu.RethrowFromTranslatedCode();
        if (TranslatorSettings.ProfileSites)
        {
            Statistics.CountExit((ExitReason)exit, _cpu.Rip, exit == (int)ExitReason.Continue ? state->ExitSlot : 0);
            if (exit == (int)ExitReason.Continue)
            {
                state->ExitSlot = 0;
            }
        }

        switch ((ExitReason)exit)
        {
            case ExitReason.Continue:
                return Outcome.Continue;
            case ExitReason.Chain:
                _pendingChain = state->ExitSlot < _slots.Count ? _slots[state->ExitSlot] : null;
                return Outcome.Continue;
            case ExitReason.Interpret:
                _cpu.InterpretNext = true;
                return Outcome.Continue;
            default:
                return Outcome.Stop;
        }
    }

    // Outside translated code the budget is zero, so that a RequestStop there forfeits nothing.
    // Returns the instructions run since the grant.
    private static long RevokeBudget(GuestState* state)
    {
        long left = Interlocked.Exchange(ref state->Budget, 0);
        long forfeited = Interlocked.Exchange(ref state->Forfeited, 0);
        return Math.Max(Budget - Math.Max(left, 0) - forfeited, 0);
    }

    // A direct branch to the same linear page, whose mapping cannot change without the code leaving
    // (CR3 loads end the block, and so does an INVLPG within the 1 GiB around it), becomes a plain JMP into the target's code. One that can
    // never be (the target block runs onto a second page, or CS moved) has its unpatched path sent
    // to the jump cache instead of the dispatcher.
    private void Patch(Translation from, int slot, Translation to)
    {
        ref ChainSlot s = ref from.Slots[slot];
        if (from.Dead || to.Dead || s.Patched || s.Target != to.Block.Rip)
        {
            return;
        }

        if ((from.Block.Rip ^ to.Block.Rip) >> 12 != 0 || from.Block.CsBase != to.Block.CsBase
            || to.Block.FirstPage != to.Block.LastPage)
        {
            if (s.Tail != 0 && !s.Redirected)
            {
                *(int*)(s.Tail + 1) = checked((int)((long)_stubs.ChainLookupJump - (s.Tail + 5)));
                s.Redirected = true;
            }

            return;
        }

        long rel = to.Entry - (s.Jump + 5);
        *(int*)(s.Jump + 1) = checked((int)rel);
        s.Patched = true;
        to.Incoming.Add((from, slot));
        Statistics.ChainsPatched++;
    }

    /// <summary>Asks for the chains into a dropped translation to be unlinked (any thread; done by the owner's dispatcher).</summary>
    public void Unlink(Translation dropped) => _unlink.Enqueue(dropped);

    // On the owner's thread, outside translated code: each chain into `dropped` jumps to its own
    // jump-cache lookup again (a zero displacement), which finds the block's next translation.
    private void UnlinkNow(Translation dropped)
    {
        foreach ((Translation from, int slot) in dropped.Incoming)
        {
            ref ChainSlot s = ref from.Slots[slot];
            if (!from.Dead && s.Patched)
            {
                *(int*)(s.Jump + 1) = 0;
                s.Patched = false;
            }
        }

        dropped.Incoming.Clear();
    }

    private static ulong InterpretHelper => (ulong)(delegate* unmanaged<GuestState*, DecodedOp*, int>)&TranslatedCodeHelpers.Interpret;

    /// <summary>
    /// One block's code, compiled at its final address in the code cache (or why not): made under
    /// the compile lock, installed by the vCPU's thread.
    /// </summary>
    internal sealed record Compiled(Block Block, int Epoch, int FirstSlot, IrBlock? Ir, X86Emitter.Result? Code, nint At, bool Full, long Ticks);

    // Caller holds _compileLock. Full: the code does not fit until the cache is reset.
    private Compiled Compile(Block block)
    {
        long start = Stopwatch.GetTimestamp();
        IrBlock? ir = IrBuilder.Build(block, _successors, _regions != RegionMode.Off ? _cpu.Code : null, Threshold, _regions == RegionMode.Loops);
        if (ir is null)
        {
            return new Compiled(block, _epoch, 0, null, null, 0, false, Stopwatch.GetTimestamp() - start);
        }

        _memory.Align();
        X86Emitter.Result? code = X86Emitter.Compile(ir, _memory.Next, _stubs, _nextSlot, _scratch);
        if (code is not null && code.Length > _memory.Capacity - _memory.Used)
        {
            // Full, unless the cache is empty already: then the block can never fit.
            bool empty = _memory.Used == _stubBytes;
            return new Compiled(block, _epoch, 0, ir, empty ? null : code, 0, !empty, Stopwatch.GetTimestamp() - start);
        }

        if (code is null || !_memory.TryAppend(_scratch.Encoder.Output, out nint at))
        {
            return new Compiled(block, _epoch, 0, ir, null, 0, false, Stopwatch.GetTimestamp() - start);
        }

        int first = _nextSlot;
        _nextSlot += code.Slots.Length;
        return new Compiled(block, _epoch, first, ir, code, at, false, Stopwatch.GetTimestamp() - start);
    }

    private Translation? Translate(Block block)
    {
        lock (_compileLock)
        {
            // What the worker finished numbered its chain slots before this block's: install it
            // first, and this block's code before the lock is let go, so that nothing arrives in between.
            if (_worker is not null)
            {
                InstallFinished();
            }

            Compiled c = Compile(block);
            if (c.Full)
            {
                // Full: drop every translation of this vCPU and start again (the dispatcher runs no translated code now).
                Flush();
                c = Compile(block);
            }

            return Install(c);
        }
    }

    // The worker's results, in the order it compiled them (chain slots are numbered in that order).
    private void InstallFinished()
    {
        while (_worker!.TryTake(out Compiled c))
        {
            _requested.Remove(c.Block);
            if (c.Full)
            {
                if (c.Epoch == _epoch)
                {
                    Flush();
                }

                continue;
            }

            Install(c);
        }
    }

    private Translation? Install(Compiled c)
    {
        Block block = c.Block;
        if (c.Code is not { } code || c.Full || c.Ir is not { } ir)
        {
            block.Untranslatable = !c.Full;
            return null;
        }

        if (c.Epoch != _epoch)
        {
            return null; // compiled into a cache that has since been reset
        }

        Debug.Assert(c.FirstSlot == _slots.Count, "chain slots installed out of order");
        // The vCPU translated the block itself while the worker had it: this copy only takes up its
        // chain slots' numbers (it is never entered, so they are never used).
        bool duplicate = block.TranslationFor(_cpu.Index) is not null;
        nint at = c.At;
        var t = new Translation(block, this)
        {
            Entry = at + code.EntryOffset,
            Invalid = (byte*)(at + code.InvalidOffset),
            FlatSegments = ir.FlatSegments,
            GuestInstructions = ir.Ops.Count,
            Members = ir.Members.Count > 0 ? ir.Members : null,
        };
        t.Slots = new ChainSlot[code.Slots.Length];
        for (int i = 0; i < code.Slots.Length; i++)
        {
            (int offset, int tail, ulong target) = code.Slots[i];
            t.Slots[i] = new ChainSlot { Jump = at + offset, Tail = tail < 0 ? 0 : at + tail, Target = target };
        }

        // Chain exits name a slot by its index in this cache's list (Compile numbered them so).
        for (int i = 0; i < t.Slots.Length; i++)
        {
            _slots.Add((t, i));
        }

        _translations.Add(t);
        if (TranslatorSettings.DumpFile is { } dump)
        {
            Dump(dump, at, code, block);
        }

        if (duplicate)
        {
            Statistics.Duplicates++;
            return null;
        }

        block.Publish(_cpu.Index, t, _cpu.Code.SyncRoot);
        Statistics.Blocks++;
        Statistics.GuestInstructions += ir.Ops.Count;
        Statistics.RegionMembers += ir.Members.Count;
        Statistics.NativeInstructions += ir.Ops.Count(o => o.Kind != IrKind.Interpret);
        foreach (IrOp o in ir.Ops)
        {
            if (o.ForUndefinedFlags)
            {
                Statistics.CountUndefinedFlags(o);
            }
            else if (o.Fixup != UndefinedFlagFixup.None)
            {
                Statistics.UndefinedFlagsFixed++;
            }
        }

        Statistics.HostBytes += code.Length;
        Statistics.TranslateTicks += c.Ticks;
        return t;
    }

    // EMU_JIT_DUMP: one record per translation, read by scripts/jit-dump.py.
    private static void Dump(string file, nint at, X86Emitter.Result code, Block block)
    {
        var text = new System.Text.StringBuilder();
        text.Append($"block host={at:x} entry={at + code.EntryOffset:x} len={code.Length} guest={block.Rip:x}\n");
        foreach (DecodedOp op in block.Ops)
        {
            text.Append($"  {op.Ins.IP:x}: {op.Ins}\n");
        }

        // SAFETY: the code was copied to [at, at + Length) in this cache's executable memory, which
        // lives as long as the cache; a reset only reuses it after the translations are dropped.
        text.Append("  bytes ").Append(Convert.ToHexString(new ReadOnlySpan<byte>((void*)at, code.Length))).Append('\n');
        File.AppendAllText(file, text.ToString());
    }

    /// <summary>Drops every translation (code cache full, or asked): their code is unreachable from now on.</summary>
    public void Flush()
    {
        lock (_compileLock)
        {
            lock (_cpu.Code.SyncRoot)
            {
                foreach (Translation t in _translations)
                {
                    t.Dead = true;
                    t.Block.Unpublish(_cpu.Index, t);
                }
            }

            _translations.Clear();
            _slots.Clear();
            _pendingChain = null;
            _unlink.Clear();
            ForgetJumps();
            _memory.Reset(_stubBytes);
            _nextSlot = 0;
            _epoch++;
            Statistics.Flushes++;
        }
    }

    /// <summary>
    /// After a helper called from translated code loaded a segment register: records which segments
    /// are not flat now (blocks entered from here on check it in their prologue) and returns true
    /// when one became so, since the running block was entered assuming it flat and must stop.
    /// </summary>
    public bool SegmentsBecameNonFlat()
    {
        int before = _cpu.State->NonFlatSegments;
        int now = NonFlatSegments();
        _cpu.State->NonFlatSegments = now;
        return (now & ~before) != 0;
    }

    /// <summary>Bit per segment register that translated code may not treat as flat (base 0, 4 GiB, writable expand-up data; SS also 32-bit).</summary>
    private int NonFlatSegments()
    {
        int mask = (_cpu.Cr0 & (CpuCore.Cr0EM | CpuCore.Cr0TS)) != 0 || (_cpu.Cr4 & CpuCore.Cr4OsFxsr) == 0 ? IrBuilder.SseUnavailable : 0;
        if ((_cpu.Cr0 & CpuCore.Cr0TS) != 0 || (_cpu.Cr4 & CpuCore.Cr4OsXsave) == 0
            || (_cpu.Xcr0 & (Core.Cpu.XsaveLayout.Sse | Core.Cpu.XsaveLayout.Avx)) != (Core.Cpu.XsaveLayout.Sse | Core.Cpu.XsaveLayout.Avx))
        {
            mask |= IrBuilder.AvxUnavailable;
        }

        if (_cpu.Bitness == 64)
        {
            return mask; // 64-bit blocks address through FS and GS bases only (IrBuilder), never limits.
        }

        for (int s = 0; s < 6; s++)
        {
            ref Core.Cpu.SegmentRegister r = ref _cpu.Seg[s];
            bool flat = r.Base == 0 && r.Limit == 0xffff_ffff && (s == (int)Core.Cpu.Seg.Cs
                ? (r.Attributes & 0x10000) == 0
                : (r.Attributes & 0x1008e) == 0x82 && (s != (int)Core.Cpu.Seg.Ss || r.DefaultBig));
            if (!flat)
            {
                mask |= 1 << s;
            }
        }

        return mask;
    }

    // The entry stub (called by the dispatcher with the state and the code address), the exit
    // stub every block leaves through with its ExitReason in EAX, and the three chain stubs an
    // unpatched chain exit goes to (target RIP in RCX, slot number in R10D; see HostStubs), the
    // store probe's code-page check (ProbeStubs) and the load sites' miss (SiteStubs).
    private (nint Enter, HostStubs Stubs) EmitStubs()
    {
        var a = new Assembler(64);
        Label exit = a.CreateLabel(), chainExit = a.CreateLabel(), chainLookup = a.CreateLabel(), chainLookupJump = a.CreateLabel(), noEntry = a.CreateLabel();
        foreach (Register r in HostAbi.CalleeSaved)
        {
            a.push(new AssemblerRegister64(r));
        }

        a.sub(rsp, HostAbi.FrameBytes);
        a.mov(rbx, new AssemblerRegister64(HostAbi.Arg0));
        a.jmp(new AssemblerRegister64(HostAbi.Arg1));
        a.Label(ref exit);
        a.add(rsp, HostAbi.FrameBytes);
        foreach (Register r in HostAbi.CalleeSaved.Reverse())
        {
            a.pop(new AssemblerRegister64(r));
        }

        a.ret();

        // Jumped to from a same-page chain site that can never be patched: the jump cache, else the dispatcher.
        a.Label(ref chainLookupJump);
        X86Emitter.EmitJumpCacheLookup(a, chainExit);

        // Called from a chain site: the target's code in RAX, back to the site's JMP RAX.
        a.Label(ref chainLookup);
        X86Emitter.EmitJumpCacheProbe(a, noEntry);
        a.mov(rax, __qword_ptr[rdx + 8]);
        a.ret();
        a.Label(ref noEntry);
        a.lea(rsp, __[rsp + 8]); // the site's return address: the exit stub expects the block's frame
        a.Label(ref chainExit);
        a.mov(__dword_ptr[rbx + GuestState.ExitSlotOffset], r10d);
        a.mov(__qword_ptr[rbx + GuestState.RipOffset], rcx);
        a.mov(eax, (int)ExitReason.Chain);
        a.jmp(exit);

        Label[] codePageStore = ProbeStubs.Emit(a);
        Label[] siteMiss = SiteStubs.Emit(a);

        var bytes = new StubWriter();
        ulong at = _memory.Next;
        AssemblerResult result = a.Assemble(bytes, at, BlockEncoderOptions.ReturnNewInstructionOffsets);
        if (!_memory.TryAppend(bytes.ToArray(), out nint start))
        {
            throw new InvalidOperationException("no room for the translator's stubs");
        }

        // Per access size (ProbeStubs.BySize): element 0 is never bound.
        ulong[] Addresses(Label[] bySize) => bySize.Select(l => l.IsEmpty ? 0 : result.GetLabelRIP(l)).ToArray();
        return (start, new HostStubs(result.GetLabelRIP(exit), result.GetLabelRIP(chainExit), result.GetLabelRIP(chainLookup), result.GetLabelRIP(chainLookupJump), InterpretHelper, Addresses(codePageStore), Addresses(siteMiss)));
    }

    public void Dispose()
    {
        _worker?.Dispose();
        _memory.Dispose();
    }

    private sealed class StubWriter : CodeWriter
    {
        private readonly List<byte> _bytes = [];

        public override void WriteByte(byte value) => _bytes.Add(value);

        public byte[] ToArray() => [.. _bytes];
    }
}

/// <summary>Helpers translated code calls (through unmanaged function pointers).</summary>
internal static unsafe class TranslatedCodeHelpers
{
    /// <summary>Runs one instruction with the interpreter's handler; 0 to continue in translated code, else an <see cref="ExitReason"/>.</summary>
    [UnmanagedCallersOnly]
    public static int Interpret(GuestState* state, DecodedOp* op)
    {
        var cpu = (CpuCore)GCHandle.FromIntPtr(state->Core).Target!;
        int exit = cpu.InterpretFromTranslatedCode(op);
        // The instruction may have changed what a page group's addend stands for (an MMIO store
        // remapping RAM): the block's later loads probe again (CodeGen/X86/PageGroups).
        new Span<ulong>(state->PageAddends, CodeGen.X86.PageGroups.Slots).Clear();
        return exit;
    }
}

/// <summary>What the translator has done, for EMU_JIT_STATS.</summary>
internal sealed class TranslationStatistics
{
    public long Blocks;
    public long GuestInstructions;

    /// <summary>Blocks translated as segments of other blocks' regions (Translation/Regions).</summary>
    public long RegionMembers;
    public long NativeInstructions;
    public long HostBytes;
    public long TranslateTicks;

    /// <summary>Worker translations not installed because the vCPU had translated the block itself meanwhile.</summary>
    public long Duplicates;

    /// <summary>Blocks the vCPU translated itself while they waited for the worker (EMU_JIT_IMPATIENCE).</summary>
    public long TranslatedWhileWaiting;
    public long ChainsPatched;
    public long Entries;
    public long Flushes;
    public long InterpretedBlocks;
    public long Exits;
    private readonly Dictionary<Iced.Intel.Mnemonic, long> _helpers = [];
    private readonly Dictionary<Iced.Intel.Mnemonic, long> _interpreted = [];

    private readonly Dictionary<string, long> _reasons = [];

    public void CountReason(string why) => _reasons[why] = _reasons.GetValueOrDefault(why) + 1;

    /// <summary>Counts a call of the interpreter's handler from translated code (EMU_JIT_STATS=2).</summary>
    public unsafe void CountHelper(DecodedOp* op)
    {
        _helpers[op->Ins.Mnemonic] = _helpers.GetValueOrDefault(op->Ins.Mnemonic) + 1;
        HelperCalls++;
        if (_undefinedFlagsOps.Contains((nint)op))
        {
            UndefinedFlagsCalls++;
        }
    }

    /// <summary>Calls of the interpreter's handler from translated code, and those for undefined flags (FlagLiveness), with EMU_JIT_STATS=2.</summary>
    public long HelperCalls, UndefinedFlagsCalls;

    private readonly Dictionary<ulong, (long Count, string Text)> _helperSites = [];

    private readonly Dictionary<(string, ulong), long> _exits = [];

    /// <summary>Counts a return to the dispatcher by its reason (and the path a Continue took) and the RIP it left at.</summary>
    public void CountExit(ExitReason why, ulong rip, int path)
    {
        string name = path switch
        {
            X86Emitter.ExitSlotDropped => "Continue(dropped)",
            X86Emitter.ExitSlotControlSlowPath => "Continue(control slow path)",
            X86Emitter.ExitSlotIndirectMiss => "Continue(jump cache miss)",
            _ => why.ToString(),
        };
        _exits[(name, rip)] = _exits.GetValueOrDefault((name, rip)) + 1;
    }

    /// <summary>Counts a helper call at one instruction (EMU_JIT_STATS=3: the busiest sites are listed).</summary>
    public void CountHelperSite(in Iced.Intel.Instruction ins)
    {
        ref (long Count, string Text) site = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_helperSites, ins.IP, out bool exists);
        if (!exists)
        {
            site.Text = ins.ToString();
        }

        site.Count++;
    }

    public void CountInterpreted(Iced.Intel.Mnemonic m) => _interpreted[m] = _interpreted.GetValueOrDefault(m) + 1;

    private readonly Dictionary<Iced.Intel.Mnemonic, long> _undefinedFlags = [];

    /// <summary>Instructions translated as interpreter calls because their undefined flags may be read (FlagLiveness).</summary>
    public long UndefinedFlagsInterpreted;

    /// <summary>Translated host instructions whose undefined flags are given the interpreter's values by host code after them.</summary>
    public long UndefinedFlagsFixed;

    // The ops translated so, by address (ops never move), to count their calls.
    private readonly HashSet<nint> _undefinedFlagsOps = [];

    public unsafe void CountUndefinedFlags(in IrOp op)
    {
        UndefinedFlagsInterpreted++;
        _undefinedFlags[op.Ins.Mnemonic] = _undefinedFlags.GetValueOrDefault(op.Ins.Mnemonic) + 1;
        if (TranslatorSettings.Profile)
        {
            _undefinedFlagsOps.Add((nint)op.Op);
        }
    }

    /// <summary>The most frequent instructions the interpreter ran, from translated code and outside it.</summary>
    public string Profile() =>
        "helpers: " + string.Join(", ", _helpers.OrderByDescending(p => p.Value).Take(25).Select(p => $"{p.Key} {p.Value}"))
        + "\nwhy interpreted: " + string.Join(", ", _reasons.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))
        + (_helperSites.Count == 0 ? string.Empty : "\nbusiest helper sites: " + string.Join("\n  ", _helperSites.OrderByDescending(p => p.Value.Count).Take(60).Select(p => $"{p.Key:x} {p.Value.Text}: {p.Value.Count}")))
        + (_exits.Count == 0 ? string.Empty : "\nexits by reason: " + string.Join(", ", _exits.GroupBy(p => p.Key.Item1).Select(g => $"{g.Key} {g.Sum(p => p.Value)}"))
            + "\nbusiest exits: " + string.Join("\n  ", _exits.OrderByDescending(p => p.Value).Take(40).Select(p => $"{p.Key.Item1} at {p.Key.Item2:x}: {p.Value}")))
        + $"\n{HelperCalls} helper calls, {UndefinedFlagsCalls} of them for undefined flags; translated as such: " + string.Join(", ", _undefinedFlags.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))
        + $"\ninterpreted blocks {InterpretedBlocks}, exits {Exits}; interpreted instructions: " + string.Join(", ", _interpreted.OrderByDescending(p => p.Value).Take(25).Select(p => $"{p.Key} {p.Value}"));

    public override string ToString() =>
        $"{Blocks} blocks, {GuestInstructions} guest instructions ({NativeInstructions} native, {UndefinedFlagsInterpreted} interpreted for their undefined flags, {UndefinedFlagsFixed} with them fixed in host code), {HostBytes / 1024} KiB host code, "
        + $"{TranslateTicks * 1000.0 / Stopwatch.Frequency:0.0} ms translating ({(GuestInstructions == 0 ? 0 : TranslateTicks * 1e6 / Stopwatch.Frequency / GuestInstructions):0.00} us per guest instruction), "
        + $"({X86Emitter.AssembleTicks * 1000.0 / Stopwatch.Frequency:0.0} ms of it encoding), {ChainsPatched} chains patched, {RegionMembers} region members, {Entries} entries from the dispatcher, {Flushes} cache resets, {TranslatedWhileWaiting} translated by the vCPU while the worker had them, {Duplicates} worker translations superseded; "
        + $"process GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen0/1/2), {GC.GetTotalPauseDuration().TotalMilliseconds:0} ms paused, {GC.GetTotalAllocatedBytes() >> 20} MiB allocated";
}
