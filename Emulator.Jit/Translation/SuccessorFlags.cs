using Emulator.Core.Memory;
using Emulator.Jit.Decoding;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// Which arithmetic flags the code after a block may read before writing them, for FlagLiveness:
/// the first few instructions at the block's successors whose address the block itself gives (a
/// direct JMP's or CALL's target, both ways of a Jcc, the next instruction after a block that
/// stops without a control transfer) are decoded from guest memory. Without it the block's end
/// counts as a reader of every flag, and a shift or rotate right before a block's last JMP went to
/// the interpreter though the next block writes the flags first (about 8 million helper calls in a
/// boot to /init). Only a successor on a physical page the block's own bytes lie on is read: the
/// page is known without a page walk (none is made from a translation, which may run on a worker
/// thread, and a walk would set accessed bits), and its bytes are watched as the block's own are
/// (<see cref="BlockCache.WatchSuccessor"/>), so a write to them drops the block with its
/// translation. Anything else (an indirect or far transfer, RET, IRET, INT, another page, MMIO,
/// bytes that do not decode) counts as reading every flag. One instance per code cache, used under
/// its compile lock.
/// </summary>
internal sealed unsafe class SuccessorFlags(AddressSpace memory, BlockCache code)
{
    // Successor instructions looked at, and the bytes they may span (15 per instruction at most).
    private const int MaxInstructions = 8;
    private const int MaxBytes = MaxInstructions * 15;

    private readonly byte[] _bytes = new byte[MaxBytes];
    private readonly BufferReader _reader = new();
    private readonly Decoder?[] _decoders = new Decoder?[2];

    /// <summary>The flags (LazyFlags bits) that may be read after <paramref name="last"/>, the block's last instruction translated, runs.</summary>
    public uint LiveAfter(Block block, in Instruction last)
    {
        bool near = last.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;
        return last.FlowControl switch
        {
            FlowControl.Next when last.Mnemonic is not (Mnemonic.Syscall or Mnemonic.Sysenter) => LiveAt(block, last.NextIP),
            FlowControl.UnconditionalBranch or FlowControl.Call when near => LiveAt(block, last.NearBranchTarget),
            FlowControl.ConditionalBranch when near => LiveAt(block, last.NearBranchTarget) | LiveAt(block, last.NextIP),
            _ => FlagLiveness.All,
        };
    }

    // The flags read at `rip` before they are surely written, over up to MaxInstructions.
    private uint LiveAt(Block block, ulong rip)
    {
        if (Locate(block, rip) is not { } physical)
        {
            return FlagLiveness.All;
        }

        MemoryRegion? region = memory.Find(physical);
        ulong pageStart = physical & ~SoftTlb.PageMask;
        if (region is not { Kind: RegionKind.Ram or RegionKind.Rom } || !region.Contains(pageStart + SoftTlb.PageMask))
        {
            return FlagLiveness.All;
        }

        // The decoder stops at the page's end: the next page's mapping is not known here.
        int available = (int)Math.Min((ulong)MaxBytes, pageStart + SoftTlb.PageMask + 1 - physical);
        byte* host = region.HostPointer(physical);
        new ReadOnlySpan<byte>(host, available).CopyTo(_bytes);
        _reader.Reset(_bytes, available);
        Decoder decoder = _decoders[block.Bitness == 64 ? 1 : 0] ??= Decoder.Create(block.Bitness, _reader, DecoderOptions.None);
        decoder.IP = rip;
        (uint live, int length) = Scan(decoder);

        // Watched from now on; bytes that changed while they were read give up.
        if (!code.WatchSuccessor(block, physical, length) || !new ReadOnlySpan<byte>(host, length).SequenceEqual(_bytes.AsSpan(0, length)))
        {
            return FlagLiveness.All;
        }

        return live;
    }

    private (uint Live, int Length) Scan(Decoder decoder)
    {
        uint unwritten = FlagLiveness.All, live = 0;
        int length = 0;
        for (int i = 0; i < MaxInstructions && unwritten != 0; i++)
        {
            decoder.Decode(out Instruction ins);
            if (ins.IsInvalid)
            {
                // Undecodable here (#UD, or cut at the page's end or at MaxBytes).
                break;
            }

            length += ins.Length;
            live |= FlagLiveness.Arithmetic(ins.RflagsRead) & unwritten;
            unwritten &= ~Overwritten(ins);
            if (ins.FlowControl != FlowControl.Next || ins.Mnemonic is Mnemonic.Syscall or Mnemonic.Sysenter)
            {
                break;
            }
        }

        return (live | unwritten, Math.Max(length, 1));
    }

    // The flags an instruction replaces whichever tier runs it. A flag Iced calls undefined counts
    // only where the interpreter is known to compute it (ARCHITECTURE.md, "Undefined flags"), as a
    // translated instruction whose undefined flag is read later becomes the interpreter's call: not
    // for DIV/IDIV or BT, whose handlers leave the flags there as they were.
    private static uint Overwritten(in Instruction ins)
    {
        uint written = FlagLiveness.Written(ins);
        return ins.Mnemonic switch
        {
            Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test or Mnemonic.Mul or Mnemonic.Imul
                or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar
                or Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr => written,
            _ => written & ~FlagLiveness.Arithmetic(ins.RflagsUndefined),
        };
    }

    // The physical address of `rip` when it lies on one of the block's own pages (the linear page of
    // its first byte, or the next one for a block that runs onto it).
    private static ulong? Locate(Block block, ulong rip)
    {
        ulong start = Linear(block, block.Rip), at = Linear(block, rip);
        ulong page = at >> SoftTlb.PageShift, first = start >> SoftTlb.PageShift;
        ulong next = (block.Bitness == 64 ? first + 1 : (first + 1) & 0xf_ffff);
        ulong physicalPage = page == first ? block.FirstPage
            : page == next && block.LastPage != block.FirstPage ? block.LastPage
            : ulong.MaxValue;
        return physicalPage == ulong.MaxValue ? null : (physicalPage << SoftTlb.PageShift) | (at & SoftTlb.PageMask);
    }

    private static ulong Linear(Block block, ulong offset) => block.Bitness == 64 ? offset : (block.CsBase + offset) & 0xffff_ffff;

    // Iced's input: the copied bytes, then the end (the decoder marks an instruction cut there invalid).
    private sealed class BufferReader : CodeReader
    {
        private byte[] _buffer = [];
        private int _length, _position;

        public void Reset(byte[] buffer, int length) => (_buffer, _length, _position) = (buffer, length, 0);

        public override int ReadByte() => _position < _length ? _buffer[_position++] : -1;
    }
}
