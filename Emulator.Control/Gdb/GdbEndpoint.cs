using System.Globalization;
using System.Net;

namespace Emulator.Control.Gdb;

/// <summary>
/// Where <c>--gdb</c> listens: <c>tcp:HOST:PORT</c> (an empty host means 127.0.0.1: whoever reaches
/// the stub controls the guest, so emu does not listen on every interface unless asked) or
/// <c>unix:PATH</c> (mode 0600).
/// </summary>
/// <param name="Tcp">The TCP endpoint, or null.</param>
/// <param name="UnixPath">The Unix socket path, or null.</param>
public sealed record GdbEndpoint(IPEndPoint? Tcp, string? UnixPath)
{
    /// <summary>Parses the option; throws <see cref="ArgumentException"/> with one line naming the problem.</summary>
    public static GdbEndpoint Parse(string spec)
    {
        if (spec.StartsWith("unix:", StringComparison.Ordinal) && spec.Length > 5)
        {
            return new GdbEndpoint(null, spec[5..]);
        }

        if (spec.StartsWith("tcp:", StringComparison.Ordinal))
        {
            string rest = spec[4..];
            int colon = rest.LastIndexOf(':');
            string host = colon < 0 ? string.Empty : rest[..colon];
            string port = colon < 0 ? rest : rest[(colon + 1)..];
            if (!ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out ushort number) || number == 0)
            {
                throw new ArgumentException($"--gdb {spec}: '{port}' is not a TCP port (1-65535)");
            }

            IPAddress address = host.Length == 0 ? IPAddress.Loopback
                : host == "localhost" ? IPAddress.Loopback
                : IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? parsed) ? parsed
                : throw new ArgumentException($"--gdb {spec}: '{host}' is not an IP address");
            return new GdbEndpoint(new IPEndPoint(address, number), null);
        }

        throw new ArgumentException($"--gdb {spec}: expected tcp:HOST:PORT or unix:PATH");
    }
}
