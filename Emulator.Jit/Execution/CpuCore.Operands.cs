using System.Runtime.CompilerServices;
using Emulator.Jit.Execution;
using Iced.Intel;
using SegIndex = Emulator.Core.Cpu.Seg;

namespace Emulator.Jit.State;

/// <summary>Operand access shared by every instruction handler: registers, effective addresses, segmentation, immediates.</summary>
internal sealed partial class CpuCore
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadReg(Register reg)
    {
        int i = RegisterMap.Index[(int)reg];
        ulong v = R[i];
        return RegisterMap.Size[(int)reg] switch
        {
            1 => RegisterMap.HighByte[(int)reg] ? (byte)(v >> 8) : (byte)v,
            2 => (ushort)v,
            4 => (uint)v,
            _ => v,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteReg(Register reg, ulong value)
    {
        int i = RegisterMap.Index[(int)reg];
        switch (RegisterMap.Size[(int)reg])
        {
            case 1:
                R[i] = RegisterMap.HighByte[(int)reg]
                    ? (R[i] & ~0xff00UL) | ((value & 0xff) << 8)
                    : (R[i] & ~0xffUL) | (value & 0xff);
                break;
            case 2:
                R[i] = (R[i] & ~0xffffUL) | (value & 0xffff);
                break;
            case 4:
                // Intel SDM Vol. 1 3.4.1.1: a 32-bit destination zero-extends into the full register.
                R[i] = (uint)value;
                break;
            default:
                R[i] = value;
                break;
        }
    }

    /// <summary>Size in bytes of operand <paramref name="n"/>.</summary>
    public static int OpSize(in Instruction ins, int n)
    {
        OpKind kind = ins.GetOpKind(n);
        if (kind == OpKind.Register)
        {
            return RegisterMap.Size[(int)ins.GetOpRegister(n)];
        }

        return kind switch
        {
            OpKind.Memory => ins.MemorySize.GetSize(),
            OpKind.Immediate8 or OpKind.Immediate8_2nd => 1,
            OpKind.Immediate16 or OpKind.Immediate8to16 => 2,
            OpKind.Immediate32 or OpKind.Immediate8to32 => 4,
            _ => 8,
        };
    }

    /// <summary>The effective address (segment offset) of the memory operand, wrapped to the address size.</summary>
    public ulong EffectiveAddress(in Instruction ins)
    {
        ulong ea = ins.MemoryDisplacement64;
        Register baseReg = ins.MemoryBase;
        Register index = ins.MemoryIndex;
        if (baseReg == Register.RIP || baseReg == Register.EIP)
        {
            // Iced resolves RIP-relative operands to the absolute target at decode time.
            return ea & AddressMask(ins, Bitness);
        }

        if (baseReg != Register.None)
        {
            ea += R[RegisterMap.Index[(int)baseReg]];
        }

        if (index != Register.None)
        {
            ea += R[RegisterMap.Index[(int)index]] * (uint)ins.MemoryIndexScale;
        }

        return ea & AddressMask(ins, Bitness);
    }

    /// <summary>The mask of the address size a memory operand is computed in (from its registers, else its displacement).</summary>
    public static ulong AddressMask(in Instruction ins, int bitness)
    {
        Register baseReg = ins.MemoryBase;
        int addressSize = baseReg switch
        {
            Register.RIP => 8,
            Register.EIP => 4,
            Register.None => ins.MemoryIndex != Register.None ? RegisterMap.Size[(int)ins.MemoryIndex] : Math.Max((int)ins.MemoryDisplSize, bitness == 64 ? 8 : 2),
            _ => RegisterMap.Size[(int)baseReg],
        };
        return addressSize switch
        {
            2 => 0xffff,
            4 => 0xffff_ffff,
            _ => ulong.MaxValue,
        };
    }

    /// <summary>
    /// Applies segmentation to an offset: adds the base and checks the limit outside 64-bit mode
    /// (a data access past the limit is #GP(0), or #SS(0) through SS; Intel SDM Vol. 3A 5.3).
    /// </summary>
    public ulong Linear(int seg, ulong offset, int size)
    {
        ref Core.Cpu.SegmentRegister s = ref Seg[seg];
        if (Bitness == 64)
        {
            // No limits in 64-bit mode, but every byte must be canonical: #SS(0) through SS,
            // #GP(0) otherwise (Intel SDM Vol. 3A 3.3.7.1, 5.3.1).
            ulong linear = seg >= (int)SegIndex.Fs ? s.Base + offset : offset;
            if (linear + 0x8000_0000_0000UL > 0xffff_ffff_ffffUL - (ulong)(size - 1))
            {
                throw new GuestFault(seg == (int)SegIndex.Ss ? Vectors.SS : Vectors.GP, 0);
            }

            return linear;
        }

        // Usable expand-up data segments (every segment of a flat model, and of real mode but CS)
        // need only the limit check; code, expand-down and null segments take CheckedLinear.
        if ((s.Attributes & (Core.Cpu.SegmentRegister.Unusable | 0xc)) != 0)
        {
            return CheckedLinear(seg, offset, size, write: false);
        }

        if (offset > s.Limit || s.Limit - offset < (ulong)(size - 1))
        {
            throw new GuestFault(seg == (int)SegIndex.Ss ? Vectors.SS : Vectors.GP, 0);
        }

        return (s.Base + offset) & 0xffff_ffff;
    }

    /// <summary>
    /// <see cref="Linear"/> for an access that writes: in protected mode the segment must also be
    /// a writable data segment (a read-only data segment or any code segment is #GP(0); Intel SDM
    /// Vol. 3A 5.5, Table 3-1).
    /// </summary>
    public ulong LinearWrite(int seg, ulong offset, int size)
    {
        ref Core.Cpu.SegmentRegister s = ref Seg[seg];
        if (Bitness == 64 || (s.Attributes & (Core.Cpu.SegmentRegister.Unusable | 0xe)) != 2)
        {
            return Bitness == 64 ? Linear(seg, offset, size) : CheckedLinear(seg, offset, size, write: true);
        }

        return Linear(seg, offset, size);
    }

    // Intel SDM Vol. 3A 5.3 (limits; expand-down segments are valid from limit + 1 to 0xFFFF or,
    // with B set, 0xFFFFFFFF), 5.4.1 (a null segment register faults on use) and 5.5 (types: code
    // is never writable and readable only with R; data is writable only with W). Real mode and
    // virtual-8086 mode check the limit alone.
    private ulong CheckedLinear(int seg, ulong offset, int size, bool write)
    {
        ref Core.Cpu.SegmentRegister s = ref Seg[seg];
        int vector = seg == (int)SegIndex.Ss ? Vectors.SS : Vectors.GP;
        ulong last = offset + (ulong)(size - 1);
        if (!ProtectedMode || V86Mode)
        {
            if (offset > s.Limit || s.Limit - offset < (ulong)(size - 1))
            {
                throw new GuestFault(vector, 0);
            }

            return (s.Base + offset) & 0xffff_ffff;
        }

        uint type = s.Type;
        bool code = (type & 8) != 0;
        if ((s.Attributes & Core.Cpu.SegmentRegister.Unusable) != 0
            || (write && (code || (type & 2) == 0))
            || (!write && code && (type & 2) == 0))
        {
            throw new GuestFault(vector, 0);
        }

        if (!code && (type & 4) != 0)
        {
            ulong upper = s.DefaultBig ? 0xffff_ffffUL : 0xffffUL;
            if (offset <= s.Limit || last > upper || last < offset)
            {
                throw new GuestFault(vector, 0);
            }
        }
        else if (offset > s.Limit || s.Limit - offset < (ulong)(size - 1))
        {
            throw new GuestFault(vector, 0);
        }

        return (s.Base + offset) & 0xffff_ffff;
    }

    public static int SegmentIndex(Register segment) => segment - Register.ES;

    public ulong MemoryLinear(in Instruction ins, int size) =>
        Linear(SegmentIndex(ins.MemorySegment), EffectiveAddress(ins), size);

    /// <summary>The linear address of a memory operand the instruction writes (see <see cref="LinearWrite"/>).</summary>
    public ulong MemoryLinearWrite(in Instruction ins, int size) =>
        LinearWrite(SegmentIndex(ins.MemorySegment), EffectiveAddress(ins), size);

    public ulong ReadOp(in Instruction ins, int n, int size)
    {
        switch (ins.GetOpKind(n))
        {
            case OpKind.Register:
                return ReadReg(ins.GetOpRegister(n));
            case OpKind.Memory:
                return ReadSized(MemoryLinear(ins, size), size);
            default:
                ulong imm = ins.GetImmediate(n);
                return size == 8 ? imm : imm & ((1UL << (size * 8)) - 1);
        }
    }

    public void WriteOp(in Instruction ins, int n, int size, ulong value)
    {
        if (ins.GetOpKind(n) == OpKind.Register)
        {
            WriteReg(ins.GetOpRegister(n), value);
        }
        else
        {
            WriteSized(MemoryLinearWrite(ins, size), size, value);
        }
    }
}
