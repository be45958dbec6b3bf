using Iced.Intel;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>One generated case: the encoded instruction and the state both CPUs start from (the data buffer is the generator's).</summary>
internal sealed class DiffCase
{
    public required Instruction Instruction { get; init; }

    public required byte[] Bytes { get; init; }

    public required ulong[] Gpr { get; init; }

    public required ulong Rflags { get; init; }

    /// <summary>XMM0-XMM15, two quadwords each, low first.</summary>
    public required ulong[] Xmm { get; init; }

    /// <summary>Bits 255:128 of YMM0-YMM15, two quadwords each, low first.</summary>
    public required ulong[] YmmHigh { get; init; }

    public uint Mxcsr { get; init; } = RegisterImage.DefaultMxcsr;

    /// <summary>The GS base, which GS-prefixed operands add to their effective address.</summary>
    public ulong GsBase { get; init; }

    /// <summary>The case may fault natively, so it runs in a forked child (<see cref="NativeCpu.RunInChild"/>).</summary>
    public bool MayFault { get; init; }

    /// <summary>A SIMD form: SIGFPE means #XM rather than #DE.</summary>
    public bool Simd { get; init; }
}

/// <summary>
/// Builds random cases of one <see cref="DiffForm"/> from a seeded generator: operands (registers
/// other than RSP, memory operands with random base, index, scale, displacement and address size,
/// immediates), register and flag values with edge cases weighted in, and the contents of the data
/// buffer around each memory operand.
/// <para>
/// Every case must be safe to run natively in the test process, so the generator keeps memory
/// operands inside the buffer (the addressing registers are solved for a chosen effective address;
/// BT's bit offsets and string counts are bounded), aligns CMPXCHG16B and locked operands (so no
/// locked access splits a cache line), and repairs DIV/IDIV operands until the division cannot
/// fault; cases that cannot be repaired are drawn again. One case in <see cref="FaultingShare"/>
/// of DIV, IDIV and CMPXCHG16B is instead made likely to fault (a zero divisor, a quotient too
/// large, an operand aligned to 8 but not 16 bytes) and marked <see cref="DiffCase.MayFault"/>.
/// </para>
/// </summary>
internal sealed class CaseGenerator
{
    public const int BufferSize = 16384;
    public const uint ArithmeticFlags = 0x8d5, DirectionFlag = 0x400;

    // Memory operands land in the middle 4 KiB of the buffer, which straddles its middle page
    // boundary; BT bit offsets and string runs reach at most 4 KiB further either way.
    private const int TargetLow = 6144, TargetHigh = 10240, PageBoundary = 8192;
    private const int Attempts = 1000, RepairAttempts = 64;

    /// <summary>One case in this many of the forms that can fault is made to fault, most of the time.</summary>
    public const int FaultingShare = 16;

    private static readonly Register[] Sizes1 =
    [
        Register.AL, Register.CL, Register.DL, Register.BL, Register.AH, Register.CH, Register.DH, Register.BH,
        Register.BPL, Register.SIL, Register.DIL, Register.R8L, Register.R9L, Register.R10L, Register.R11L,
        Register.R12L, Register.R13L, Register.R14L, Register.R15L,
    ];

    private readonly DiffForm _form;
    private readonly OpCodeInfo _info;
    private readonly OperandShape[] _shapes;
    private readonly Random _rng;
    private readonly byte[] _memory;
    private readonly ulong _buffer;
    private readonly ulong _codeAddress;
    private readonly bool _gsPrefixes;
    private readonly ByteSink _sink = new();
    private readonly Encoder _encoder;
    private readonly InstructionInfoFactory _infoFactory = new();

    private ulong[] _gpr = new ulong[16];
    private ulong[] _xmm = new ulong[32], _ymm = new ulong[32];
    private uint _mxcsr;
    private ulong _flags;
    private int _base, _index;
    private long _target;
    private bool _mayFault;
    private ulong _gsBase;

    public CaseGenerator(DiffForm form, int seed, byte[] memory, ulong bufferAddress, ulong codeAddress, bool gsPrefixes)
    {
        _codeAddress = codeAddress;
        _gsPrefixes = gsPrefixes;
        _form = form;
        _info = form.Code.ToOpCode();
        _shapes = [.. Enumerable.Range(0, _info.OpCount).Select(i => FormCatalog.Shape(_info.GetOpKind(i)))];
        _rng = new Random(seed);
        _memory = memory;
        _buffer = bufferAddress;
        _encoder = Encoder.Create(64, _sink);
        _rng.NextBytes(_memory);
    }

    private Mnemonic Mnemonic => _form.Mnemonic;

    private bool IsShiftOrRotate => Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar
        or Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shld or Mnemonic.Shrd;

    private bool IsBitTest => Mnemonic is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc;

    private bool IsString => _shapes.Any(s => s.Role == OperandRole.String);

    /// <summary>The next case, or null (with the reason) when no valid case was found in many attempts.</summary>
    public DiffCase? Next(out string? reason)
    {
        reason = null;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            _gpr = new ulong[16];
            for (int i = 0; i < 16; i++)
            {
                _gpr[i] = i == RegisterModel.Rsp ? 0 : EdgeValues.Next(_rng);
            }

            _flags = ((ulong)_rng.Next(0x1000) & ArithmeticFlags) | 2 | (_rng.Next(IsString ? 2 : 4) == 0 ? DirectionFlag : 0);
            _base = _index = -1;
            _target = -1;
            _mayFault = false;
            _gsBase = 0;
            _xmm = new ulong[32];
            _ymm = new ulong[32];
            _mxcsr = RegisterImage.DefaultMxcsr;
            if (_form.Simd)
            {
                for (int i = 0; i < 32; i++)
                {
                    _xmm[i] = VectorValues.Next(_rng);
                    _ymm[i] = VectorValues.Next(_rng);
                }

                // One SIMD case in FaultingShare unmasks some exceptions: an instruction that raises one takes #XM.
                _mxcsr = VectorValues.Mxcsr(_rng, unmask: _rng.Next(FaultingShare) == 0);
                _mayFault = (_mxcsr & 0x1f80) != 0x1f80;
            }

            Instruction ins;
            if (IsString)
            {
                ins = BuildString();
            }
            else if (_shapes.Any(s => s.Role == OperandRole.Xlat))
            {
                ins = BuildXlat();
            }
            else if (BuildGeneral(out ins, out string? why) is false)
            {
                reason = why;
                continue;
            }

            if (!Encode(ins, out byte[]? bytes, out reason) || !DecodesBack(bytes, out reason) || !AddressingSurvives(ins, out reason))
            {
                continue;
            }

            if (!SetOperandValues(ins, out reason))
            {
                continue;
            }

            if (!_form.Simd)
            {
                // The integer forms draw XMM contents last (as they always have), and leave YMM bits 255:128 zero.
                for (int i = 0; i < _xmm.Length; i++)
                {
                    _xmm[i] = EdgeValues.Next(_rng);
                }
            }

            return new DiffCase { Instruction = ins, Bytes = bytes, Gpr = _gpr, Rflags = _flags, Xmm = _xmm, YmmHigh = _ymm, Mxcsr = _mxcsr, GsBase = _gsBase, MayFault = _mayFault, Simd = _form.Simd };
        }

        return null;
    }

    private bool BuildGeneral(out Instruction ins, out string? reason)
    {
        reason = null;
        ins = default;
        int n = _shapes.Length;
        var regs = new Register[n];
        var imms = new ulong[n];
        int memoryOperand = -1;
        for (int i = 0; i < n; i++)
        {
            OperandShape s = _shapes[i];
            switch (s.Role)
            {
                case OperandRole.Register:
                    regs[i] = RandomRegister(s.Size);
                    break;
                case OperandRole.RegisterOrMemory when !_form.Memory:
                    regs[i] = RandomRegister(s.Size);
                    break;
                case OperandRole.VectorRegister:
                case OperandRole.VectorOrMemory when !_form.Memory:
                    regs[i] = (s.Size == 32 ? Register.YMM0 : Register.XMM0) + _rng.Next(16);
                    break;
                case OperandRole.FixedRegister:
                    regs[i] = s.Fixed;
                    break;
                case OperandRole.Immediate:
                    imms[i] = IsShiftOrRotate ? EdgeValues.Count(_rng, OperandBits()) : EdgeValues.Sized(_rng, s.Size);
                    break;
                case OperandRole.ImmediateOne:
                    imms[i] = 1;
                    break;
                default:
                    memoryOperand = i;
                    break;
            }
        }

        MemoryOperand memory = default;
        bool locked = false;
        bool gs = false;
        if (memoryOperand >= 0 && _shapes[memoryOperand].Role == OperandRole.Vsib)
        {
            memory = BuildVsib(memoryOperand, regs);
        }
        else if (memoryOperand >= 0)
        {
            int size = _info.MemorySize.GetSize();
            locked = _info.CanUseLockPrefix && _rng.Next(2) == 0;
            bool implicitlyLocked = Mnemonic == Mnemonic.Xchg;
            int alignment = Mnemonic == Mnemonic.Cmpxchg16b ? 16 : locked || implicitlyLocked ? Math.Max(size, 1) : _form.Simd ? SimdAlignment(size) : 1;
            if ((Mnemonic == Mnemonic.Cmpxchg16b || (_form.Simd && alignment > 1)) && _rng.Next(FaultingShare) == 0)
            {
                // Intel SDM Vol. 2A CMPXCHG16B: #GP(0) unless the operand is 16-byte aligned; the
                // aligned SSE and AVX forms likewise (Vol. 1 11.6.8, Vol. 2A 2.4).
                alignment = alignment / 2;
                _mayFault = true;
            }

            bool addr32 = _rng.Next(4) == 0;
            gs = _gsPrefixes && _rng.Next(8) == 0;
            HashSet<int> avoid = IsBitTest ? [.. regs.Where(r => r != Register.None).Select(RegisterModel.Index)] : [];
            if (_shapes[memoryOperand].Role == OperandRole.MemoryOffset)
            {
                _target = ChooseTarget(size, alignment);
                memory = new MemoryOperand(Register.None, (long)OffsetInSegment(_buffer + (ulong)_target, gs, addr32), addr32 ? 4 : 8);
            }
            else if (Mnemonic == Mnemonic.Lea)
            {
                // LEA computes the offset alone: a segment prefix changes nothing.
                ulong ea = _rng.Next(4) == 0 ? _codeAddress + (ulong)(long)_rng.Next(-0x1000_0000, 0x1000_0000) : EdgeValues.Next(_rng);
                memory = AddressOf(ea, addr32, avoid, requireBase: true);
                _gsBase = gs ? CanonicalRandom() : 0;
            }
            else
            {
                _target = ChooseTarget(size, alignment);
                FillAround(_target, 256);
                memory = AddressOf(OffsetInSegment(_buffer + (ulong)_target, gs, addr32), addr32, avoid, requireBase: false);
            }
        }

        try
        {
            ins = Create(regs, imms, memory, memoryOperand);
        }
        catch (ArgumentException e)
        {
            reason = $"cannot create: {e.Message}";
            return false;
        }

        if (locked)
        {
            ins.HasLockPrefix = true;
        }

        if (gs)
        {
            ins.SegmentPrefix = Register.GS;
        }

        return true;
    }

    /// <summary>
    /// The effective address that reaches <paramref name="linear"/>: itself, or with a GS prefix
    /// the distance from a random GS base. With a 32-bit address size the offset is 32 bits and
    /// is added to the 64-bit base without wrapping, so the base is chosen below the target.
    /// </summary>
    private ulong OffsetInSegment(ulong linear, bool gs, bool addr32)
    {
        if (!gs)
        {
            return linear;
        }

        if (addr32)
        {
            ulong offset = (ulong)_rng.NextInt64(0x1_0000, 0xffff_0000);
            _gsBase = linear - offset;
            return offset;
        }

        _gsBase = CanonicalRandom();
        return linear - _gsBase;
    }

    // WRGSBASE takes only canonical addresses: bits 63:47 all equal.
    private ulong CanonicalRandom() => (ulong)((long)(EdgeValues.Random64(_rng) << 16) >> 16);

    private Instruction Create(Register[] regs, ulong[] imms, in MemoryOperand m, int memoryOperand)
    {
        Code code = _form.Code;
        string pattern = string.Concat(Enumerable.Range(0, _shapes.Length).Select(i =>
            i == memoryOperand ? 'M' : _shapes[i].Role is OperandRole.Immediate or OperandRole.ImmediateOne ? 'I' : 'R'));
        int Imm(int i) => _info.GetOpKind(i) switch
        {
            OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 => (sbyte)imms[i],
            _ => (int)imms[i],
        };
        return pattern switch
        {
            "" => Instruction.Create(code),
            "R" => Instruction.Create(code, regs[0]),
            "M" => Instruction.Create(code, m),
            "RR" => Instruction.Create(code, regs[0], regs[1]),
            "RM" => Instruction.Create(code, regs[0], m),
            "MR" => Instruction.Create(code, m, regs[1]),
            "RI" => _shapes[1].Size == 8 ? Instruction.Create(code, regs[0], imms[1]) : Instruction.Create(code, regs[0], Imm(1)),
            "MI" => Instruction.Create(code, m, Imm(1)),
            "RRI" => Instruction.Create(code, regs[0], regs[1], Imm(2)),
            "RMI" => Instruction.Create(code, regs[0], m, Imm(2)),
            "MRI" => Instruction.Create(code, m, regs[1], Imm(2)),
            "RRR" => Instruction.Create(code, regs[0], regs[1], regs[2]),
            "RRRR" => Instruction.Create(code, regs[0], regs[1], regs[2], regs[3]),
            "RRMR" => Instruction.Create(code, regs[0], regs[1], m, regs[3]),
            "RRRI" => Instruction.Create(code, regs[0], regs[1], regs[2], Imm(3)),
            "RRMI" => Instruction.Create(code, regs[0], regs[1], m, Imm(3)),
            "RRM" => Instruction.Create(code, regs[0], regs[1], m),
            "RMR" => Instruction.Create(code, regs[0], m, regs[2]),
            "MRR" => Instruction.Create(code, m, regs[1], regs[2]),
            _ => throw new ArgumentException($"no Instruction.Create for operand pattern {pattern}"),
        };
    }

    /// <summary>
    /// The alignment a SIMD memory operand needs: 16 bytes for a 128-bit operand of a legacy SSE
    /// instruction but the unaligned moves and the string compares, the operand's size for the
    /// explicitly aligned VEX moves (Intel SDM Vol. 1 11.6.8, Vol. 2A 2.4, Table 2-4), else none.
    /// </summary>
    private int SimdAlignment(int size)
    {
        bool vex = _info.Encoding == EncodingKind.VEX;
        if (!vex && size == 16 && Mnemonic is not (Mnemonic.Movups or Mnemonic.Movupd or Mnemonic.Movdqu or Mnemonic.Lddqu
            or Mnemonic.Pcmpestri or Mnemonic.Pcmpestri64 or Mnemonic.Pcmpestrm or Mnemonic.Pcmpestrm64 or Mnemonic.Pcmpistri or Mnemonic.Pcmpistrm))
        {
            return 16;
        }

        return vex && Mnemonic is Mnemonic.Vmovaps or Mnemonic.Vmovapd or Mnemonic.Vmovdqa or Mnemonic.Vmovntps or Mnemonic.Vmovntpd
            or Mnemonic.Vmovntdq or Mnemonic.Vmovntdqa ? size : 1;
    }

    /// <summary>
    /// A VSIB operand (Intel SDM Vol. 2A 2.3.12) whose selected elements (mask element's top bit set)
    /// all land in the buffer: base + index[i] * scale + displacement with small indices around a
    /// target; elements that are masked off get any index, which must not fault. The mask register is
    /// given random top bits. Two equal registers among destination, index and mask make the case a #UD.
    /// </summary>
    private MemoryOperand BuildVsib(int memoryOperand, Register[] regs)
    {
        OpCodeOperandKind kind = _info.GetOpKind(memoryOperand);
        bool wideIndex = kind is OpCodeOperandKind.mem_vsib64x or OpCodeOperandKind.mem_vsib64y;
        Register index = (kind is OpCodeOperandKind.mem_vsib32y or OpCodeOperandKind.mem_vsib64y ? Register.YMM0 : Register.XMM0) + _rng.Next(16);
        int indexSize = wideIndex ? 8 : 4;
        int size = _info.MemorySize.GetSize();
        Register dst = regs[0], mask = regs[2];
        int count = Math.Min(dst.GetSize() / size, index.GetSize() / indexSize);
        int d = dst.GetNumber(), k = mask.GetNumber(), x = index.GetNumber();
        if (d == k || d == x || k == x)
        {
            _mayFault = true;
        }

        int scale = 1 << _rng.Next(4);
        _target = _rng.Next(TargetLow + 512, TargetHigh - 512);
        FillAround(_target, 512);
        long disp = _rng.Next(-128, 128);
        _base = RandomIndex([]);
        _gpr[_base] = _buffer + (ulong)_target - (ulong)disp;
        for (int i = 0; i < index.GetSize() / indexSize; i++)
        {
            bool selected = i < count && _rng.Next(4) != 0;
            SetVectorBits(k, (i * size) + size - 1, 1, (uint)(_rng.Next(256) & 0x7f) | (selected ? 0x80u : 0u));
            ulong value = selected || _rng.Next(2) == 0 ? (ulong)(long)_rng.Next(-40, 40) : EdgeValues.Random64(_rng);
            SetVectorBits(x, i * indexSize, indexSize, value);
        }

        return new MemoryOperand(Register.RAX + _base, index, scale, disp, 1);
    }

    /// <summary>Sets <paramref name="count"/> bytes at byte <paramref name="offset"/> of YMM register <paramref name="register"/> in the case's image.</summary>
    private void SetVectorBits(int register, int offset, int count, ulong value)
    {
        for (int b = 0; b < count; b++)
        {
            int at = offset + b;
            ulong[] half = at < 16 ? _xmm : _ymm;
            int q = (2 * register) + ((at & 15) / 8), shift = 8 * (at & 7);
            half[q] = (half[q] & ~(0xffUL << shift)) | (((value >> (8 * b)) & 0xff) << shift);
        }
    }

    private int OperandBits() => _shapes[0].Size switch { 0 => _info.MemorySize.GetSize() * 8, int s => s * 8 };

    private Register RandomRegister(int size)
    {
        if (size == 1)
        {
            return Sizes1[_rng.Next(Sizes1.Length)];
        }

        int i = _rng.Next(15);
        return RegisterModel.OfSize(i >= RegisterModel.Rsp ? i + 1 : i, size);
    }

    private int RandomIndex(HashSet<int> avoid)
    {
        while (true)
        {
            int i = _rng.Next(16);
            if (i != RegisterModel.Rsp && !avoid.Contains(i))
            {
                return i;
            }
        }
    }

    /// <summary>An offset in the buffer for an access of <paramref name="size"/> bytes; sometimes one that crosses the middle page boundary.</summary>
    private long ChooseTarget(int size, int alignment)
    {
        if (alignment == 1 && size > 1 && _rng.Next(8) == 0)
        {
            return PageBoundary - _rng.Next(1, size);
        }

        long t = _rng.Next(TargetLow, TargetHigh - 16);
        return t & ~(long)(alignment - 1);
    }

    /// <summary>
    /// A memory operand whose effective address is <paramref name="ea"/>: picks a shape (base,
    /// base + index * scale, index * scale alone, or an absolute disp32), a displacement and an
    /// index value, then solves for the base register. With a 32-bit address size only the low
    /// halves count, so the upper halves stay random.
    /// </summary>
    private MemoryOperand AddressOf(ulong ea, bool addr32, HashSet<int> avoid, bool requireBase)
    {
        ulong mask = addr32 ? 0xffff_ffffUL : ulong.MaxValue;
        bool eaFitsDisp32 = (ea & mask) < 0x8000_0000UL;
        long fromRip = (long)((ea - _codeAddress) & mask);
        bool ripReaches = addr32 || fromRip is > int.MinValue / 2 and < int.MaxValue / 2;
        int shape = _rng.Next(9);
        if (shape == 8 && ripReaches)
        {
            // RIP-relative (EIP-relative with a 32-bit address size): Iced takes the target and
            // encodes its distance from the next instruction.
            return new MemoryOperand(addr32 ? Register.EIP : Register.RIP, (long)(ea & mask));
        }

        if (requireBase || !eaFitsDisp32)
        {
            shape = Math.Max(shape, 2);
        }

        shape = Math.Min(shape, 7);
        int scale = 1 << _rng.Next(4);
        if (shape == 0)
        {
            return new MemoryOperand(Register.None, (long)(ea & mask), 4, false, Register.None);
        }

        Register Named(int index) => addr32 ? Register.EAX + index : Register.RAX + index;
        ulong Upper() => addr32 ? EdgeValues.Random64(_rng) & ~mask : 0;
        if (shape == 1)
        {
            _index = RandomIndex(avoid);
            ulong value = (ulong)_rng.NextInt64(0, (long)((ea & mask) / (ulong)scale) + 1);
            long disp = (long)((ea & mask) - (value * (ulong)scale));
            _gpr[_index] = value | Upper();
            return new MemoryOperand(Register.None, Named(_index), scale, disp, 4);
        }

        _base = RandomIndex(avoid);
        int displSize = new[] { 0, 1, 4 }[_rng.Next(3)];
        long d = displSize switch
        {
            0 => 0,
            1 => _rng.Next(-128, 128),
            _ => _rng.Next(2) == 0 ? _rng.Next(-4096, 4096) : (int)EdgeValues.Sized(_rng, 4),
        };
        ulong indexPart = 0;
        Register indexRegister = Register.None;
        if (shape >= 5)
        {
            avoid = [.. avoid, _base];
            _index = RandomIndex(avoid);
            ulong indexValue = EdgeValues.Next(_rng);
            _gpr[_index] = indexValue;
            indexPart = indexValue * (ulong)scale;
            indexRegister = Named(_index);
        }

        _gpr[_base] = ((ea - (ulong)d - indexPart) & mask) | Upper();
        return new MemoryOperand(Named(_base), indexRegister, indexRegister == Register.None ? 1 : scale, d, displSize);
    }

    private void FillAround(long offset, int radius)
    {
        int from = (int)Math.Max(0, offset - radius);
        int to = (int)Math.Min(BufferSize, offset + radius);
        _rng.NextBytes(_memory.AsSpan(from, to - from));
    }

    private bool Encode(in Instruction ins, out byte[] bytes, out string? reason)
    {
        _sink.Clear();
        if (!_encoder.TryEncode(ins, _codeAddress, out _, out string? error))
        {
            bytes = [];
            reason = $"cannot encode {ins}: {error}";
            return false;
        }

        bytes = _sink.ToArray();
        reason = null;
        return true;
    }

    private bool DecodesBack(byte[] bytes, out string? reason)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes), _codeAddress);
        decoder.Decode(out Instruction decoded);
        reason = decoded.Code == _form.Code && decoded.Length == bytes.Length ? null : $"encoding decodes as {decoded.Code}";
        return reason is null;
    }

    /// <summary>False when the instruction implicitly uses (say RAX of CMPXCHG, RDX:RAX of DIV) a register that addresses its memory operand: its set-up would move the operand.</summary>
    private bool AddressingSurvives(in Instruction ins, out string? reason)
    {
        reason = null;
        if (_base < 0 && _index < 0)
        {
            return true;
        }

        var explicitRegisters = new HashSet<Register>();
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) == OpKind.Register)
            {
                explicitRegisters.Add(ins.GetOpRegister(i));
            }
        }

        foreach (UsedRegister used in _infoFactory.GetInfo(ins).GetUsedRegisters())
        {
            Register r = used.Register;
            if (!r.IsGPR() || explicitRegisters.Contains(r) || r == ins.MemoryBase || r == ins.MemoryIndex)
            {
                continue;
            }

            int index = RegisterModel.Index(r);
            if (index == _base || index == _index)
            {
                reason = "an implicit operand is also an address register";
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes a register unless it addresses the memory operand (its value is then fixed).</summary>
    private void SetRegister(Register r, ulong value)
    {
        int i = RegisterModel.Index(r);
        if (i != _base && i != _index)
        {
            RegisterModel.Write(_gpr, r, value);
        }
    }

    private ulong ReadMemory(long offset, int size)
    {
        ulong v = 0;
        for (int b = 0; b < size; b++)
        {
            v |= (ulong)_memory[offset + b] << (8 * b);
        }

        return v;
    }

    private void WriteMemory(long offset, int size, ulong value)
    {
        for (int b = 0; b < size; b++)
        {
            _memory[offset + b] = (byte)(value >> (8 * b));
        }
    }

    private bool SetOperandValues(in Instruction ins, out string? reason)
    {
        reason = null;
        int memorySize = _info.MemorySize.GetSize();
        if (_target >= 0 && Mnemonic != Mnemonic.Lea && _shapes.All(s => s.Role != OperandRole.Vsib))
        {
            for (int part = 0; part < Math.Max(memorySize, 1); part += 8)
            {
                int size = Math.Min(8, Math.Max(memorySize, 1));
                ulong value = _form.Simd ? VectorValues.Next(_rng) & RegisterModel.Mask(size) : EdgeValues.Sized(_rng, size);
                WriteMemory(_target + part, size, value);
            }
        }

        if (Mnemonic is Mnemonic.Ldmxcsr or Mnemonic.Vldmxcsr)
        {
            // A valid MXCSR, with every exception masked unless the case may fault; or, one time in
            // FaultingShare, a reserved bit set (#GP(0), Intel SDM Vol. 2A LDMXCSR).
            bool reserved = _rng.Next(FaultingShare) == 0;
            uint reservedBit = reserved ? 1u << _rng.Next(16, 32) : 0;
            reservedBit = (reservedBit & VendorDifferences.HostOnlyMxcsrBits) != 0 ? 1u << 16 : reservedBit;
            uint value = VectorValues.Mxcsr(_rng, _mayFault) | reservedBit;
            _mayFault |= reserved;
            WriteMemory(_target, 4, value);
        }

        if (IsShiftOrRotate)
        {
            for (int i = 0; i < ins.OpCount; i++)
            {
                if (ins.GetOpKind(i) == OpKind.Register && ins.GetOpRegister(i) == Register.CL && i > 0)
                {
                    SetRegister(Register.CL, EdgeValues.Count(_rng, OperandBits()));
                }
            }

            // Intel SDM Vol. 2B SHLD/SHRD: a count greater than the operand size leaves the
            // destination undefined; such counts are only possible with 16-bit operands.
            if (Mnemonic is Mnemonic.Shld or Mnemonic.Shrd && (int)(ShiftCount(ins) & 0x1f) > OperandBits())
            {
                reason = "SHLD/SHRD count above the operand size (undefined result)";
                return false;
            }
        }

        if (IsBitTest && _form.Memory && ins.Op1Kind == OpKind.Register)
        {
            // A register bit offset addresses any bit of a string starting at the operand (Intel
            // SDM Vol. 2A BT); keep it within 4 KiB either way so the access stays in the buffer.
            int size = ins.Op1Register.GetSize();
            long offset = size == 2 ? (short)_rng.Next(0x10000) : _rng.Next(-32768, 32768);
            ulong upper = size == 8 ? 0 : EdgeValues.Random64(_rng) & ~RegisterModel.Mask(size);
            _gpr[RegisterModel.Index(ins.Op1Register)] = upper | ((ulong)offset & RegisterModel.Mask(size));
        }

        if (Mnemonic == Mnemonic.Cmpxchg && _rng.Next(2) == 0)
        {
            int size = _shapes[0].Size;
            ulong destination = _form.Memory ? ReadMemory(_target, size) : RegisterModel.Read(_gpr, ins.Op0Register);
            SetRegister(RegisterModel.OfSize(0, size), destination);
        }

        if (Mnemonic is Mnemonic.Cmpxchg8b or Mnemonic.Cmpxchg16b && _rng.Next(2) == 0)
        {
            int half = memorySize / 2;
            SetRegister(RegisterModel.OfSize(0, half), ReadMemory(_target, half));
            SetRegister(RegisterModel.OfSize(2, half), ReadMemory(_target + half, half));
        }

        if (Mnemonic is Mnemonic.Div or Mnemonic.Idiv && _rng.Next(FaultingShare) == 0)
        {
            MakeDivisionFault(ins);
            _mayFault = true;
        }
        else if (Mnemonic is Mnemonic.Div or Mnemonic.Idiv && !RepairDivision(ins))
        {
            reason = "no non-faulting operands found (every draw divides by zero or overflows)";
            return false;
        }

        return true;
    }

    private ulong ShiftCount(in Instruction ins)
    {
        int countOperand = ins.OpCount - 1;
        return ins.GetOpKind(countOperand) == OpKind.Register
            ? RegisterModel.Read(_gpr, ins.GetOpRegister(countOperand))
            : ins.GetImmediate(countOperand);
    }

    // DIV and IDIV raise #DE for a zero divisor or a quotient that does not fit (Intel SDM Vol. 2A
    // DIV, IDIV): redraw the dividend and divisor until neither happens.
    private bool RepairDivision(in Instruction ins)
    {
        int size = _form.Memory ? _info.MemorySize.GetSize() : ins.Op0Register.GetSize();
        bool signed = Mnemonic == Mnemonic.Idiv;
        Register low = size == 1 ? Register.AL : RegisterModel.OfSize(0, size);
        Register high = size == 1 ? Register.AH : RegisterModel.OfSize(2, size);
        for (int attempt = 0; attempt < RepairAttempts; attempt++)
        {
            ulong divisor = _form.Memory ? ReadMemory(_target, size) : RegisterModel.Read(_gpr, ins.Op0Register);
            if (!DivisionFaults(RegisterModel.Read(_gpr, high), RegisterModel.Read(_gpr, low), divisor, size, signed))
            {
                return true;
            }

            switch (_rng.Next(4))
            {
                case 0:
                    ulong d = EdgeValues.Sized(_rng, size);
                    if (_form.Memory)
                    {
                        WriteMemory(_target, size, d);
                    }
                    else
                    {
                        SetRegister(ins.Op0Register, d);
                    }

                    break;
                case 1:
                    bool negative = (RegisterModel.Read(_gpr, low) >> ((size * 8) - 1)) != 0;
                    SetRegister(high, signed && negative ? ulong.MaxValue : 0);
                    break;
                case 2:
                    SetRegister(high, divisor == 0 ? 0 : EdgeValues.Sized(_rng, size) % divisor);
                    break;
                default:
                    SetRegister(low, EdgeValues.Sized(_rng, size));
                    SetRegister(high, EdgeValues.Sized(_rng, size));
                    break;
            }
        }

        return false;
    }

    // A zero divisor, a dividend whose high half is too large, the most negative dividend over
    // -1 (IDIV), or the operands as drawn.
    private void MakeDivisionFault(in Instruction ins)
    {
        int size = _form.Memory ? _info.MemorySize.GetSize() : ins.Op0Register.GetSize();
        Register low = size == 1 ? Register.AL : RegisterModel.OfSize(0, size);
        Register high = size == 1 ? Register.AH : RegisterModel.OfSize(2, size);
        Register divisor = ins.Op0Register;
        void SetDivisor(ulong d)
        {
            if (_form.Memory)
            {
                WriteMemory(_target, size, d);
            }
            else
            {
                SetRegister(divisor, d);
            }
        }

        switch (_rng.Next(4))
        {
            case 0:
                SetDivisor(0);
                break;
            case 1:
                SetRegister(high, RegisterModel.Mask(size) - (ulong)_rng.Next(4));
                break;
            case 2:
                SetRegister(high, 1UL << ((size * 8) - 1));
                SetRegister(low, 0);
                SetDivisor(RegisterModel.Mask(size));
                break;
            default:
                break;
        }
    }

    private static bool DivisionFaults(ulong high, ulong low, ulong divisor, int size, bool signed)
    {
        int bits = size * 8;
        if (divisor == 0)
        {
            return true;
        }

        if (!signed)
        {
            UInt128 dividend = ((UInt128)high << bits) | low;
            return dividend / divisor > RegisterModel.Mask(size);
        }

        Int128 dividendSigned = (Int128)(((UInt128)high << bits) | low) << (128 - (2 * bits)) >> (128 - (2 * bits));
        Int128 divisorSigned = (long)(divisor << (64 - bits)) >> (64 - bits);
        if (dividendSigned == Int128.MinValue && divisorSigned == -1)
        {
            return true;
        }

        Int128 quotient = dividendSigned / divisorSigned;
        Int128 max = (Int128)(RegisterModel.Mask(size) >> 1);
        return quotient > max || quotient < -max - 1;
    }

    private Instruction BuildString()
    {
        bool addr32 = _rng.Next(4) == 0;
        int addressSize = addr32 ? 32 : 64;
        bool compares = Mnemonic is Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq
            or Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq;
        RepPrefixKind rep = compares
            ? (RepPrefixKind)_rng.Next(3)
            : _rng.Next(3) == 0 ? RepPrefixKind.None : RepPrefixKind.Repe;
        int element = _info.MemorySize.GetSize();

        // The source (DS:RSI) may be overridden to GS; the destination ES:RDI cannot be.
        Register source = _gsPrefixes && _rng.Next(8) == 0 ? Register.GS : Register.None;
        Instruction ins = Mnemonic switch
        {
            Mnemonic.Movsb => Instruction.CreateMovsb(addressSize, source, rep),
            Mnemonic.Movsw => Instruction.CreateMovsw(addressSize, source, rep),
            Mnemonic.Movsd => Instruction.CreateMovsd(addressSize, source, rep),
            Mnemonic.Movsq => Instruction.CreateMovsq(addressSize, source, rep),
            Mnemonic.Cmpsb => Instruction.CreateCmpsb(addressSize, source, rep),
            Mnemonic.Cmpsw => Instruction.CreateCmpsw(addressSize, source, rep),
            Mnemonic.Cmpsd => Instruction.CreateCmpsd(addressSize, source, rep),
            Mnemonic.Cmpsq => Instruction.CreateCmpsq(addressSize, source, rep),
            Mnemonic.Lodsb => Instruction.CreateLodsb(addressSize, source, rep),
            Mnemonic.Lodsw => Instruction.CreateLodsw(addressSize, source, rep),
            Mnemonic.Lodsd => Instruction.CreateLodsd(addressSize, source, rep),
            Mnemonic.Lodsq => Instruction.CreateLodsq(addressSize, source, rep),
            Mnemonic.Stosb => Instruction.CreateStosb(addressSize, rep),
            Mnemonic.Stosw => Instruction.CreateStosw(addressSize, rep),
            Mnemonic.Stosd => Instruction.CreateStosd(addressSize, rep),
            Mnemonic.Stosq => Instruction.CreateStosq(addressSize, rep),
            Mnemonic.Scasb => Instruction.CreateScasb(addressSize, rep),
            Mnemonic.Scasw => Instruction.CreateScasw(addressSize, rep),
            Mnemonic.Scasd => Instruction.CreateScasd(addressSize, rep),
            _ => Instruction.CreateScasq(addressSize, rep),
        };

        // RSI and RDI point into the middle of the buffer and RCX counts at most 12 elements, so
        // a run in either direction stays inside it.
        ulong Upper() => addr32 ? EdgeValues.Random64(_rng) & ~0xffff_ffffUL : 0;
        long from = _rng.Next(4096, 12288), destination = _rng.Next(4096, 12288);
        ulong sourceOffset = OffsetInSegment(_buffer + (ulong)from, source == Register.GS, addr32);
        _gpr[6] = addr32 ? (sourceOffset & 0xffff_ffff) | Upper() : sourceOffset;
        _gpr[7] = (_buffer + (ulong)destination) | Upper();
        if (rep != RepPrefixKind.None)
        {
            ulong count = (ulong)(_rng.Next(6) == 0 ? 0 : _rng.Next(1, 13));
            _gpr[1] = count | Upper();
        }

        FillAround(from, 160);
        FillAround(destination, 160);
        if (compares)
        {
            SetUpMatches(from, destination, element);
        }

        return ins;
    }

    // Makes REPE/REPNE stop at interesting places: a run of equal elements with one difference,
    // or a run of different elements with one match.
    private void SetUpMatches(long source, long destination, int element)
    {
        bool scan = Mnemonic is Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq;
        int mode = _rng.Next(3);
        int odd = _rng.Next(-12, 13);
        for (int k = -13; k <= 13; k++)
        {
            long at = destination + (k * element);
            if (at < 0 || at + element > BufferSize)
            {
                continue;
            }

            ulong wanted = scan ? RegisterModel.Read(_gpr, RegisterModel.OfSize(0, element)) : ReadMemory(source + (k * element), element);
            bool equal = mode switch
            {
                0 => k != odd,
                1 => k == odd,
                _ => _rng.Next(2) == 0,
            };
            WriteMemory(at, element, equal ? wanted : wanted ^ (1UL << _rng.Next(element * 8)));
        }
    }

    private Instruction BuildXlat()
    {
        bool addr32 = _rng.Next(4) == 0;
        _target = ChooseTarget(1, 1);
        FillAround(_target, 256);
        _base = 3;
        ulong al = _gpr[0] & 0xff;
        ulong rbx = _buffer + (ulong)_target - al;
        _gpr[3] = addr32 ? (rbx & 0xffff_ffff) | (EdgeValues.Random64(_rng) & ~0xffff_ffffUL) : rbx;
        return Instruction.Create(_form.Code, new MemoryOperand(addr32 ? Register.EBX : Register.RBX, Register.AL));
    }

    /// <summary>Collects the encoder's output.</summary>
    private sealed class ByteSink : CodeWriter
    {
        private readonly List<byte> _bytes = new(16);

        public override void WriteByte(byte value) => _bytes.Add(value);

        public void Clear() => _bytes.Clear();

        public byte[] ToArray() => [.. _bytes];
    }
}
