using System.Buffers.Binary;
using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Encodes what an Iced <see cref="Assembler"/> collected in one straight pass, instead of Iced's
/// block encoder (which sizes branches iteratively and cost most of the translation time): every
/// branch to a label takes its rel32 form and every RIP-relative operand naming a label its disp32,
/// so each instruction is encoded once, with a placeholder target, and its 32-bit field is patched
/// when the pass is over and every label's address is known. Labels are the assembler's: an
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
        var labels = new Dictionary<ulong, ulong>();
        // A rel32/disp32 field: where it is in the output, the label it names, and the address its
        // displacement counts from (the end of its instruction).
        var fixups = new List<(int Field, ulong Label, ulong End)>();
        var output = new Sink(n * 6);
        Encoder encoder = Encoder.Create(64, output);
        ulong ip = at;
        for (int i = 0; i < n; i++)
        {
            Instruction ins = instructions[i];
            if (ins.IP != 0)
            {
                labels[ins.IP] = ip;
            }

            ulong label = 0;
            bool branch = false;
            if (ins.Op0Kind == OpKind.NearBranch64)
            {
                // The assembler prefers short forms and leaves sizing to the block encoder; here
                // every branch, to a label or to an absolute address (the exit stub), is rel32.
                ins.Code = ins.Code.ToNearBranch();
                if (ins.NearBranch64 < MaxLabelId)
                {
                    label = ins.NearBranch64;
                    branch = true;
                    ins.NearBranch64 = ip;
                }
            }
            else if (ins.IsIPRelativeMemoryOperand && ins.MemoryDisplacement64 < MaxLabelId)
            {
                label = ins.MemoryDisplacement64;
                ins.MemoryDisplacement64 = ip;
            }

            int before = output.Count;
            int length = EncodeOne(encoder, output, ins, ip);
            if (label != 0)
            {
                // A near branch's rel32 ends it; a memory operand's disp32 is where Iced says.
                int field = branch ? before + length - 4 : before + (int)encoder.GetConstantOffsets().DisplacementOffset;
                fixups.Add((field, label, ip + (ulong)length));
            }

            ip += (ulong)length;
        }

        byte[] code = output.ToArray();
        foreach ((int field, ulong label, ulong end) in fixups)
        {
            BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(field), checked((int)unchecked((long)(labels[label] - end))));
        }

        return new Output { Code = code, LabelAddresses = labels };
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

        public int Count => _count;

        public byte[] ToArray() => _bytes.AsSpan(0, _count).ToArray();
    }
}
