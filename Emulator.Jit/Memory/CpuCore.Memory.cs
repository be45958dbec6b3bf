using System.Runtime.CompilerServices;
using Emulator.Core.Memory;
using Emulator.Jit.Execution;
using Emulator.Jit.Memory;

namespace Emulator.Jit.State;

/// <summary>Linear and physical memory access: the TLB fast path and the region-walking slow path.</summary>
internal sealed unsafe partial class CpuCore
{
    public byte Read8(ulong linear)
    {
        int i = SoftTlb.Slot(linear);
        if (Tlb.ReadTag[i] == SoftTlb.Tag(linear))
        {
            return *(byte*)(Tlb.ReadHost[i] + (nint)(linear & SoftTlb.PageMask));
        }

        return (byte)ReadSlow(linear, 1);
    }

    public ushort Read16(ulong linear) => (ushort)ReadSized(linear, 2);

    public uint Read32(ulong linear) => (uint)ReadSized(linear, 4);

    public ulong Read64(ulong linear) => ReadSized(linear, 8);

    public void Write8(ulong linear, byte value)
    {
        int i = SoftTlb.Slot(linear);
        if (Tlb.WriteTag[i] == SoftTlb.Tag(linear))
        {
            *(byte*)(Tlb.WriteHost[i] + (nint)(linear & SoftTlb.PageMask)) = value;
            return;
        }

        WriteSlow(linear, 1, value);
    }

    public void Write16(ulong linear, ushort value) => WriteSized(linear, 2, value);

    public void Write32(ulong linear, uint value) => WriteSized(linear, 4, value);

    public void Write64(ulong linear, ulong value) => WriteSized(linear, 8, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadSized(ulong linear, int size)
    {
        int i = SoftTlb.Slot(linear);
        if (Tlb.ReadTag[i] == SoftTlb.Tag(linear) && (linear & SoftTlb.PageMask) <= SoftTlb.PageMask + 1 - (ulong)size)
        {
            byte* p = (byte*)(Tlb.ReadHost[i] + (nint)(linear & SoftTlb.PageMask));
            return size switch
            {
                1 => *p,
                2 => Unsafe.ReadUnaligned<ushort>(p),
                4 => Unsafe.ReadUnaligned<uint>(p),
                _ => Unsafe.ReadUnaligned<ulong>(p),
            };
        }

        return ReadSlow(linear, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteSized(ulong linear, int size, ulong value)
    {
        int i = SoftTlb.Slot(linear);
        if (Tlb.WriteTag[i] == SoftTlb.Tag(linear) && (linear & SoftTlb.PageMask) <= SoftTlb.PageMask + 1 - (ulong)size)
        {
            byte* p = (byte*)(Tlb.WriteHost[i] + (nint)(linear & SoftTlb.PageMask));
            switch (size)
            {
                case 1: *p = (byte)value; break;
                case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
                case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
                default: Unsafe.WriteUnaligned(p, value); break;
            }

            return;
        }

        WriteSlow(linear, size, value);
    }

    /// <summary>Linear to physical translation. Paging is not implemented yet: the CPU stops with an internal error instead of guessing.</summary>
    public ulong Translate(ulong linear)
    {
        if ((Cr0 & Cr0PG) != 0)
        {
            InternalError = "paging (CR0.PG) is not implemented in the software CPU yet";
            throw new GuestFault(Vectors.MC);
        }

        return linear;
    }

    private ulong ReadSlow(ulong linear, int size)
    {
        if ((linear & SoftTlb.PageMask) > SoftTlb.PageMask + 1 - (ulong)size)
        {
            // Crosses a page: each byte may translate differently.
            ulong v = 0;
            for (int b = 0; b < size; b++)
            {
                v |= (ulong)ReadSlow(linear + (ulong)b, 1) << (8 * b);
            }

            return v;
        }

        ulong physical = Translate(linear);
        MemoryRegion? region = Memory.Find(physical);
        if (region is { Kind: RegionKind.Ram or RegionKind.Rom } && region.Contains(physical | SoftTlb.PageMask) && region.Contains(physical & ~SoftTlb.PageMask))
        {
            int i = SoftTlb.Slot(linear);
            Tlb.ReadHost[i] = (nint)region.HostPointer(physical & ~SoftTlb.PageMask);
            Tlb.ReadTag[i] = SoftTlb.Tag(linear);
        }

        return Memory.ReadUInt(new GuestPhysicalAddress(physical), size);
    }

    private void WriteSlow(ulong linear, int size, ulong value)
    {
        if ((linear & SoftTlb.PageMask) > SoftTlb.PageMask + 1 - (ulong)size)
        {
            for (int b = 0; b < size; b++)
            {
                WriteSlow(linear + (ulong)b, 1, (byte)(value >> (8 * b)));
            }

            return;
        }

        ulong physical = Translate(linear);
        if (Code.IsCodePage(physical))
        {
            // Self-modifying code: the write invalidates decoded blocks (through the RAM write
            // observer) and the rest of the current block must not run stale.
            EndBlock = true;
        }

        MemoryRegion? region = Memory.Find(physical);
        Memory.WriteUInt(new GuestPhysicalAddress(physical), size, value);
        if (region is { Kind: RegionKind.Ram } && region.Contains(physical | SoftTlb.PageMask) && region.Contains(physical & ~SoftTlb.PageMask) && !Code.IsCodePage(physical))
        {
            int i = SoftTlb.Slot(linear);
            Tlb.WriteHost[i] = (nint)region.HostPointer(physical & ~SoftTlb.PageMask);
            Tlb.WriteTag[i] = SoftTlb.Tag(linear);
        }
    }
}
