using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Emulator.Devices.Acpi;
using Emulator.Machines.Acpi;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Boot;

/// <summary>The ACPI tables checked against the field layouts of ACPI 6.5 chapter 5, and by iasl when installed.</summary>
public sealed class AcpiTablesTests : IDisposable
{
    private readonly GuestMemory _m = new();

    public void Dispose() => _m.Dispose();

    private static byte Sum(ReadOnlySpan<byte> b)
    {
        byte s = 0;
        foreach (byte x in b)
        {
            s += x;
        }

        return s;
    }

    private (byte[] Rsdp, Dictionary<string, (ulong Address, byte[] Bytes)> Tables) Written(int cpus = 2, bool hpet = true)
    {
        AcpiTables.Build(_m.Map, cpus, hpet).Write(_m.Space);

        // Find the RSDP as an OS does (ACPI 6.5 5.2.5.1): the first KiB of the EBDA (its segment at
        // 40E in the BIOS data area), then the BIOS read-only area E0000-FFFFF, on 16-byte boundaries.
        ulong ebda = (ulong)_m.Space.ReadUInt(new(0x40e), 2) << 4;
        Assert.Equal(0x9fc00ul, ebda);
        ulong rsdpAt = Search(ebda, ebda + 1024);
        if (rsdpAt == ulong.MaxValue)
        {
            rsdpAt = Search(0xe0000, 0x100000);
        }

        Assert.NotEqual(ulong.MaxValue, rsdpAt);
        byte[] rsdp = _m.Read(rsdpAt, Rsdp.Size);
        var tables = new Dictionary<string, (ulong, byte[])>();
        ulong xsdt = BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(Rsdp.XsdtAddressOffset));
        byte[] x = Table(xsdt);
        tables["XSDT"] = (xsdt, x);
        for (int o = SdtHeader.Size; o < x.Length; o += 8)
        {
            ulong a = BinaryPrimitives.ReadUInt64LittleEndian(x.AsSpan(o));
            byte[] t = Table(a);
            tables[Encoding.ASCII.GetString(t, 0, 4)] = (a, t);
        }

