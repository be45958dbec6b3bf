using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Emulator.Backends.Net;

/// <summary>
/// One port forward from the host into the guest network, QEMU's <c>hostfwd=</c> syntax:
/// <c>[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT</c>. An empty host address listens on
/// every host address; an empty guest address is the address DHCP gives the guest (10.0.2.15).
/// </summary>
/// <param name="Udp">True for UDP, false for TCP.</param>
/// <param name="HostAddress">The host address to listen on.</param>
/// <param name="HostPort">The host port.</param>
/// <param name="GuestAddress">The guest address, or null for the DHCP address.</param>
/// <param name="GuestPort">The guest port.</param>
public sealed record HostForward(bool Udp, IPAddress HostAddress, int HostPort, IPAddress? GuestAddress, int GuestPort)
{
    /// <summary>Parses one rule; throws <see cref="FormatException"/> with a message that says what is wrong.</summary>
    public static HostForward Parse(string rule)
    {
        const string Expected = "expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
        string[] halves = rule.Split('-');
        if (halves.Length != 2)
        {
            throw new FormatException($"hostfwd={rule}: {Expected}");
        }

        string[] host = halves[0].Split(':');
        string[] guest = halves[1].Split(':');
        if (host.Length != 3 || guest.Length != 2)
        {
            throw new FormatException($"hostfwd={rule}: {Expected}");
        }

        bool udp = host[0] switch
        {
            "" or "tcp" => false,
            "udp" => true,
            _ => throw new FormatException($"hostfwd={rule}: protocol '{host[0]}' is not tcp or udp"),
        };
        return new HostForward(
            udp,
            host[1].Length == 0 ? IPAddress.Any : Address(rule, host[1]),
            Port(rule, host[2]),
            guest[0].Length == 0 ? null : Address(rule, guest[0]),
            Port(rule, guest[1]));
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(Udp ? "udp" : "tcp")}:{HostAddress}:{HostPort}-{GuestAddress?.ToString() ?? string.Empty}:{GuestPort}";

    private static IPAddress Address(string rule, string text) =>
        IPAddress.TryParse(text, out IPAddress? a) && a.AddressFamily == AddressFamily.InterNetwork
            ? a
            : throw new FormatException($"hostfwd={rule}: '{text}' is not an IPv4 address");

    private static int Port(string rule, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p is >= 1 and <= 65535
            ? p
            : throw new FormatException($"hostfwd={rule}: '{text}' is not a port (1-65535)");
}
