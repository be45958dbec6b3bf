using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// The general (ModRM) encoding of instructions the guest may have used in a short form bound to
/// one register: the accumulator forms (ADD EAX,imm32; TEST AL,imm8; XCHG r32,EAX) and the
/// one-byte INC/DEC r32 of 32-bit code (opcodes 40h-4Fh, REX prefixes in 64-bit mode), MOV to and
/// from a bare offset. Once the
/// guest register is replaced by another host register, only the general form can encode it.
/// </summary>
internal static class GeneralForms
{
    private static readonly Dictionary<Code, Code> Map = Build();

    public static Code Of(Code code) => Map.TryGetValue(code, out Code general) ? general : code;

    private static Dictionary<Code, Code> Build()
    {
        var map = new Dictionary<Code, Code>
        {
            [Code.Inc_r16] = Code.Inc_rm16,
            [Code.Inc_r32] = Code.Inc_rm32,
            [Code.Dec_r16] = Code.Dec_rm16,
            [Code.Dec_r32] = Code.Dec_rm32,
            [Code.Xchg_r16_AX] = Code.Xchg_rm16_r16,
            [Code.Xchg_r32_EAX] = Code.Xchg_rm32_r32,
            [Code.Xchg_r64_RAX] = Code.Xchg_rm64_r64,

            // MOV with a bare offset (A0h-A3h): the host operand is [R10].
            [Code.Mov_AL_moffs8] = Code.Mov_r8_rm8,
            [Code.Mov_AX_moffs16] = Code.Mov_r16_rm16,
            [Code.Mov_EAX_moffs32] = Code.Mov_r32_rm32,
            [Code.Mov_RAX_moffs64] = Code.Mov_r64_rm64,
            [Code.Mov_moffs8_AL] = Code.Mov_rm8_r8,
            [Code.Mov_moffs16_AX] = Code.Mov_rm16_r16,
            [Code.Mov_moffs32_EAX] = Code.Mov_rm32_r32,
            [Code.Mov_moffs64_RAX] = Code.Mov_rm64_r64,
        };

        // Add_EAX_imm32 -> Add_rm32_imm32, Test_AL_imm8 -> Test_rm8_imm8, And_RAX_imm32 -> And_rm64_imm32, ...
        (string Register, string Rm)[] accumulators = [("AL", "rm8"), ("AX", "rm16"), ("EAX", "rm32"), ("RAX", "rm64")];
        foreach (Code code in Enum.GetValues<Code>())
        {
            string[] parts = code.ToString().Split('_');
            if (parts.Length != 3 || !parts[2].StartsWith("imm", StringComparison.Ordinal))
            {
                continue;
            }

            foreach ((string register, string rm) in accumulators)
            {
                if (parts[1] == register && Enum.TryParse($"{parts[0]}_{rm}_{parts[2]}", out Code general))
                {
                    map[code] = general;
                }
            }
        }

        return map;
    }
}
