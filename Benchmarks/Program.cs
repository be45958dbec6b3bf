using Emulator.Benchmarks;

// dotnet run -c Release --project Benchmarks -- guest-ips [seconds-per-run] [runs]
// dotnet run -c Release --project Benchmarks -- fuzz-devices [--seed N] [--seeds K] [--ops M] [--log FILE]
string romDirectory = Path.Combine(AppContext.BaseDirectory, "bench");
if (args.Length > 0 && args[0] == "guest-ips")
{
    double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2;
    int runs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
    GuestIps.Run(romDirectory, seconds, runs);
    return 0;
}

if (args.Length > 0 && args[0] == "fuzz-devices")
{
    return FuzzDevices.Run(args[1..], Path.Combine(AppContext.BaseDirectory, "roms"));
}

Console.Error.WriteLine("usage: Benchmarks guest-ips [seconds-per-run] [runs] | fuzz-devices [--seed N] [--seeds K] [--ops M] [--log FILE]");
return 2;