        uint rsdt = BinaryPrimitives.ReadUInt32LittleEndian(rsdp.AsSpan(Rsdp.RsdtAddressOffset));
        tables["RSDT"] = (rsdt, Table(rsdt));
        ulong dsdt = BinaryPrimitives.ReadUInt64LittleEndian(tables["FACP"].Item2.AsSpan(Fadt.XDsdtOffset));
        tables["DSDT"] = (dsdt, Table(dsdt));
        return (rsdp, tables);
    }

    private ulong Search(ulong from, ulong to)
    {
        for (ulong a = from; a < to; a += 16)
        {
            if (Encoding.ASCII.GetString(_m.Read(a, 8)) == "RSD PTR " && Sum(_m.Read(a, 20)) == 0)
            {
                return a;
            }
        }

        return ulong.MaxValue;
    }

    // kvm-unit-tests (lib/acpi.c) and other simple kernels scan only the F segment, where SeaBIOS puts
    // the RSDP; emu puts it there too, in padding of the built-in ROM that a reset reloads.
    [Fact]
    public void RsdpIsInTheFSegmentInTheBuiltInRomsPadding()
    {
        Written();
        Assert.InRange(AcpiTables.RsdpAddress, 0xf0000ul, 0xffffful - (ulong)Rsdp.Size);
        Assert.Equal(0ul, AcpiTables.RsdpAddress % 16);
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(_m.Read(AcpiTables.RsdpAddress, 8)));
        ulong offset = AcpiTables.RsdpAddress - (PcMemoryMap.ExtendedStart - (ulong)DemoRom.Image.Length);
        Assert.All(DemoRom.Image.AsSpan((int)offset, Rsdp.Size).ToArray(), b => Assert.Equal(0xff, b));
        Assert.True(AcpiTables.RsdpAddress + (ulong)Rsdp.Size <= Emulator.Machines.Smbios.KernelBootSmbios.EntryPointAddress, "below the SMBIOS entry point");
    }

    private byte[] Table(ulong address) => _m.Read(address, (int)_m.U32(address + 4));

    [Fact]
    public void RsdpHasBothChecksumsAndPointsAtTheXsdt()
    {
        (byte[] rsdp, var tables) = Written();

        Assert.Equal(0, Sum(rsdp.AsSpan(0, 20)));
        Assert.Equal(0, Sum(rsdp));
        Assert.Equal(2, rsdp[Rsdp.RevisionOffset]);
        Assert.Equal(36u, BinaryPrimitives.ReadUInt32LittleEndian(rsdp.AsSpan(Rsdp.LengthOffset)));
        Assert.Equal("XSDT", Encoding.ASCII.GetString(tables["XSDT"].Bytes, 0, 4));
    }

    // ACPI 6.5 5.2.7: the RSDT holds the same tables as the XSDT, as 32-bit addresses, for readers of
    // the ACPI 1.0 part of the RSDP (GRUB's halt, older loaders).
    [Fact]
    public void RsdtListsTheXsdtsTablesAsThirtyTwoBitAddresses()
    {
        (_, var tables) = Written();
        byte[] x = tables["XSDT"].Bytes, r = tables["RSDT"].Bytes;

        Assert.Equal("RSDT", Encoding.ASCII.GetString(r, 0, 4));
        Assert.Equal(1, r[8]);
        Assert.Equal((x.Length - SdtHeader.Size) / 2, r.Length - SdtHeader.Size);
        for (int i = 0; i < (r.Length - SdtHeader.Size) / 4; i++)
        {
            Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(x.AsSpan(SdtHeader.Size + (8 * i))), BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(SdtHeader.Size + (4 * i))));
        }
    }

    [Fact]
    public void EveryTableSumsToZeroAndLiesInTheAcpiRange()
    {
        (_, var tables) = Written();

        Assert.Equal(["APIC", "DSDT", "FACP", "HPET", "RSDT", "XSDT"], tables.Keys.Order());
        E820Entry acpi = _m.Map.Entries.Single(e => e.Type == E820Type.Acpi);
        foreach ((string name, (ulong address, byte[] t)) in tables)
        {
            Assert.True(Sum(t) == 0, $"{name} checksum");
            Assert.True(address >= acpi.Address && address + (ulong)t.Length <= acpi.End, $"{name} outside the ACPI range");
            Assert.Equal("EMU   ", Encoding.ASCII.GetString(t, 10, 6));
        }

        Assert.True(_m.Map.Entries.Any(e => e.Type == E820Type.Reserved && e.Address <= AcpiTables.RsdpAddress && AcpiTables.RsdpAddress + 36 <= e.End), "the RSDP is in reserved memory");
    }

    // IA-PC HPET 1.0a 3.2.4, Table 3: signature HPET, revision 1, 56 bytes; the event timer block ID
    // is bits 31:0 of the block's GCAP_ID; the base address a GAS in system memory.
    [Fact]
    public void HpetTableDescribesTheTimerBlock()
    {
        (_, var tables) = Written();
        byte[] h = tables["HPET"].Bytes;

        Assert.Equal(56, h.Length);
        Assert.Equal(1, h[8]);
        Assert.Equal(0x8086_A201u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(36)));
        Assert.Equal(unchecked((uint)Emulator.Devices.Timers.Hpet.Capabilities), BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(36)));
        Assert.Equal(0, h[40]); // System Memory
        Assert.Equal(0xFED0_0000ul, BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(44)));
        Assert.Equal(0, h[52]); // HPET number
        Assert.Equal(HpetTable.MinimumTick, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(53)));

        (_, var without) = Written(hpet: false);
        Assert.False(without.ContainsKey("HPET"));
    }

    [Fact]
    public void FadtPublishesThePmBlocksSciResetRegisterAndDsdt()
    {
        (_, var tables) = Written();
        byte[] f = tables["FACP"].Bytes;
        uint U32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(o));

        Assert.Equal(276, f.Length);
        Assert.Equal(6, f[8]);
        Assert.Equal(5, f[Fadt.MinorVersionOffset]);
        Assert.Equal(tables["DSDT"].Address, U32(Fadt.DsdtOffset));
        Assert.Equal(9, BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(Fadt.SciIntOffset)));
        Assert.Equal(0u, U32(Fadt.SmiCmdOffset));
        Assert.Equal(0x600u, U32(Fadt.Pm1aEvtBlkOffset));
        Assert.Equal(0x604u, U32(Fadt.Pm1aCntBlkOffset));
        Assert.Equal(0x608u, U32(Fadt.PmTmrBlkOffset));
        Assert.Equal(new byte[] { 4, 2, 0, 4 }, f.AsSpan(88, 4).ToArray()); // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN

        uint flags = U32(Fadt.FlagsOffset);
        Assert.NotEqual(0u, flags & Fadt.ResetRegSup);
        Assert.Equal(0u, flags & Fadt.HwReducedAcpi);
        Assert.Equal(0u, flags & (1 << 8)); // TMR_VAL_EXT: the timer is 24 bits

        // RESET_REG: System I/O, 8 bits, byte access, port 0xCF9; RESET_VALUE 6.
        Assert.Equal(new byte[] { 1, 8, 0, 1, 0xf9, 0x0c, 0, 0, 0, 0, 0, 0 }, f.AsSpan(Fadt.ResetRegOffset, 12).ToArray());
        Assert.Equal(6, f[Fadt.ResetValueOffset]);

        // X_PM1a_CNT_BLK: System I/O, 16 bits, port 0x604.
        Assert.Equal(new byte[] { 1, 16, 0, 2, 0x04, 0x06, 0, 0, 0, 0, 0, 0 }, f.AsSpan(Fadt.XPm1aCntBlkOffset, 12).ToArray());
    }

    // ACPI 6.5 5.2.10 and Table 5.14: the FACS is signature "FACS", a length of at least 64, the
    // waking vectors at 12 and 24, the version at 32; firmware aligns it on 64 bytes, in memory not
    // reported as AddressRangeMemory. Table 5.9: FIRMWARE_CTRL holds it below 4 GiB, and then
    // X_FIRMWARE_CTRL must be zero. kvm-unit-tests' s3.flat reads FIRMWARE_CTRL alone.
    [Fact]
    public void FadtPointsAtA64ByteAlignedFacsInNvsMemory()
    {
        (_, var tables) = Written();
        byte[] f = tables["FACP"].Bytes;
        ulong facs = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(36));

        Assert.NotEqual(0ul, facs);
        Assert.Equal(0ul, BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(132)));
        Assert.Equal(0ul, facs % 64);
        byte[] s = _m.Read(facs, 64);
        Assert.Equal("FACS", Encoding.ASCII.GetString(s, 0, 4));
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(4)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(12))); // no waking vector until OSPM sets one
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(16))); // global lock free
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(20))); // neither S4BIOS_F nor 64BIT_WAKE_SUPPORTED_F
        Assert.Equal(2, s[32]);

        // ACPI NVS (ACPI 6.5 15.3: preserved, never reclaimed), and no table sits in that range.
        E820Entry holder = _m.Map.Entries.Single(e => e.Address <= facs && facs + 64 <= e.End);
        Assert.Equal(E820Type.Nvs, holder.Type);
        Assert.All(tables.Values, t => Assert.True(t.Address >= holder.End || t.Address + (ulong)t.Bytes.Length <= holder.Address));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(255)]
    public void MadtListsEachCpuTheIoApicAndTheIsaOverrides(int cpus)
    {
        (_, var tables) = Written(cpus);
        byte[] t = tables["APIC"].Bytes;

        Assert.Equal(0xfee0_0000u, BinaryPrimitives.ReadUInt32LittleEndian(t.AsSpan(36)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(t.AsSpan(40)) & 1);
        var apicIds = new List<int>();
        var overrides = new Dictionary<int, (uint Gsi, ushort Flags)>();
        int ioApics = 0, nmis = 0;
        for (int o = 44; o < t.Length; o += t[o + 1])
        {
            Assert.True(t[o + 1] >= 2 && o + t[o + 1] <= t.Length, $"structure at {o}");
            switch (t[o])
            {
                case 0:
                    Assert.Equal(8, t[o + 1]);
                    Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(t.AsSpan(o + 4)));
                    apicIds.Add(t[o + 3]);
                    break;
                case 1:
                    Assert.Equal(12, t[o + 1]);
                    Assert.Equal(0xfec0_0000u, BinaryPrimitives.ReadUInt32LittleEndian(t.AsSpan(o + 4)));
                    Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(t.AsSpan(o + 8)));
                    ioApics++;
                    break;
                case 2:
                    Assert.Equal(10, t[o + 1]);
                    Assert.Equal(0, t[o + 2]);
                    overrides[t[o + 3]] = (BinaryPrimitives.ReadUInt32LittleEndian(t.AsSpan(o + 4)), BinaryPrimitives.ReadUInt16LittleEndian(t.AsSpan(o + 8)));
                    break;
                case 4:
                    Assert.Equal(1, t[o + 5]); // LINT1
                    nmis++;
                    break;
                default:
                    Assert.Fail($"unexpected MADT structure type {t[o]}");
                    break;
            }
        }

        Assert.Equal(Enumerable.Range(0, cpus), apicIds);
        Assert.Equal(1, ioApics);
        Assert.Equal(1, nmis);
        Assert.Equal((2u, (ushort)0), overrides[0]);
        Assert.Equal((9u, (ushort)0b1101), overrides[9]); // level-triggered, active high
    }

    [Fact]
    public void DsdtAmlIsTheS3AndS5PackagesWithTheSleepTypesThePmControlRegisterExpects()
    {
        (_, var tables) = Written();
        byte[] aml = tables["DSDT"].Bytes[SdtHeader.Size..];

        // A tiny decoder for the grammar used (ACPI 6.5 20.2.5.2 DefName, 20.2.5.4 DefPackage,
        // 20.2.4 PkgLength, 20.2.3 ComputationalData).
        int p = 0;
        (string Name, List<ulong> Values) Package()
        {
            Assert.Equal(0x08, aml[p++]); // NameOp
            string name = Encoding.ASCII.GetString(aml, p, 4);
            p += 4;
            Assert.Equal(0x12, aml[p++]); // PackageOp
            int lead = aml[p];
            Assert.Equal(0, lead >> 6); // one-byte PkgLength
            int end = p + (lead & 0x3f);
            p++;
            int count = aml[p++];
            var values = new List<ulong>();
            while (p < end)
            {
                byte op = aml[p++];
                values.Add(op switch
                {
                    0x00 => 0,
                    0x01 => 1,
                    0x0a => aml[p++],
                    _ => throw new InvalidDataException($"unexpected data opcode 0x{op:x2}"),
                });
            }

            Assert.Equal(4, count);
            return (name, values);
        }

        // 7.4.2: SLP_TYPa, SLP_TYPb, two reserved; S3's is the PIIX4's Suspend To RAM type (001b).
        (string s3, List<ulong> s3Values) = Package();
        Assert.Equal("_S3_", s3);
        Assert.Equal(new ulong[] { 1, 1, 0, 0 }, s3Values);
        (string s5, List<ulong> s5Values) = Package();
        Assert.Equal("_S5_", s5);
        Assert.Equal(new ulong[] { AcpiPmControl.SlpTypS5, AcpiPmControl.SlpTypS5, 0, 0 }, s5Values);
        Assert.Equal(0x10, aml[p]); // ScopeOp: \_SB with the PCI host bridge follows
    }

    [SkippableFact]
    public void IaslDisassemblesEveryTableWithoutErrors()
    {
        Skip.If(!File.Exists("/usr/bin/iasl"), "iasl is not installed (apt-get install acpica-tools; .ci/run installs it)");
        // iasl 20200925 refuses a lone RSDP file ("does not contain a valid ACPI table"): the RSDP is
        // checked by RsdpHasBothChecksumsAndPointsAtTheXsdt.
        (_, var tables) = Written(2);
        string dir = Directory.CreateTempSubdirectory("emu-acpi").FullName;
        try
        {
            var files = new Dictionary<string, byte[]>();
            foreach ((string name, (_, byte[] bytes)) in tables)
            {
                files[name.ToLowerInvariant()] = bytes;
            }

            files["facs"] = _m.Read(BinaryPrimitives.ReadUInt32LittleEndian(tables["FACP"].Bytes.AsSpan(36)), 64);

            var text = new Dictionary<string, string>();
            foreach ((string name, byte[] bytes) in files)
            {
                string bin = Path.Combine(dir, name + ".dat");
                File.WriteAllBytes(bin, bytes);
                var psi = new ProcessStartInfo("iasl", ["-d", bin]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                using var p = Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, $"iasl -d {name}: {output}");
                text[name] = File.ReadAllText(Path.Combine(dir, name + ".dsl"));
                Assert.DoesNotContain("Invalid", text[name], StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("Incorrect", text[name], StringComparison.OrdinalIgnoreCase);
            }

            Assert.Contains("Name (_S3, Package (0x04)", text["dsdt"], StringComparison.Ordinal);
            Assert.Contains("    One, \n        One, \n        Zero, \n        Zero", text["dsdt"].Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.Contains("Name (_S5, Package (0x04)", text["dsdt"], StringComparison.Ordinal);
            Assert.Contains("    0x05, \n        0x05, \n        Zero, \n        Zero", text["dsdt"].Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
            // iasl annotates every resource field with a // comment; compare the values alone.
            string dsdt = System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Replace(text["dsdt"], "//[^\n]*", string.Empty), @"\s+", " ");
            Assert.Contains("Device (PCI0)", dsdt, StringComparison.Ordinal);
            Assert.Contains("Name (_HID, EisaId (\"PNP0A03\")", dsdt, StringComparison.Ordinal);
            Assert.Contains("WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,", dsdt, StringComparison.Ordinal);
            Assert.Contains("IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,", dsdt, StringComparison.Ordinal);
            Assert.Contains("WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,", dsdt, StringComparison.Ordinal);
            Assert.Contains("DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0x00000000, 0xC0000000, 0xFEBFFFFF, 0x00000000, 0x3EC00000,", dsdt, StringComparison.Ordinal);
            // Slot 3 (the first disk), INTA#: PIRQ (3 + 1 - 2) mod 4 = C, steered to IRQ 11.
            Assert.Contains("Package (0x04) { 0x0003FFFF, Zero, Zero, 0x0B },", dsdt, StringComparison.Ordinal);
            Assert.Matches(@"PM1A Control Block Address : 00000604", text["facp"]);
            Assert.Matches(@"Address : 0000000000000CF9", text["facp"]);
            Assert.Matches(@"Reset Register Supported \(V2\) : 1", text["facp"]);
            Assert.Matches(@"Value to cause reset : 06", text["facp"]);
            Assert.Matches(@"SCI Interrupt : 0009", text["facp"]);
            Assert.Matches(@"FACS Address : [0-9A-F]*[048C]0\b", text["facp"]);
            Assert.Matches(@"Signature : ""FACS""", text["facs"]);
            Assert.Matches(@"Length : 00000040", text["facs"]);
            Assert.Matches(@"Version : 02", text["facs"]);
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(text["apic"], @"Subtable Type : 00 \[Processor Local APIC\]"));
            Assert.Contains("Subtable Type : 01 [I/O APIC]", text["apic"], StringComparison.Ordinal);
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(text["apic"], @"Subtable Type : 02 \[Interrupt Source Override\]"));

            // IA-PC HPET 1.0a 3.2.4: the block ID is GCAP_ID's low half, the base a System Memory GAS.
            Assert.Matches(@"Hardware Block ID : 8086A201", text["hpet"]);
            Assert.Matches(@"Space ID : 00 \[SystemMemory\]", text["hpet"]);
            Assert.Matches(@"Address : 00000000FED00000", text["hpet"]);
            Assert.Matches(@"Minimum Clock Ticks : 03E8", text["hpet"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
