using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Out-of-line code (slow paths, a probe's second TLB way, rare exits) is emitted after the block's
/// body, so that the body falls through its hot path. While the body is emitted each piece is
/// recorded as a small <see cref="OutOfLine"/> value naming its labels and the op it serves, then
/// replayed in order by <see cref="EmitOutOfLine"/>. These were closures once; capturing the op
/// (a large struct) made them about a quarter of what translation allocated on a Linux boot.
/// </summary>
internal sealed partial class X86Emitter
{
    private enum OutOfLineKind : byte
    {
        PrologueExits,
        VictimWay,
        SlowPath,
        ControlSlowPath,
        InterruptExit,
        GroupMiss,
        GroupFallback,
        SiteMiss,
    }

    /// <summary>
    /// One recorded piece: <see cref="Entry"/> is the label it binds, <see cref="Back"/> where it
    /// rejoins the body (if it does). The other fields are those its kind reads.
    /// </summary>
    private readonly record struct OutOfLine(OutOfLineKind Kind, Label Entry, Label Back = default, Label Miss = default, Label Fourth = default)
    {
        /// <summary>The op's index in the block (slow paths, group fallback); a load site's entry offset.</summary>
        public int Op { get; init; }

        /// <summary>A probe's access size; a group's addend slot offset.</summary>
        public int Size { get; init; }

        /// <summary>Where an interrupt exit leaves the guest.</summary>
        public ulong Rip { get; init; }

        public bool Write { get; init; }

        public bool CodePages { get; init; }

        public bool Addend { get; init; }

        /// <summary>A slow path's rejoin has the guest's flags in RFLAGS (as the fast path leaves them).</summary>
        public bool FlagsInHost { get; init; }

        /// <summary>The op whose flags the path recomputes before the interpreter runs (X86Emitter.FlagReplay), or -1.</summary>
        public int Replay { get; init; } = -1;
    }

    private void EmitOutOfLine(in OutOfLine part)
    {
        switch (part.Kind)
        {
            case OutOfLineKind.PrologueExits:
                PrologueExits(part.Entry, part.Back, part.Miss);
                break;
            case OutOfLineKind.VictimWay:
                VictimWay(part);
                break;
            case OutOfLineKind.SlowPath:
                SlowPath(part);
                break;
            case OutOfLineKind.ControlSlowPath:
                ControlSlowPath(part);
                break;
            case OutOfLineKind.InterruptExit:
                InterruptExit(part.Entry, part.Rip);
                break;
            case OutOfLineKind.GroupMiss:
                GroupMiss(part.Entry, part.Back, part.Size);
                break;
            case OutOfLineKind.SiteMiss:
                SiteMiss(part);
                break;
            case OutOfLineKind.GroupFallback:
                GroupFallback(part.Entry, part.Back, part.Op, part.Replay);
                break;
        }
    }
}
