namespace Emulator.Jit.State;

/// <summary>Writes of RFLAGS from the stack (POPF, IRET), honouring which bits the current privilege may change.</summary>
internal sealed partial class CpuCore
{
    // Bits that never change through POPF/IRET here: reserved bits, and VM/VIF/VIP (Intel SDM Vol. 2B POPF, Table 4-16).
    private const uint PopfBase = 0x0000_7fd5 | AC | ID | RF;

    public void SetFlagsFromPop(ulong value, int size) => SetFlagsFromPopAtPrivilege(value, size, Cpl);

    /// <summary>As POPF, with the privilege checks made against <paramref name="cpl"/> (IRET checks the level it returns from).</summary>
    public void SetFlagsFromPopAtPrivilege(ulong value, int size, int cpl)
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

        // RF is cleared by POPF; only IRET restores it.
        uint current = (uint)Rflags;
        uint next = (current & ~changeable) | ((uint)value & changeable);
        next &= ~RF;
        Rflags = next | 2;
        EndBlock = true;
    }
}
