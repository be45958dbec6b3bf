using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Encodes what an Iced <see cref="Assembler"/> collected in two straight passes, instead of Iced's
/// block encoder (which sizes branches iteratively and cost most of the translation time): every
/// branch to a label takes its rel32 form, so each instruction's length is known before any label
/// address is, and the second pass fills the targets in. Labels are the assembler's: an
/// instruction's IP holds the id of the label bound to it, and branches and RIP-relative operands
/// name label ids (small numbers) where absolute addresses would be.
/// </summary>
internal static class LinearEncoder
{
    // Label ids are numbered from 1 by the assembler; code addresses are far above this.
    private const ulong MaxLabelId = 1 << 20;

    public sealed class Output
    {
        public required byte[] Code { get; init; }

        public required Dictionary<ulong, ulong> LabelAddresses { get; init; }
    }

    public static Output Encode(IReadOnlyList<Instruction> instructions, ulong at)
    {
        int n = instructions.Count;
        var work = new Instruction[n];
        var lengths = new int[n];
        var labels = new Dictionary<ulong, ulong>();
        var sizer = new Sink();
        Encoder sizing = Encoder.Create(64, sizer);
        ulong ip = at;
        for (int i = 0; i < n; i++)
        {
            Instruction ins = instructions[i];
            if (ins.IP != 0)
            {
                labels[ins.IP] = ip;
            }

            if (ins.Op0Kind == OpKind.NearBranch64)
            {
                // The assembler prefers short forms and leaves sizing to the block encoder; here
                // every branch, to a label or to an absolute address (the exit stub), is rel32.
                ins.Code = ins.Code.ToNearBranch();
            }

            work[i] = ins;
            lengths[i] = Length(sizing, sizer, ins, ip);
            ip += (ulong)lengths[i];
        }

        var output = new Sink((int)(ip - at));
        Encoder encoder = Encoder.Create(64, output);
        ip = at;
        for (int i = 0; i < n; i++)
        {
            Instruction ins = work[i];
            if (IsLabelBranch(ins))
            {
                ins.NearBranch64 = labels[ins.NearBranch64];
            }
            else if (ins.IsIPRelativeMemoryOperand && ins.MemoryDisplacement64 < MaxLabelId)
            {
                ins.MemoryDisplacement64 = labels[ins.MemoryDisplacement64];
            }

            int length = EncodeOne(encoder, output, ins, ip);
            if (length != lengths[i])
            {
                throw new InvalidOperationException($"{ins} changed length between passes");
            }

            ip += (ulong)length;
        }

        return new Output { Code = output.ToArray(), LabelAddresses = labels };
    }

    private static bool IsLabelBranch(in Instruction ins) =>
        ins.Op0Kind == OpKind.NearBranch64 && ins.NearBranch64 < MaxLabelId;

    private static int Length(Encoder encoder, Sink sink, Instruction ins, ulong ip)
    {
        // Placeholder targets in range: the instruction itself.
        if (ins.Op0Kind == OpKind.NearBranch64 && ins.NearBranch64 < MaxLabelId)
        {
            ins.NearBranch64 = ip;
        }
        else if (ins.IsIPRelativeMemoryOperand && ins.MemoryDisplacement64 < MaxLabelId)
        {
            ins.MemoryDisplacement64 = ip;
        }

        sink.Clear();
        return EncodeOne(encoder, sink, ins, ip);
    }

    private static int EncodeOne(Encoder encoder, Sink sink, in Instruction ins, ulong ip)
    {
        switch (ins.Code)
        {
            case Code.Zero_bytes:
                return 0;
            case Code.DeclareByte:
                for (int b = 0; b < ins.DeclareDataCount; b++)
                {
                    sink.WriteByte(ins.GetDeclareByteValue(b));
                }

                return ins.DeclareDataCount;
            default:
                if (!encoder.TryEncode(ins, ip, out uint length, out string? error))
                {
                    throw new InvalidOperationException($"{ins.Code} {ins}: {error}");
                }

                return (int)length;
        }
    }

    private sealed class Sink(int capacity = 16) : CodeWriter
    {
        private byte[] _bytes = new byte[Math.Max(capacity, 16)];
        private int _count;

        public override void WriteByte(byte value)
        {
            if (_count == _bytes.Length)
            {
                Array.Resize(ref _bytes, _bytes.Length * 2);
            }

            _bytes[_count++] = value;
        }

        public void Clear() => _count = 0;

        public byte[] ToArray() => _bytes.AsSpan(0, _count).ToArray();
    }
}
