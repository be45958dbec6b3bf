namespace Emulator.Jit.Execution;

/// <summary>
/// An architectural exception raised while executing a guest instruction (#GP, #UD, #PF...).
/// Thrown from deep inside operand access and caught once per instruction by the run loop, which
/// rolls RIP back to the faulting instruction and delivers the exception to the guest.
/// </summary>
internal sealed class GuestFault : Exception
{
    public GuestFault(int vector, int? errorCode = null)
        : base($"guest exception {vector}")
    {
        Vector = vector;
        ErrorCode = errorCode;
    }

    /// <summary>A page fault: <paramref name="address"/> is the linear address that goes to CR2 when the fault is delivered.</summary>
    public GuestFault(int vector, int errorCode, ulong address)
        : this(vector, errorCode)
    {
        Address = address;
    }

    public GuestFault()
        : this(Vectors.UD)
    {
    }

    public GuestFault(string message)
        : base(message)
    {
    }

    public GuestFault(string message, Exception inner)
        : base(message, inner)
    {
    }

    public int Vector { get; }

    public int? ErrorCode { get; }

    /// <summary>For #PF, the faulting linear address (CR2 is written only when the fault is delivered).</summary>
    public ulong Address { get; }
}

/// <summary>Exception vector numbers (Intel SDM Vol. 3A 6.3.1, Table 6-1).</summary>
internal static class Vectors
{
    public const int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
        TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

    /// <summary>Exceptions that push an error code in protected mode.</summary>
    public static bool HasErrorCode(int vector) => vector is DF or TS or NP or SS or GP or PF or AC;
}
