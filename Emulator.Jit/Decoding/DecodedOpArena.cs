using System.Runtime.InteropServices;

namespace Emulator.Jit.Decoding;

/// <summary>
/// Where a vCPU's decoded blocks keep their ops: slices of large chunks of native memory, because
/// translated code passes the address of an op to the interpreter helper, so the ops must never
/// move. A chunk is freed (by its finalizer) when no block refers to it any more.
/// Measured in a boot to Linux's /init, which decodes some 74,000 blocks: one pinned array per
/// block went through the runtime's slow path for the pinned-object heap (a lock and a budget check
/// per allocation), 2% of the vCPU thread's time; pinned arrays of 2,048 ops (180 KiB each, some
/// 40 MiB in all) still counted against the large-object budget, and every few megabytes of them
/// started a full (gen 2) background collection of the whole heap (`GCStart` reason AllocLarge).
/// Native chunks are outside the GC's budgets. Not thread-safe: each vCPU decodes with its own arena.
/// </summary>
internal sealed unsafe class DecodedOpArena
{
    // 2,048 ops of about 90 bytes: a chunk is some 180 KiB, a block at most a few dozen ops.
    private const int ChunkOps = 2048;

    private Chunk? _chunk;
    private int _used;

    /// <summary>A slice of <paramref name="count"/> ops that never moves, and the chunk that holds it.</summary>
    public (Chunk Chunk, int Start) Allocate(int count)
    {
        if (count > ChunkOps)
        {
            return (new Chunk(count), 0);
        }

        if (_chunk is null || _used + count > _chunk.Length)
        {
            _chunk = new Chunk(ChunkOps);
            _used = 0;
        }

        int start = _used;
        _used += count;
        return (_chunk, start);
    }

    /// <summary>Native memory for ops; freed when the last block (or translation) that refers to it is collected.</summary>
    public sealed class Chunk
    {
        public Chunk(int ops)
        {
            Length = ops;
            Base = (DecodedOp*)NativeMemory.AllocZeroed((nuint)ops, (nuint)sizeof(DecodedOp));
        }

        ~Chunk() => NativeMemory.Free(Base);

        /// <summary>The first op.</summary>
        public DecodedOp* Base { get; }

        /// <summary>Ops the chunk holds.</summary>
        public int Length { get; }
    }
}
