using Emulator.Jit.Decoding;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>Finds or decodes the block that starts at CS:RIP.</summary>
internal sealed partial class CpuCore
{
    private const int MaxBlockInstructions = 64;
    private const int RecentBlockSlots = 16384;

    // A direct-mapped table of the blocks this vCPU ran last, by physical address, in front of the
    // shared cache: a hit costs no lock and no dictionary lookup. Blocks dropped from the shared
    // cache (overwritten code) are marked and ignored here. As large as the jump cache (JumpCache.Entries):
    // with 4,096 slots, 2,140 of an HTTP request's 2,760 returns to the dispatcher missed it.
    private readonly Block?[] _recentBlocks = new Block?[RecentBlockSlots];

    // Where this vCPU's decoded blocks keep their ops (pinned, sliced from large arrays).
    private readonly DecodedOpArena _decodedOps = new();

    /// <summary>Block fetches the recent-block table missed (looked up in the shared cache), and blocks decoded (EMU_JIT_STATS).</summary>
    public long RecentBlockMisses, BlocksDecoded;

    /// <summary>
    /// The block at CS:RIP. Blocks are cached by the physical address of their first byte, so a
    /// lookup first translates CS:RIP with execute rights (the fetch TLB; a miss walks the page
    /// tables and may raise #PF). A block whose last instruction runs onto the next linear page
    /// also depends on that page's mapping, which can change without any write to the block's
    /// bytes (a new PTE, a CR3 load); such a block re-translates its second page on every lookup
    /// and is decoded again when it maps elsewhere. Blocks within one page need no check: their
    /// bytes are reached only through the translation just made.
    /// </summary>
    public Block FetchBlock()
    {
        ulong csBase = Seg[(int)Core.Cpu.Seg.Cs].Base;
        ulong linear;
        if (Bitness == 64)
        {
            linear = Rip;
            if (!IsCanonical(linear))
            {
                // Near branches check their targets (ControlFlow); what reaches a non-canonical
                // RIP otherwise (running off the canonical end) faults here.
                throw new GuestFault(Vectors.GP, 0);
            }
        }
        else
        {
            linear = (csBase + Rip) & 0xffff_ffff;
        }

        ulong physical = TranslateFetch(linear);
        int slot = (int)(physical ^ (physical >> 12)) & (RecentBlockSlots - 1);
        Block? block = _recentBlocks[slot];
        if (block is null || block.Physical != physical || block.Dropped || !block.Matches(Rip, csBase, Bitness))
        {
            RecentBlockMisses++;
            block = Code.Lookup(physical);
            if (block is null || !block.Matches(Rip, csBase, Bitness))
            {
                BlocksDecoded++;
                block = Decode(linear, physical, csBase);
                Code.Add(block);
            }

            _recentBlocks[slot] = block;
        }

        // A block decoded under a larger CS limit (same base) may run past this one's: decode again,
        // which stops before the first instruction outside the limit.
        if ((block.FirstPage != block.LastPage && TranslateFetch(WrapLinear((linear | SoftTlb.PageMask) + 1)) >> SoftTlb.PageShift != block.LastPage)
            || (Bitness != 64 && Rip + (ulong)block.ByteLength - 1 > Seg[(int)Core.Cpu.Seg.Cs].Limit))
        {
            block = Decode(linear, physical, csBase);
            Code.Add(block);
            _recentBlocks[slot] = block;
        }

        return block;
    }

    private Block Decode(ulong linear, ulong physical, ulong csBase)
    {
        // Every byte of an instruction must lie within CS's limit, checked before the byte is
        // fetched (segmentation comes before paging): running past the limit is #GP(0) at the
        // instruction that crosses it (Intel SDM Vol. 3A 5.3, 6.15 "Interrupt 13": "exceeding the
        // segment limit when ... fetching an instruction"). 64-bit mode has no limit.
        ulong fetchable = Bitness == 64 ? ulong.MaxValue
            : Rip > Seg[(int)Core.Cpu.Seg.Cs].Limit ? 0 : Seg[(int)Core.Cpu.Seg.Cs].Limit - Rip + 1;
        GuestCodeReader reader = _codeReader ??= new GuestCodeReader(this);
        reader.Reset(linear, fetchable);
        Decoder decoder = DecoderFor(reader);
        decoder.IP = Rip;
        List<Instruction> list = _decodedScratch;
        list.Clear();
        ulong lastPhysicalPage = physical >> SoftTlb.PageShift;
        while (list.Count < MaxBlockInstructions)
        {
            int before = reader.Consumed;
            Instruction ins;
            try
            {
                decoder.Decode(out ins);
            }
            catch (GuestFault) when (list.Count > 0)
            {
                // The next instruction's bytes are not fetchable yet: end the block before it, so the
                // fault is raised when (and if) execution reaches it.
                break;
            }

            if (reader.Consumed - before != ins.Length && !ins.IsInvalid)
            {
                break;
            }

            if (ins.IsInvalid && list.Count > 0)
            {
                break;
            }

            list.Add(ins);
            ulong endLinear = linear + (ulong)reader.Consumed - 1;
            ulong endPage = TranslateFetch(WrapLinear(endLinear)) >> SoftTlb.PageShift;
            if (endPage != lastPhysicalPage)
            {
                lastPhysicalPage = endPage;
                break;
            }

            if (ins.FlowControl != FlowControl.Next || ins.IsInvalid || ((endLinear + 1) & SoftTlb.PageMask) == 0)
            {
                break;
            }
        }

        return new Block(physical, Rip, csBase, Bitness, list, physical >> SoftTlb.PageShift, lastPhysicalPage, _decodedOps);
    }

    // One reader and one Iced decoder per bitness, reused for every block this vCPU decodes (made
    // per block, they were 20 MiB of garbage on a boot to /init), and the list the block is collected in.
    private GuestCodeReader? _codeReader;
    private readonly Decoder?[] _decoders = new Decoder?[3];
    private readonly List<Instruction> _decodedScratch = new(MaxBlockInstructions);

    private Decoder DecoderFor(GuestCodeReader reader)
    {
        int i = Bitness switch { 16 => 0, 32 => 1, _ => 2 };
        return _decoders[i] ??= Decoder.Create(Bitness, reader, DecoderOptions.None);
    }

    /// <summary>
    /// Feeds Iced with guest bytes fetched through the CPU's own memory path. The fetch
    /// translation and the memory region are looked up once per page: while the bytes come from
    /// one page of RAM or ROM they are read from its host mapping directly.
    /// </summary>
    private sealed unsafe class GuestCodeReader(CpuCore cpu) : CodeReader
    {
        private ulong _start, _fetchable, _pageLinear;
        private byte* _page;

        public int Consumed { get; private set; }

        public void Reset(ulong start, ulong fetchable)
        {
            _start = start;
            _fetchable = fetchable;
            _page = null;
            Consumed = 0;
        }

        public override int ReadByte()
        {
            if ((ulong)Consumed >= _fetchable)
            {
                throw new GuestFault(Vectors.GP, 0);
            }

            ulong linear = cpu.Bitness == 64 ? _start + (ulong)Consumed : (_start + (ulong)Consumed) & 0xffff_ffff;
            if (_page == null || (linear & ~SoftTlb.PageMask) != _pageLinear)
            {
                _page = cpu.FetchPage(linear);
                _pageLinear = linear & ~SoftTlb.PageMask;
                if (_page == null)
                {
                    byte b = cpu.FetchByte(linear); // not plain memory: byte by byte, as the bus reads it
                    Consumed++;
                    return b;
                }
            }

            Consumed++;
            return _page[linear & SoftTlb.PageMask];
        }
    }
}
