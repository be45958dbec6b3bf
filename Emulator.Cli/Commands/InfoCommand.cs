using System.Runtime.InteropServices;
using Emulator.Kvm;

namespace Emulator.Cli.Commands;

/// <summary>`emu info`: the host and which CPU backends can run on it.</summary>
internal static class InfoCommand
{
    public static int Execute()
    {
        Console.WriteLine($"emu {typeof(InfoCommand).Assembly.GetName().Version?.ToString(3)}");
        Console.WriteLine($"host: {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} CPUs, .NET {Environment.Version}");
        Console.WriteLine("accelerators:");
        Console.WriteLine(RuntimeInformation.OSArchitecture == Architecture.X64 || RuntimeInformation.OSArchitecture == Architecture.Arm64
            ? "  jit: usable (the software CPU runs on any host)"
            : "  jit: usable");
        KvmProbeResult kvm = KvmProbe.Run();
        Console.WriteLine($"  kvm: {(kvm.Usable ? kvm.Fast ? "usable" : "present but slow" : "unusable")}: {kvm.Reason}");
        Console.WriteLine($"  --accel auto picks: {(kvm.Usable && kvm.Fast ? "kvm" : "jit (the software CPU)")}");
        foreach (string line in kvm.FormatReport().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Console.WriteLine("    " + line);
        }

        return 0;
    }
}
