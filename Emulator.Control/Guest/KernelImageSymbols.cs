using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Cpu;
using Emulator.Core.Memory;

namespace Emulator.Control.Guest;

/// <summary>
/// The kallsyms of a bzImage (<see cref="KernelImagePayload"/>, decoded by <see cref="KallsymsFinder"/>)
/// at the addresses the kernel was linked at, and the kernel's banner there, to check that a running
/// guest runs this very build.
/// </summary>
/// <param name="Path">The bzImage.</param>
/// <param name="Linked">The symbols at their link-time addresses (what the build's System.map lists).</param>
/// <param name="Banner">linux_banner's text ("Linux version ..."), or null when the image does not say.</param>
public sealed record KernelImageSymbols(string Path, KernelSymbols Linked, string? Banner)
{
    /// <summary>IA32_LSTAR: RIP of SYSCALL in 64-bit mode, which Linux points at entry_SYSCALL_64.</summary>
    public const uint Lstar = 0xC000_0082;

    // CONFIG_PHYSICAL_ALIGN must be a multiple of 2 MiB on x86-64 (arch/x86/Kconfig), and KASLR moves
    // the kernel's virtual base in steps of it.
    private const ulong KaslrStep = 2 << 20;

    private const string SyscallEntry = "entry_SYSCALL_64";
    private const string BannerSymbol = "linux_banner";

    /// <summary>Decompresses and decodes <paramref name="path"/>; every problem is one line naming the file.</summary>
    public static KernelImageSymbols Read(string path)
    {
        byte[] image = KernelImagePayload.Decompress(path);
        KernelSymbols linked = KallsymsFinder.Find(image, out string why) ?? throw new InvalidDataException($"{path}: {why}");
        string? banner = linked.AddressOf(BannerSymbol) is { } at && ElfImage.FileOffset(image, at) is { } offset ? CString(image.AsSpan((int)offset)) : null;
        return new KernelImageSymbols(path, linked, banner);
    }

    /// <summary>
    /// The symbols moved to where the running kernel has them. KASLR moves the whole image by one
    /// offset, which the SYSCALL entry point in vCPU <paramref name="state"/>'s LSTAR gives; the
    /// banner read through that vCPU's page tables at the moved linux_banner must be this image's,
    /// so that a guest running another kernel is not given these symbols. Null with the reason.
    /// </summary>
    public KernelSymbols? Relocate(AddressSpace memory, CpuState state, out string why)
    {
        ulong lstar = state.Msrs.GetValueOrDefault(Lstar);
        if (lstar == 0)
        {
            why = "the guest kernel has not set up SYSCALL yet (LSTAR is 0), so its KASLR offset is unknown";
            return null;
        }

        if (Linked.AddressOf(SyscallEntry) is not { } entry)
        {
            why = $"{Path}: no {SyscallEntry} among its symbols";
            return null;
        }

        ulong delta = lstar - entry;
        if (delta % KaslrStep != 0)
        {
            why = $"LSTAR 0x{lstar:x} is not {SyscallEntry} of {Path} moved in 2 MiB steps: the guest runs another kernel";
            return null;
        }

        if (Banner is not null)
        {
            byte[] running = new byte[Encoding.ASCII.GetByteCount(Banner)];
            int read = new GuestVirtualMemory(memory, state).Read(Linked.AddressOf(BannerSymbol)!.Value + delta, running);
            if (read != running.Length || Encoding.ASCII.GetString(running) != Banner)
            {
                why = $"the running kernel's linux_banner is not the one in {Path}: the guest runs another kernel";
                return null;
            }
        }

        why = string.Empty;
        return Linked.Relocated(delta);
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? bytes : bytes[..end]);
    }

    // Where a virtual address of an ELF64 vmlinux lies in the file, through its PT_LOAD program headers.
    private static class ElfImage
    {
        private const uint PtLoad = 1;

        public static long? FileOffset(ReadOnlySpan<byte> elf, ulong address)
        {
            if (elf.Length < 64 || !elf.StartsWith("\u007fELF"u8) || elf[4] != 2 || elf[5] != 1)
            {
                return null; // not a little-endian ELF64
            }

            ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x20..]);
            int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
            int phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
            for (int i = 0; i < phnum; i++)
            {
                ulong at = phoff + ((ulong)i * (ulong)phentsize);
                if (phentsize < 56 || at + 56 > (ulong)elf.Length)
                {
                    return null;
                }

                ReadOnlySpan<byte> ph = elf[(int)at..];
                ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x08..]);
                ulong vaddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x10..]);
                ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x20..]);
                if (BinaryPrimitives.ReadUInt32LittleEndian(ph) == PtLoad && address >= vaddr && address - vaddr < filesz
                    && offset + (address - vaddr) < (ulong)elf.Length)
                {
                    return (long)(offset + (address - vaddr));
                }
            }

            return null;
        }
    }
}
