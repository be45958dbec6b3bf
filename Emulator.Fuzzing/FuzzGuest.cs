using System.Buffers.Binary;
using Emulator.Core.Cpu;
using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Fuzzing;

/// <summary>
/// The hostile guest: makes the accesses a vCPU's instructions would make (IN/OUT on the port bus,
/// loads and stores of 1-8 bytes, and longer ones a string or SIMD instruction splits, on the
/// physical address space, with the accessing vCPU's index set as a vCPU thread has it), draws every
/// choice from one seeded generator, and remembers the last access for the report.
/// </summary>
internal sealed class FuzzGuest(PcMachine machine, Random random)
{
    /// <summary>The machine under attack.</summary>
    public PcMachine Machine { get; } = machine;

    /// <summary>The seeded source of every choice.</summary>
    public Random Random { get; } = random;

    /// <summary>Bus accesses made so far.</summary>
    public long Accesses { get; private set; }

    /// <summary>The last access, for the report when a device throws or hangs.</summary>
    public string LastAccess { get; private set; } = "none";

    /// <summary>The vCPU the next accesses come from (for the local APIC page); may be one past the last vCPU.</summary>
    public int Cpu { get; set; }

    /// <summary>Guest RAM size.</summary>
    public ulong RamBytes { get; init; }

    /// <summary>OUT of <paramref name="size"/> bytes.</summary>
    public void Out(ushort port, int size, uint value)
    {
        Note($"out 0x{port:x4}, size {size}, 0x{value:x}");
        using VcpuContext.Scope _ = VcpuContext.Enter(Cpu);
        Machine.Platform.Io.Write(port, size, value);
    }

    /// <summary>IN of <paramref name="size"/> bytes.</summary>
    public uint In(ushort port, int size)
    {
        Note($"in 0x{port:x4}, size {size}");
        using VcpuContext.Scope _ = VcpuContext.Enter(Cpu);
        return Machine.Platform.Io.Read(port, size);
    }

    /// <summary>A store of <paramref name="size"/> bytes (1-16) of <paramref name="value"/> (zero-extended past 8).</summary>
    public void Store(ulong address, int size, ulong value)
    {
        Note($"store 0x{address:x}, size {size}, 0x{value:x}");
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        using VcpuContext.Scope _ = VcpuContext.Enter(Cpu);
        Machine.Platform.Memory.Write(new GuestPhysicalAddress(address), bytes[..size]);
    }

    /// <summary>A load of <paramref name="size"/> bytes (1-16); the low 8 are returned.</summary>
    public ulong Load(ulong address, int size)
    {
        Note($"load 0x{address:x}, size {size}");
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        using VcpuContext.Scope _ = VcpuContext.Enter(Cpu);
        Machine.Platform.Memory.Read(new GuestPhysicalAddress(address), bytes[..size]);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary>Stores of <paramref name="data"/> into guest memory (virtio rings and buffers the guest lays out).</summary>
    public void StoreBytes(ulong address, ReadOnlySpan<byte> data)
    {
        Note($"store 0x{address:x}, {data.Length} bytes");
        Machine.Platform.Memory.Write(new GuestPhysicalAddress(address), data);
    }

    /// <summary>A PCI configuration read through mechanism #1 (0xCF8/0xCFC).</summary>
    public uint ConfigRead(int device, int function, int register, int size)
    {
        Out(0xcf8, 4, ConfigAddress(0, device, function, register));
        return In((ushort)(0xcfc + (register & 3)), size);
    }

    /// <summary>A PCI configuration write through mechanism #1.</summary>
    public void ConfigWrite(int device, int function, int register, int size, uint value)
    {
        Out(0xcf8, 4, ConfigAddress(0, device, function, register));
        Out((ushort)(0xcfc + (register & 3)), size, value);
    }

    /// <summary>CONFIG_ADDRESS for bus/device/function/register (PCI 3.0 §3.2.2.3.2).</summary>
    public static uint ConfigAddress(int bus, int device, int function, int register) =>
        0x8000_0000u | ((uint)bus << 16) | ((uint)device << 11) | ((uint)function << 8) | ((uint)register & 0xfc);

    /// <summary>An access width a CPU uses for I/O: 1, 2 or 4 bytes.</summary>
    public int PortSize() => Random.Next(3) switch { 0 => 1, 1 => 2, _ => 4 };

    /// <summary>A memory access width: mostly 1-8, sometimes an odd or 16-byte one.</summary>
    public int MemorySize() => Random.Next(16) switch
    {
        < 3 => 1,
        < 6 => 2,
        < 11 => 4,
        < 14 => 8,
        14 => 16,
        _ => Random.Next(3, 8),
    };

    /// <summary>A value drawn to hit edges: zero, all ones, single bits, small numbers, or random.</summary>
    public ulong Value() => Random.Next(8) switch
    {
        0 => 0,
        1 => ulong.MaxValue,
        2 => 1UL << Random.Next(64),
        3 => ~(1UL << Random.Next(64)),
        4 => (ulong)Random.Next(256),
        5 => (ulong)Random.NextInt64() ^ ((ulong)Random.Next() << 33),
        6 => (ulong)Random.Next(0x10000),
        _ => (ulong)Random.NextInt64(),
    };

    /// <summary>A guest physical address: mostly in RAM, sometimes past it, in the MMIO hole, near the top or wrapping.</summary>
    public ulong Address(ulong alignment = 1)
    {
        ulong a = Random.Next(10) switch
        {
            < 6 => (ulong)Random.NextInt64((long)RamBytes),
            6 => RamBytes - (ulong)Random.Next(1, 0x2000),
            7 => 0xc000_0000UL + (ulong)Random.NextInt64(0x4000_0000),
            8 => ulong.MaxValue - (ulong)Random.Next(0x1000),
            _ => (ulong)Random.NextInt64(),
        };
        return a & ~(alignment - 1);
    }

    /// <summary>True with probability 1/<paramref name="n"/>.</summary>
    public bool OneIn(int n) => Random.Next(n) == 0;

    private void Note(string access)
    {
        Accesses++;
        LastAccess = access;
    }
}
