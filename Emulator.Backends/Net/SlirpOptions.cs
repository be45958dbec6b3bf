using System.Net;

namespace Emulator.Backends.Net;

/// <summary>
/// User-mode networking as the user chose it (<c>--nic user,...</c>). The guest network is QEMU's:
/// 10.0.2.0/24, the host (gateway) 10.0.2.2, the DNS forwarder 10.0.2.3, DHCP from 10.0.2.15;
/// IPv6 fec0::/64 with the host at fec0::2 and DNS at fec0::3.
/// </summary>
public sealed record SlirpOptions
{
    /// <summary>The guest network's address.</summary>
    public static readonly IPAddress Network = IPAddress.Parse("10.0.2.0");

    /// <summary>Its mask.</summary>
    public static readonly IPAddress Netmask = IPAddress.Parse("255.255.255.0");

    /// <summary>The host as the guest sees it (the gateway; connections to it reach the host's 127.0.0.1).</summary>
    public static readonly IPAddress Host = IPAddress.Parse("10.0.2.2");

    /// <summary>The DNS forwarder (to the host's resolver from /etc/resolv.conf).</summary>
    public static readonly IPAddress Dns = IPAddress.Parse("10.0.2.3");

    /// <summary>The first (and for one guest, the only) address DHCP hands out.</summary>
    public static readonly IPAddress DhcpStart = IPAddress.Parse("10.0.2.15");

    /// <summary>restrict=on: the guest may not open connections to the host or beyond; port forwards still work.</summary>
    public bool Restrict { get; init; }

    /// <summary>The link MTU (libslirp's if_mtu and if_mru), the same as the card's.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>The port forwards, in the order given.</summary>
    public IReadOnlyList<HostForward> HostForwards { get; init; } = [];
}
