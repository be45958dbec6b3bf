using System.Globalization;

namespace Emulator.Control.Guest;

/// <summary>One kernel symbol: its address, its type letter (T/t text, D/d data, R/r read-only, ...) and name.</summary>
/// <param name="Address">The address the running kernel uses.</param>
/// <param name="Type">The nm-style type letter.</param>
/// <param name="Name">The name.</param>
public readonly record struct KernelSymbol(ulong Address, char Type, string Name)
{
    /// <summary>True for code (text, weak text).</summary>
    public bool IsText => Type is 'T' or 't' or 'W' or 'w';
}

/// <summary>
/// A kernel's symbol table, from guest memory (<see cref="KallsymsFinder"/>) or a file in the format
/// of /proc/kallsyms and System.map (<c>ADDRESS TYPE NAME</c> per line). Looks an address up as
/// "function+offset".
/// </summary>
public sealed class KernelSymbols
{
    // __START_KERNEL_map: the kernel image's mapping, the top 2 GiB (Documentation/arch/x86/x86_64/mm.rst).
    private const ulong KernelImageStart = 0xFFFF_FFFF_8000_0000UL;

    private readonly KernelSymbol[] _text;
    private readonly ulong[] _textAddresses;

    /// <summary>Takes the symbols; <paramref name="relativeBase"/> is kallsyms_relative_base (0 when from a file).</summary>
    public KernelSymbols(ulong relativeBase, IReadOnlyList<KernelSymbol> symbols)
    {
        RelativeBase = relativeBase;
        All = symbols;
        _text = [.. symbols.Where(s => s.IsText).OrderBy(s => s.Address)];
        _textAddresses = [.. _text.Select(s => s.Address)];
    }

    /// <summary>kallsyms_relative_base as the running kernel has it (the link address plus the KASLR offset).</summary>
    public ulong RelativeBase { get; }

    /// <summary>Every symbol, in the table's order.</summary>
    public IReadOnlyList<KernelSymbol> All { get; }

    /// <summary>Reads /proc/kallsyms or System.map text; lines that are not "hex type name" are skipped.</summary>
    public static KernelSymbols Parse(TextReader text)
    {
        var list = new List<KernelSymbol>();
        string? line;
        while ((line = text.ReadLine()) is not null)
        {
            string[] f = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 3 && f[1].Length == 1 && ulong.TryParse(f[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong address))
            {
                list.Add(new KernelSymbol(address, f[1][0], f[2]));
            }
        }

        return new KernelSymbols(0, list);
    }

    /// <summary>
    /// The table with the kernel image's symbols moved by <paramref name="delta"/> (KASLR's offset):
    /// those in the top 2 GiB, where x86-64 links the kernel. Absolute per-CPU symbols (offsets into
    /// the per-CPU area, near 0) do not move.
    /// </summary>
    public KernelSymbols Relocated(ulong delta) =>
        new(RelativeBase + delta, [.. All.Select(s => s.Address >= KernelImageStart ? s with { Address = s.Address + delta } : s)]);

    /// <summary>The text symbol at or below <paramref name="address"/>, and the distance from it; null below the first.</summary>
    public (KernelSymbol Symbol, ulong Offset)? Lookup(ulong address)
    {
        int i = Array.BinarySearch(_textAddresses, address);
        if (i < 0)
        {
            i = ~i - 1;
        }

        return i < 0 ? null : (_text[i], address - _text[i].Address);
    }

    /// <summary>The address of the first symbol called <paramref name="name"/>, or null.</summary>
    public ulong? AddressOf(string name) => All.FirstOrDefault(s => s.Name == name) is { Name: not null } s ? s.Address : null;

    /// <summary>The table as /proc/kallsyms prints the kernel's own symbols: in the table's order, "%016x %c %s".</summary>
    public void Write(TextWriter output)
    {
        foreach (KernelSymbol s in All)
        {
            output.Write(s.Address.ToString("x16", CultureInfo.InvariantCulture));
            output.Write(' ');
            output.Write(s.Type);
            output.Write(' ');
            output.WriteLine(s.Name);
        }
    }
}
