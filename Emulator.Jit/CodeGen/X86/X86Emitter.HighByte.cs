using Emulator.Jit.IntermediateRepresentation;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.CodeGen.X86;

/// <summary>
/// Register forms naming AH, CH, DH or BH (IrOp.HighByte). Those four exist only in instructions
/// without a REX prefix (Intel SDM Vol. 2A 2.2.1.2), so no such instruction can name the host
/// registers the guest's live in (RBP, RSI, RDI and R8-R15). Each guest register of the instruction
/// is copied whole into the host's RAX, RCX or RDX, the instruction runs there with the same byte
/// of each (AH stays AH of whichever register the guest's RAX went to), and the registers it writes
/// are copied back whole: the bytes it did not touch come back as they were. MOV leaves the flags alone.
/// </summary>
internal sealed unsafe partial class X86Emitter
{
    private static readonly Register[] HighByteScratch = [Register.RAX, Register.RCX, Register.RDX];

    private void HighByteNative(IrOp op)
    {
        Instruction ins = op.Ins;
        Span<int> guest = stackalloc int[HighByteScratch.Length];
        int used = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            if (ins.GetOpKind(i) != OpKind.Register)
            {
                continue;
            }

            Register reg = ins.GetOpRegister(i);
            int g = RegisterMap.Index[(int)reg];
            int h = guest[..used].IndexOf(g);
            if (h < 0)
            {
                h = used;
                guest[used++] = g;
            }

            int n = HighByteScratch[h] - Register.RAX;
            ins.SetOpRegister(i, RegisterMap.HighByte[(int)reg] ? Register.AH + n : HostRegisters.Sized(HighByteScratch[h], RegisterMap.Size[(int)reg]));
        }

        if (op.ReadsFlags)
        {
            LoadFlags();
        }

        for (int h = 0; h < used; h++)
        {
            _a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, HighByteScratch[h], _host[guest[h]]));
        }

        ins.IP = 0;
        _a.AddInstruction(ins);
        for (int h = 0; h < used; h++)
        {
            if ((op.Written & (1 << guest[h])) != 0)
            {
                _a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, _host[guest[h]], HighByteScratch[h]));
            }
        }

        FlagsAfter(op);
    }
}
