using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>Jcc to a label, by Iced's condition code (the host's conditions are the guest's).</summary>
internal static class ConditionalJumps
{
    public static void Emit(Assembler a, ConditionCode cc, Label target)
    {
        switch (cc)
        {
            case ConditionCode.o: a.jo(target); break;
            case ConditionCode.no: a.jno(target); break;
            case ConditionCode.b: a.jb(target); break;
            case ConditionCode.ae: a.jae(target); break;
            case ConditionCode.e: a.je(target); break;
            case ConditionCode.ne: a.jne(target); break;
            case ConditionCode.be: a.jbe(target); break;
            case ConditionCode.a: a.ja(target); break;
            case ConditionCode.s: a.js(target); break;
            case ConditionCode.ns: a.jns(target); break;
            case ConditionCode.p: a.jp(target); break;
            case ConditionCode.np: a.jnp(target); break;
            case ConditionCode.l: a.jl(target); break;
            case ConditionCode.ge: a.jge(target); break;
            case ConditionCode.le: a.jle(target); break;
            case ConditionCode.g: a.jg(target); break;
            default: throw new ArgumentOutOfRangeException(nameof(cc));
        }
    }
}
