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
/// name label ids (small numbers, counted from 1 after each <see cref="Assembler.Reset"/>) where
/// absolute addresses would be. One instance is reused block after block (<see cref="EmitterScratch"/>).
/// </summary>
internal sealed class LinearEncoder
{
    // Label ids are numbered from 1 by the assembler; code addresses are far above this.
    private const ulong MaxLabelId = 1 << 20;

    private readonly Sink _output = new();
    private readonly Encoder _encoder;
    private ulong[] _labels = new ulong[256];
    private int _labelsUsed;

    // A rel32/disp32 field: where it is in the output, the label it names, and the address its
    // displacement counts from (the end of its instruction).
    private readonly List<(int Field, ulong Label, ulong End)> _fixups = [];

    public LinearEncoder() => _encoder = Encoder.Create(64, _output);

    /// <summary>The host address of label <paramref name="id"/> in the last <see cref="Encode"/>.</summary>
    public ulong AddressOf(ulong id) => id < (ulong)_labels.Length && _labels[id] != 0 ? _labels[id] : throw new KeyNotFoundException($"label {id} is not bound");

    /// <summary>The code of the last <see cref="Encode"/> (overwritten by the next).</summary>
    public ReadOnlySpan<byte> Output => _output.Written;

    /// <summary>
    /// Encodes <paramref name="instructions"/> for host address <paramref name="at"/>, every label
    /// resolved, into <see cref="Output"/>; its length. The buffer is reused: the caller copies the
    /// code to where it runs, instead of a new array per block (about 15 MiB on a boot to /init).
    /// </summary>
    public int Encode(IReadOnlyList<Instruction> instructions, ulong at)
    {
        int n = instructions.Count;
        _output.Clear();
        _fixups.Clear();
        Array.Clear(_labels, 0, _labelsUsed); // 0 = not bound in this block
        _labelsUsed = 0;
        ulong ip = at;
        for (int i = 0; i < n; i++)
        {
            Instruction ins = instructions[i];
            if (ins.IP != 0)
            {
                Bind(ins.IP, ip);
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

            int before = _output.Count;
            int length = EncodeOne(ins, ip, out int displacementOffset);
            if (label != 0)
            {
                // A near branch's rel32 ends it; a memory operand's disp32 is where the encoder put it.
                int field = branch ? before + length - 4 : before + displacementOffset;
                _fixups.Add((field, label, ip + (ulong)length));
            }

            ip += (ulong)length;
        }

        Span<byte> code = _output.Writable;
        foreach ((int field, ulong label, ulong end) in _fixups)
        {
            BinaryPrimitives.WriteInt32LittleEndian(code[field..], checked((int)unchecked((long)(AddressOf(label) - end))));
        }

        return code.Length;
    }

    private void Bind(ulong id, ulong address)
    {
        if (id >= (ulong)_labels.Length)
        {
            Array.Resize(ref _labels, (int)Math.Max(id + 1, (ulong)_labels.Length * 2));
        }

        _labels[id] = address;
        _labelsUsed = Math.Max(_labelsUsed, (int)id + 1);
    }

    private int EncodeOne(in Instruction ins, ulong ip, out int displacementOffset)
    {
        int direct = DirectEncoder.TryEncode(ins, ip, _output.Reserve(15), out displacementOffset);
        if (direct > 0)
        {
            _output.Commit(direct);
            return direct;
        }

        switch (ins.Code)
        {
            case Code.Zero_bytes:
                return 0;
            case Code.DeclareByte:
                for (int b = 0; b < ins.DeclareDataCount; b++)
                {
                    _output.WriteByte(ins.GetDeclareByteValue(b));
                }

                return ins.DeclareDataCount;
            default:
                if (!_encoder.TryEncode(ins, ip, out uint length, out string? error))
                {
                    throw new InvalidOperationException($"{ins.Code} {ins}: {error}");
                }

                displacementOffset = (int)_encoder.GetConstantOffsets().DisplacementOffset;
                return (int)length;
        }
    }

    private sealed class Sink : CodeWriter
    {
        private byte[] _bytes = new byte[4096];
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

        /// <summary>Room for <paramref name="length"/> more bytes, to be kept with <see cref="Commit"/>.</summary>
        public Span<byte> Reserve(int length)
        {
            if (_count + length > _bytes.Length)
            {
                Array.Resize(ref _bytes, _bytes.Length * 2);
            }

            return _bytes.AsSpan(_count, length);
        }

        public void Commit(int length) => _count += length;

        public void Clear() => _count = 0;

        public Span<byte> Writable => _bytes.AsSpan(0, _count);

        public ReadOnlySpan<byte> Written => _bytes.AsSpan(0, _count);
    }
}
