using Emulator.Jit.CodeGen.X86;
using Iced.Intel;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The translator's direct encoder against Iced's encoder as the oracle: for every form it
/// writes itself, random register and memory operands (every base and index register, RIP, each
/// scale, displacements of every width and each displacement size the emitter asks for) and
/// immediates give the same bytes from both; where Iced refuses an operand combination the direct
/// encoder must leave it to Iced too (return 0), never invent an encoding.
/// </summary>
public sealed class DirectEncoderTests
{
    private static readonly Register[] Gpr64 = Enumerable.Range(0, 16).Select(i => Register.RAX + i).ToArray();

    [Fact]
    public void EveryFormEncodesAsIcedDoes()
    {
        var random = new Random(20261206);
        var sink = new ByteSink();
        Encoder iced = Encoder.Create(64, sink);
        int compared = 0, left = 0;
        List<Code> codes = DirectEncoder.Codes().ToList();
        byte[] direct = new byte[15];
        Assert.True(codes.Count > 50, $"only {codes.Count} forms");
        foreach (Code code in codes)
        {
            OpCodeInfo info = code.ToOpCode();
            for (int trial = 0; trial < 400; trial++)
            {
                Instruction ins = RandomInstruction(code, info, random);
                ulong ip = 0x7f00_0000_0000UL + (ulong)random.Next(0, 1 << 20);
                sink.Bytes.Clear();
                bool icedEncodes = iced.TryEncode(ins, ip, out _, out _);
                int length = DirectEncoder.TryEncode(ins, ip, direct, out int displacementOffset);
                if (!icedEncodes)
                {
                    Assert.True(length == 0, $"{ins} ({code}): Iced refuses it, the direct encoder wrote {Convert.ToHexString(direct, 0, length)}");
                    continue;
                }

                if (length == 0)
                {
                    left++;
                    continue;
                }

                compared++;
                string expected = Convert.ToHexString(sink.Bytes.ToArray());
                Assert.True(expected == Convert.ToHexString(direct, 0, length), $"{ins} ({code}): Iced {expected}, direct {Convert.ToHexString(direct, 0, length)}");
                if (ins.IsIPRelativeMemoryOperand || (ins.OpCount > 0 && ins.Op0Kind == OpKind.Memory) || (ins.OpCount > 1 && ins.Op1Kind == OpKind.Memory))
                {
                    ConstantOffsets offsets = iced.GetConstantOffsets();
                    if (offsets.HasDisplacement)
                    {
                        Assert.Equal(offsets.DisplacementOffset, displacementOffset);
                    }
                }
            }
        }

        // The direct encoder takes the operands the emitter uses; it may leave rare ones (AH..BH) to Iced.
        Assert.True(compared > codes.Count * 300, $"compared {compared}, left to Iced {left}");
    }

