namespace Emulator.Control.Qmp;

/// <summary>
/// Where <c>--qmp</c> listens, in QEMU's syntax: <c>unix:PATH,server[=on][,wait=off]</c> (also
/// <c>nowait</c>). emu is always the server; <c>wait=on</c> (QEMU's default for a server) holds the
/// guest until the first client connects.
/// </summary>
/// <param name="Path">The socket path.</param>
/// <param name="Wait">Start the guest only after a client connected.</param>
public sealed record QmpEndpoint(string Path, bool Wait)
{
    /// <summary>Parses the option's value; throws <see cref="ArgumentException"/> with one line naming the problem.</summary>
    public static QmpEndpoint Parse(string spec)
    {
        string[] parts = spec.Split(',');
        if (!parts[0].StartsWith("unix:", StringComparison.Ordinal) || parts[0].Length == 5)
        {
            throw new ArgumentException($"--qmp {spec}: expected unix:PATH,server[,wait=off] (emu serves QMP on Unix sockets only)");
        }

        bool server = false;
        bool wait = true;
        foreach (string option in parts.Skip(1))
        {
            switch (option)
            {
                case "server" or "server=on":
                    server = true;
                    break;
                case "server=off":
                    server = false;
                    break;
                case "wait=off" or "nowait":
                    wait = false;
                    break;
                case "wait=on" or "wait":
                    wait = true;
                    break;
                default:
                    throw new ArgumentException($"--qmp {spec}: unknown setting '{option}' (expected server, wait=on or wait=off)");
            }
        }

        return server
            ? new QmpEndpoint(parts[0][5..], wait)
            : throw new ArgumentException($"--qmp {spec}: emu only listens (add ',server'); connecting out to a client is not supported");
    }
}
