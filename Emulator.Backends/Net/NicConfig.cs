using System.Globalization;
using Emulator.Core.Net;

namespace Emulator.Backends.Net;

/// <summary>Which host end a network card has.</summary>
public enum NicBackendKind
{
    /// <summary>User-mode networking through libslirp.</summary>
    User,

    /// <summary>A tap interface.</summary>
    Tap,
}

/// <summary>
/// One network card as the user asked for it with <c>--nic</c>, QEMU's syntax:
/// <c>user[,hostfwd=RULE]...[,restrict=on|off][,mac=MAC][,model=virtio][,mtu=N]</c>,
/// <c>tap[,ifname=NAME][,mac=MAC][,model=virtio][,mtu=N]</c>, or <c>none</c> (no card; see <see cref="Parse"/>).
/// </summary>
public sealed record NicConfig
{
    /// <summary>The first card's MAC when none is given (QEMU's default); the next cards count up from it.</summary>
    public static readonly byte[] DefaultMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    /// <summary>The host end.</summary>
    public NicBackendKind Kind { get; init; }

    /// <summary>The MAC address, or null for the default of its position.</summary>
    public byte[]? Mac { get; init; }

    /// <summary>The link MTU.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>User networking settings (Kind = User).</summary>
    public SlirpOptions Slirp { get; init; } = new();

    /// <summary>The tap interface name (Kind = Tap); empty lets the kernel choose.</summary>
    public string TapInterface { get; init; } = string.Empty;

    /// <summary>The option as the user typed it, for messages.</summary>
    public string Spec { get; init; } = string.Empty;

    /// <summary>
    /// Parses one <c>--nic</c> value; returns null for <c>none</c>. Throws <see cref="FormatException"/>
    /// with one line naming the option and the bad setting.
    /// </summary>
    public static NicConfig? Parse(string spec)
    {
        string[] parts = spec.Split(',');
        string option = $"--nic {spec}";
        NicBackendKind kind = parts[0] switch
        {
            "none" when parts.Length == 1 => default,
            "none" => throw new FormatException($"{option}: 'none' takes no settings"),
            "user" => NicBackendKind.User,
            "tap" => NicBackendKind.Tap,
            _ => throw new FormatException($"{option}: unknown network backend '{parts[0]}' (expected user, tap or none)"),
        };
        if (parts[0] == "none")
        {
            return null;
        }

        byte[]? mac = null;
        int mtu = 1500;
        bool restrict = false;
        string ifname = string.Empty;
        var forwards = new List<HostForward>();
        foreach (string part in parts.Skip(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? part : part[..eq];
            string value = eq < 0 ? string.Empty : part[(eq + 1)..];
            switch (key)
            {
                case "model" when value is "virtio" or "virtio-net-pci":
                    break;
                case "model":
                    throw new FormatException($"{option}: model={value} is not available (only virtio)");
                case "mac":
                    mac = ParseMac(option, value);
                    break;
                case "mtu":
                    mtu = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int m) && m is >= MinMtu and <= MaxMtu
                        ? m
                        : throw new FormatException($"{option}: mtu={value} is not a number from {MinMtu} to {MaxMtu}");
                    break;
                case "hostfwd" when kind == NicBackendKind.User:
                    try
                    {
                        forwards.Add(HostForward.Parse(value));
                    }
                    catch (FormatException e)
                    {
                        throw new FormatException($"{option}: {e.Message}", e);
                    }

                    break;
                case "restrict" when kind == NicBackendKind.User && value is "on" or "off" or "yes" or "no":
                    restrict = value is "on" or "yes";
                    break;
                case "ifname" when kind == NicBackendKind.Tap && value.Length > 0:
                    ifname = value;
                    break;
                default:
                    throw new FormatException(kind == NicBackendKind.User
                        ? $"{option}: bad setting '{part}' (expected hostfwd=RULE, restrict=on|off, mac=MAC, mtu=N, model=virtio)"
                        : $"{option}: bad setting '{part}' (expected ifname=NAME, mac=MAC, mtu=N, model=virtio)");
            }
        }

        return new NicConfig
        {
            Kind = kind,
            Mac = mac,
            Mtu = mtu,
            Slirp = new SlirpOptions { Restrict = restrict, Mtu = mtu, HostForwards = forwards },
            TapInterface = ifname,
            Spec = spec,
        };
    }

    /// <summary>The MAC of the card at <paramref name="index"/> among the machine's cards.</summary>
    public byte[] MacFor(int index)
    {
        if (Mac is not null)
        {
            return Mac;
        }

        byte[] mac = (byte[])DefaultMac.Clone();
        mac[5] = (byte)(mac[5] + index);
        return mac;
    }

    /// <summary>Creates the host end; throws <see cref="NetBackendException"/> when it cannot be set up.</summary>
    public INetBackend CreateBackend() => Kind switch
    {
        NicBackendKind.Tap => new TapBackend(TapInterface),
        _ => new SlirpBackend(Slirp),
    };

    /// <summary>
    /// The MTU range: IPv4's minimum up to 65520, the largest the card and libslirp take. A frame
    /// larger than a receive buffer spreads over several mergeable buffers, which the card makes
    /// used with one index update (virtio 1.2 §5.1.6.4): published one at a time, Linux found the
    /// first without the rest, dropped the frame ("buffers missing") and a host-to-guest TCP
    /// transfer at mtu=65520 stalled.
    /// </summary>
    public const int MinMtu = 68, MaxMtu = 65520;

    private static byte[] ParseMac(string option, string text)
    {
        string[] octets = text.Split(':');
        var mac = new byte[6];
        bool ok = octets.Length == 6;
        for (int i = 0; ok && i < 6; i++)
        {
            ok = octets[i].Length == 2 && byte.TryParse(octets[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out mac[i]);
        }

        if (!ok)
        {
            throw new FormatException($"{option}: mac={text} is not a MAC address (six hex octets, e.g. 52:54:00:12:34:56)");
        }

        return (mac[0] & 1) != 0
            ? throw new FormatException($"{option}: mac={text} is a multicast address (the first octet's low bit is set)")
            : mac;
    }
}
