
namespace Emulator.Jit.Decoding;

/// <summary>
/// Where a vCPU's decoded blocks keep their ops: slices of large pinned arrays, because translated
/// code passes the address of an op to the interpreter helper, so the ops must never move. One
/// pinned array per block went through the runtime's slow path for the pinned-object heap (a lock
/// and a budget check per allocation): 2% of the vCPU thread's time in a boot to Linux's /init,
/// which decodes some 74,000 blocks. A chunk is freed by the GC when no block refers to it any more.
/// Not thread-safe: each vCPU decodes with its own arena.
/// </summary>
internal sealed class DecodedOpArena
{
    // 2,048 ops of about 90 bytes: a chunk is some 180 KiB, a block at most a few dozen ops.
    private const int ChunkOps = 2048;

    private DecodedOp[] _chunk = [];
    private int _used;

    /// <summary>A slice of <paramref name="count"/> ops that never moves, and the array that holds it.</summary>
    public (DecodedOp[] Chunk, int Start) Allocate(int count)
    {
        if (count > ChunkOps)
        {
            return (GC.AllocateArray<DecodedOp>(count, pinned: true), 0);
        }

        if (_used + count > _chunk.Length)
        {
            _chunk = GC.AllocateArray<DecodedOp>(ChunkOps, pinned: true);
            _used = 0;
        }

        int start = _used;
        _used += count;
        return (_chunk, start);
    }
}
