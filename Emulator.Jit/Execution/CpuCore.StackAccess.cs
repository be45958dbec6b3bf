using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.State;

/// <summary>Stack pushes and pops with the stack-address size of SS (Intel SDM Vol. 1 6.2.3).</summary>
internal sealed partial class CpuCore
{
    /// <summary>Bytes of RSP used as the stack pointer: 2 (SS.B clear), 4, or 8 in 64-bit mode.</summary>
    public int StackAddressSize => Bitness == 64 ? 8 : Seg[(int)SegIndex.Ss].DefaultBig ? 4 : 2;

    public ulong StackPointer
    {
        get => StackAddressSize switch { 2 => (ushort)R[4], 4 => (uint)R[4], _ => R[4] };
        set => SetStackPointer(value, StackAddressSize);
    }

    /// <summary>
    /// Writes SP, ESP or RSP as a stack of <paramref name="addressSize"/> bytes would: a 16-bit
    /// stack keeps ESP's upper half. For an instruction that changes SS's size while it runs (POP SS).
    /// </summary>
    public void SetStackPointer(ulong value, int addressSize)
    {
        switch (addressSize)
        {
            case 2: R[4] = (R[4] & ~0xffffUL) | (value & 0xffff); break;
            case 4: R[4] = (uint)value; break;
            default: R[4] = value; break;
        }
    }

    public void Push(ulong value, int size)
    {
        ulong mask = StackAddressSize switch { 2 => 0xffffUL, 4 => 0xffff_ffffUL, _ => ulong.MaxValue };
        ulong sp = (StackPointer - (ulong)size) & mask;
        WriteSized(Linear((int)SegIndex.Ss, sp, size), size, value);
        StackPointer = sp;
    }

    /// <summary>
    /// Moves the stack pointer down by <paramref name="slotSize"/> bytes (checked as a push of that
    /// size) and writes only the low word of the slot: PUSH of a segment register with a 32-bit
    /// operand size (Intel SDM Vol. 2B PUSH).
    /// </summary>
    public void PushWordInSlot(ushort value, int slotSize)
    {
        ulong mask = StackAddressSize switch { 2 => 0xffffUL, 4 => 0xffff_ffffUL, _ => ulong.MaxValue };
        ulong sp = (StackPointer - (ulong)slotSize) & mask;
        ulong linear = Linear((int)SegIndex.Ss, sp, slotSize);
        WriteSized(linear, 2, value);
        StackPointer = sp;
    }

    public ulong Pop(int size)
    {
        ulong sp = StackPointer;
        ulong value = ReadSized(Linear((int)SegIndex.Ss, sp, size), size);
        StackPointer = sp + (ulong)size;
        return value;
    }

    /// <summary>Reads the stack slot <paramref name="depth"/> bytes above the top without popping.</summary>
    public ulong PeekStack(int depth, int size)
    {
        ulong mask = StackAddressSize switch { 2 => 0xffffUL, 4 => 0xffff_ffffUL, _ => ulong.MaxValue };
        return ReadSized(Linear((int)SegIndex.Ss, (StackPointer + (ulong)depth) & mask, size), size);
    }
}