    private static Instruction RandomInstruction(Code code, OpCodeInfo info, Random random)
    {
        var ins = default(Instruction);
        ins.Code = code;
        for (int i = 0; i < info.OpCount; i++)
        {
            OpCodeOperandKind kind = info.GetOpKind(i);
            switch (kind)
            {
                case OpCodeOperandKind.r8_or_mem when random.Next(2) == 0:
                case OpCodeOperandKind.r16_or_mem when random.Next(2) == 0:
                case OpCodeOperandKind.r32_or_mem when random.Next(2) == 0:
                case OpCodeOperandKind.r64_or_mem when random.Next(2) == 0:
                case OpCodeOperandKind.mem:
                    SetMemory(ref ins, i, random);
                    break;
                case OpCodeOperandKind.r8_or_mem:
                case OpCodeOperandKind.r8_reg:
                case OpCodeOperandKind.r8_opcode:
                    SetRegister(ref ins, i, Register.AL + random.Next(20));
                    break;
                case OpCodeOperandKind.r16_or_mem:
                case OpCodeOperandKind.r16_reg:
                    SetRegister(ref ins, i, Register.AX + random.Next(16));
                    break;
                case OpCodeOperandKind.r32_or_mem:
                case OpCodeOperandKind.r32_reg:
                case OpCodeOperandKind.r32_opcode:
                    SetRegister(ref ins, i, Register.EAX + random.Next(16));
                    break;
                case OpCodeOperandKind.r64_or_mem:
                case OpCodeOperandKind.r64_reg:
                case OpCodeOperandKind.r64_opcode:
                    SetRegister(ref ins, i, Register.RAX + random.Next(16));
                    break;
                case OpCodeOperandKind.al:
                    SetRegister(ref ins, i, Register.AL);
                    break;
                case OpCodeOperandKind.imm8:
                    ins.SetOpKind(i, OpKind.Immediate8);
                    ins.Immediate8 = (byte)random.Next(256);
                    break;
                case OpCodeOperandKind.imm8sex32:
                    ins.SetOpKind(i, OpKind.Immediate8to32);
                    ins.Immediate8to32 = (sbyte)random.Next(-128, 128);
                    break;
                case OpCodeOperandKind.imm8sex64:
                    ins.SetOpKind(i, OpKind.Immediate8to64);
                    ins.Immediate8to64 = (sbyte)random.Next(-128, 128);
                    break;
                case OpCodeOperandKind.imm16:
                    ins.SetOpKind(i, OpKind.Immediate16);
                    ins.Immediate16 = (ushort)random.Next(65536);
                    break;
                case OpCodeOperandKind.imm32:
                    ins.SetOpKind(i, OpKind.Immediate32);
                    ins.Immediate32 = (uint)random.NextInt64();
                    break;
                case OpCodeOperandKind.imm32sex64:
                    ins.SetOpKind(i, OpKind.Immediate32to64);
                    ins.Immediate32to64 = (int)random.NextInt64();
                    break;
                case OpCodeOperandKind.imm64:
                    ins.SetOpKind(i, OpKind.Immediate64);
                    ins.Immediate64 = (ulong)random.NextInt64() * (ulong)random.Next(1, 3);
                    break;
                case OpCodeOperandKind.br64_4:
                    ins.SetOpKind(i, OpKind.NearBranch64);
                    ins.NearBranch64 = 0x7f00_0000_0000UL + (ulong)random.Next(0, 1 << 24);
                    break;
                default:
                    throw new InvalidOperationException($"{code}: operand kind {kind} not generated");
            }
        }

        return ins;
    }

    private static void SetRegister(ref Instruction ins, int operand, Register register)
    {
        ins.SetOpKind(operand, OpKind.Register);
        ins.SetOpRegister(operand, register);
    }

    private static void SetMemory(ref Instruction ins, int operand, Random random)
    {
        ins.SetOpKind(operand, OpKind.Memory);
        if (random.Next(8) == 0)
        {
            ins.MemoryBase = Register.RIP;
            ins.MemoryIndex = Register.None;
            ins.MemoryDisplSize = 8;
            ins.MemoryDisplacement64 = 0x7f00_0000_0000UL + (ulong)random.Next(0, 1 << 24);
            return;
        }

        ins.MemoryBase = Gpr64[random.Next(16)];
        ins.MemoryIndex = random.Next(3) == 0 ? Gpr64[random.Next(16)] : Register.None;
        ins.MemoryIndexScale = 1 << random.Next(4);
        long displacement = random.Next(4) switch
        {
            0 => 0,
            1 => random.Next(-128, 128),
            2 => random.Next(-100_000, 100_000),
            _ => (int)random.NextInt64(),
        };
        ins.MemoryDisplacement64 = (ulong)displacement;
        ins.MemoryDisplSize = random.Next(4) switch { 0 => 0, 1 => 1, 2 => 4, _ => 8 };
        if (displacement != 0 && ins.MemoryDisplSize == 0)
        {
            ins.MemoryDisplSize = 1;
        }
    }

    private sealed class ByteSink : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
