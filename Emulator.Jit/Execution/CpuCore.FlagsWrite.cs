namespace Emulator.Jit.State;

/// <summary>Writes of RFLAGS from the stack (POPF, IRET), honouring which bits the current privilege may change.</summary>
internal sealed partial class CpuCore
{
    // Bits that never change through POPF/IRET here: reserved bits, and VM/VIF/VIP (Intel SDM Vol. 2B POPF, Table 4-16).
    private const uint PopfBase = 0x0000_7fd5 | AC | ID | RF;

    public void SetFlagsFromPop(ulong value, int size) => SetFlagsFromPopAtPrivilege(value, size, Cpl);

    /// <summary>
    /// As POPF, with the privilege checks made against <paramref name="cpl"/> (IRET checks the level
    /// it returns from); <paramref name="iret"/> also takes RF from the image, as IRETD/IRETQ do.
    /// </summary>
    public void SetFlagsFromPopAtPrivilege(ulong value, int size, int cpl, bool iret = false)
    {
        uint changeable = PopfBase;
        if (size == 2)
        {
            changeable &= 0xffff;
        }

        if (ProtectedMode)
        {
            int iopl = (int)(FlagsRest & IOPL) >> 12;
            if (cpl > 0)
            {
                changeable &= ~IOPL;
            }

            if (cpl > iopl)
            {
                changeable &= ~IF;
            }
        }

        // RF is cleared by POPF; only IRETD/IRETQ restore it (Intel SDM Vol. 3B 18.3.1.1, RF flag).
        uint current = (uint)Rflags;
        uint next = (current & ~changeable) | ((uint)value & changeable);
        if (!iret || size == 2)
        {
            next &= ~RF;
        }
        Rflags = next | 2;
        EndBlock = true;
    }
}
