using System.Globalization;
using Emulator.Fuzzing;

namespace Emulator.Benchmarks;

/// <summary>
/// <c>fuzz-devices [--seed N] [--seeds K] [--ops M] [--log FILE]</c>: the hostile-guest device fuzzer
/// (<see cref="DeviceFuzzer"/>) over seeds N .. N+K-1, M operations each, then the known program
/// (Roms/tests/pit_irq.bin) after a reset. Prints one summary per seed; exit status 0 when every seed
/// passed, 1 when one did not (an exception left a device, an operation hung, or the program failed),
/// 2 for a bad option.
/// </summary>
internal static class FuzzDevices
{
    // Roms/tests/pit_irq.asm exits through debug-exit with 0x10 when its checks pass: (0x10 << 1) | 1.
    private const int PitIrqPass = 33;

    public static int Run(string[] args, string romDirectory)
    {
        int seed = 1, seeds = 1;
        long ops = 100_000;
        string? log = null;
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            bool ok = args[i] switch
            {
                "--seed" => int.TryParse(value, CultureInfo.InvariantCulture, out seed),
                "--seeds" => int.TryParse(value, CultureInfo.InvariantCulture, out seeds) && seeds > 0,
                "--ops" => long.TryParse(value, CultureInfo.InvariantCulture, out ops) && ops >= 0,
                "--log" => (log = value) is not null,
                _ => false,
            };
            if (!ok)
            {
                Console.Error.WriteLine($"fuzz-devices: bad option {args[i]} {value}; usage: fuzz-devices [--seed N] [--seeds K] [--ops M] [--log FILE]");
                return 2;
            }

            i++;
        }

        byte[] rom = File.ReadAllBytes(Path.Combine(romDirectory, "pit_irq.bin"));
        using TextWriter? sink = log is null ? null : new StreamWriter(log);
        bool allPassed = true;
        for (int s = seed; s < seed + seeds; s++)
        {
            string disk = Path.Combine(Path.GetTempPath(), $"emu-fuzz-{Environment.ProcessId}-{s}.img");
            File.WriteAllBytes(disk, new byte[64 * 512]);
            try
            {
                sink?.WriteLine($"== seed {s}");
                DeviceFuzzReport report = DeviceFuzzer.Run(new DeviceFuzzSettings
                {
                    Seed = s,
                    Operations = ops,
                    KnownProgram = rom,
                    KnownProgramExitStatus = PitIrqPass,
                    ScratchDisk = disk,
                    GuestErrorSink = sink,
                });
                Console.WriteLine(report.Summary());
                allPassed &= report.Passed;
                if (report.Hang is not null)
                {
                    // The stuck thread cannot be stopped: report and leave.
                    return 1;
                }
            }
            finally
            {
                File.Delete(disk);
            }
        }

        return allPassed ? 0 : 1;
    }
}
