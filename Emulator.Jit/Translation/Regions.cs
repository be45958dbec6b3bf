using Emulator.Jit.Decoding;
using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.Memory;
using Iced.Intel;

namespace Emulator.Jit.Translation;

/// <summary>
/// Grows a translation unit from its entry block through the direct branches it ends in (both ways
/// of a Jcc, a JMP's target, the next block after one that stops without a transfer) into other
/// decoded blocks on the same linear page, so that the guest registers stay in host registers from
/// one to the next: a branch between two segments of a region is a host jump (with a budget check
/// when it goes backwards, where a loop may close), not an exit, a chain and another block's entry
/// (its checks and register loads). Measured on a boot to /init before regions (perf samples of the
/// vCPU thread in translated code): block entries were 14% of them, budget and dropped-block checks
/// 8%, register stores at exits 7%; Linux's xz decompressor, 40% of the thread, is short blocks
/// joined by Jcc.
/// <para>
/// A member is a hot block (run at least as often as the translation threshold, so no cold path is
/// translated: with every block some vCPU had fetched, a boot to /init translated 40% more guest
/// instructions and was slower for it), wholly on the entry's page, of the same mode and CS base, that keeps the unit's guest registers
/// within the host registers. The page's mapping cannot change while host code runs (CR3 loads end
/// the block, and so does an INVLPG within the 1 GiB around it), the same rule that lets a chain to the same page be patched. Its bytes are
/// watched for the entry block (<see cref="BlockCache.WatchSuccessor"/>), so a write to any member
/// drops the entry's translation as a write to the entry's own bytes does.
/// </para>
/// </summary>
internal static class Regions
{
    /// <summary>Blocks in one unit at most, the entry included.</summary>
    public const int MaxSegments = 8;

    /// <summary>Guest instructions in one unit at most.</summary>
    public const int MaxOps = 160;

    /// <summary>
    /// Which regions are built (EMU_JIT_REGIONS: 0 none, 1 every hot member, loops by default).
    /// Every hot member, measured on the 2-core Intel host, boots to /init alternating with and
    /// without in ABBA order, 8 each, every other process stopped: 7.1 s median with against 6.75 s
    /// without (the runs spread from 6.3 to 9.1 s), and in a single pair with statistics 6.32 against
    /// 6.34 s, with 25% more guest instructions translated (222,779 against 177,840), 87 ms more
    /// translating and more garbage collections (5/5/2 against 3/2/1). Loops only (members that
    /// branch straight back to the entry, such as the BCJ filter's scan in Linux's decompressor,
    /// `jne` to a block whose `jb` returns): some 320 members per boot, and boots to /init 3.47 s
    /// against 3.58 and 3.63 against 3.70 (two sittings of 8 alternating pairs), the in-guest
    /// workloads unchanged. See ARCHITECTURE.md, "Not yet".
    /// </summary>
    public static RegionMode Default { get; } = Environment.GetEnvironmentVariable("EMU_JIT_REGIONS") switch
    {
        "0" => RegionMode.Off,
        "1" => RegionMode.All,
        _ => RegionMode.Loops,
    };

    /// <summary>Adds member segments to <paramref name="ir"/>, whose only segment is <paramref name="entry"/> whole.</summary>
    public static void Grow(IrBlock ir, Block entry, BlockCache code, int threshold, bool loopsOnly, ref ushort pinned, ref ushort used)
    {
        if (entry.FirstPage != entry.LastPage)
        {
            return;
        }

        for (int k = 0; k < ir.Segments.Count && ir.Segments.Count < MaxSegments; k++)
        {
            IrSegment segment = ir.Segments[k];
            if (segment.Count == 0)
            {
                continue;
            }

            IrOp last = ir.Ops[segment.FirstOp + segment.Count - 1];
            switch (last.Kind)
            {
                case IrKind.Branch:
                    TryAdd(ir, entry, code, threshold, loopsOnly, last.Next, ref pinned, ref used);
                    TryAdd(ir, entry, code, threshold, loopsOnly, last.Target, ref pinned, ref used);
                    break;
                case IrKind.Jump:
                    TryAdd(ir, entry, code, threshold, loopsOnly, last.Target, ref pinned, ref used);
                    break;
                case IrKind.Interpret when last.Ins.FlowControl != FlowControl.Next:
                    break;
                case IrKind.Call or IrKind.Return or IrKind.JumpIndirect:
                    break;
                default:
                    // The block stopped without a transfer (its length, a page's end, an instruction
                    // that ends blocks): the code goes on at the next instruction.
                    TryAdd(ir, entry, code, threshold, loopsOnly, segment.FallThrough, ref pinned, ref used);
                    break;
            }
        }
    }

    private static void TryAdd(IrBlock ir, Block entry, BlockCache code, int threshold, bool loopsOnly, ulong rip, ref ushort pinned, ref ushort used)
    {
        if (ir.Segments.Count >= MaxSegments || ir.SegmentAt(rip) >= 0)
        {
            return;
        }

        ulong linear = Linear(entry, rip);
        if (linear >> SoftTlb.PageShift != Linear(entry, entry.Rip) >> SoftTlb.PageShift)
        {
            return;
        }

        ulong physical = (entry.FirstPage << SoftTlb.PageShift) | (linear & SoftTlb.PageMask);
        Block? member = code.Lookup(physical);
        if (member is null || !member.Matches(rip, entry.CsBase, entry.Bitness) || member.Dropped || member.Untranslatable || member.Executions < threshold
            || member.FirstPage != entry.FirstPage || member.LastPage != entry.FirstPage
            || ir.Ops.Count + member.Ops.Length > MaxOps
            || (loopsOnly && !BranchesTo(member, entry.Rip)))
        {
            return;
        }

        // IrBuilder decides whether it fits the host registers; then its bytes are watched, and a
        // write before the watch has dropped it already (a write after it drops the entry).
        ushort p = pinned, u = used;
        if (!IrBuilder.AddSegment(ir, member, ref p, ref u, cut: false))
        {
            return;
        }

        if (!code.WatchSuccessor(entry, physical, member.ByteLength) || member.Dropped)
        {
            IrSegment added = ir.Segments[^1];
            ir.Ops.RemoveRange(added.FirstOp, added.Count);
            ir.Segments.RemoveAt(ir.Segments.Count - 1);
            return;
        }

        (pinned, used) = (p, u);
        ir.Members.Add(member);
    }

    // The block ends in a direct JMP or Jcc to `rip`.
    private static bool BranchesTo(Block block, ulong rip)
    {
        ref readonly Instruction last = ref block.Ops[^1].Ins;
        return last.FlowControl is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch
            && last.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 && last.NearBranchTarget == rip;
    }

    private static ulong Linear(Block block, ulong rip) => block.Bitness == 64 ? rip : (block.CsBase + rip) & 0xffff_ffff;
}

/// <summary>Which translation units grow into regions (see <see cref="Regions"/>).</summary>
internal enum RegionMode
{
    /// <summary>Every unit is one block.</summary>
    Off,

    /// <summary>A unit takes the hot blocks that branch straight back to its entry: loops of two blocks and more.</summary>
    Loops,

    /// <summary>A unit takes every hot block its branches reach on its page, up to its limits.</summary>
    All,
}
