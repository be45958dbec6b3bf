using Iced.Intel;

namespace Emulator.Jit.State;

/// <summary>The condition codes of Jcc, SETcc, CMOVcc and LOOPcc (Intel SDM Vol. 1 Appendix B).</summary>
internal sealed partial class CpuCore
{
    public bool Condition(ConditionCode cc)
    {
        switch (cc)
        {
            case ConditionCode.e: return Flags.Zero;
            case ConditionCode.ne: return !Flags.Zero;
            case ConditionCode.b: return Flags.Carry;
            case ConditionCode.ae: return !Flags.Carry;
            default:
                break;
        }

        uint f = Flags.Get();
        bool cf = (f & LazyFlags.CF) != 0, zf = (f & LazyFlags.ZF) != 0, sf = (f & LazyFlags.SF) != 0;
        bool of = (f & LazyFlags.OF) != 0, pf = (f & LazyFlags.PF) != 0;
        return cc switch
        {
            ConditionCode.o => of,
            ConditionCode.no => !of,
            ConditionCode.be => cf || zf,
            ConditionCode.a => !cf && !zf,
            ConditionCode.s => sf,
            ConditionCode.ns => !sf,
            ConditionCode.p => pf,
            ConditionCode.np => !pf,
            ConditionCode.l => sf != of,
            ConditionCode.ge => sf == of,
            ConditionCode.le => zf || sf != of,
            ConditionCode.g => !zf && sf == of,
            _ => true,
        };
    }
}
