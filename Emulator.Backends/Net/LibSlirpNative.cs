using System.Runtime.InteropServices;

namespace Emulator.Backends.Net;

/// <summary>
/// struct SlirpConfig of libslirp 4.x (slirp/libslirp.h), version 4 fields, at the offsets the C
/// compiler gives them on x86-64 (Tests/Net/SlirpAbiLayoutTests checks them against the header).
/// Addresses are in network byte order.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 184)]
internal unsafe struct SlirpConfig
{
    [FieldOffset(0)] public uint Version;
    [FieldOffset(4)] public int Restricted;
    [FieldOffset(8)] public byte InEnabled;
    [FieldOffset(12)] public uint VNetwork;
    [FieldOffset(16)] public uint VNetmask;
    [FieldOffset(20)] public uint VHost;
    [FieldOffset(24)] public byte In6Enabled;
    [FieldOffset(28)] public fixed byte VPrefixAddr6[16];
    [FieldOffset(44)] public byte VPrefixLen;
    [FieldOffset(48)] public fixed byte VHost6[16];
    [FieldOffset(64)] public nint VHostname;
    [FieldOffset(72)] public nint TftpServerName;
    [FieldOffset(80)] public nint TftpPath;
    [FieldOffset(88)] public nint Bootfile;
    [FieldOffset(96)] public uint VDhcpStart;
    [FieldOffset(100)] public uint VNameserver;
    [FieldOffset(104)] public fixed byte VNameserver6[16];
    [FieldOffset(120)] public nint VDnsSearch;
    [FieldOffset(128)] public nint VDomainName;
    [FieldOffset(136)] public nuint IfMtu;
    [FieldOffset(144)] public nuint IfMru;
    [FieldOffset(152)] public byte DisableHostLoopback;
    [FieldOffset(153)] public byte EnableEmu;
    [FieldOffset(160)] public nint OutboundAddr;
    [FieldOffset(168)] public nint OutboundAddr6;
    [FieldOffset(176)] public byte DisableDns;
    [FieldOffset(177)] public byte DisableDhcp;
}

/// <summary>struct SlirpCb: the callbacks libslirp makes into its host application, in header order.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SlirpCallbacks
{
    public delegate* unmanaged<void*, nuint, void*, nint> SendPacket;
    public delegate* unmanaged<byte*, void*, void> GuestError;
    public delegate* unmanaged<void*, long> ClockGetNs;
    public delegate* unmanaged<void*, void*, void*, void*> TimerNew;
    public delegate* unmanaged<void*, void*, void> TimerFree;
    public delegate* unmanaged<void*, long, void*, void> TimerMod;
    public delegate* unmanaged<int, void*, void> RegisterPollFd;
    public delegate* unmanaged<int, void*, void> UnregisterPollFd;
    public delegate* unmanaged<void*, void> Notify;
    public nint InitCompleted;
    public nint TimerNewOpaque;
}

/// <summary>
/// The libslirp entry points emu uses, looked up in the shared library at run time so that a
/// missing library is one clear error instead of a crash on first use.
/// </summary>
internal sealed unsafe class LibSlirpNative
{
    /// <summary>The soname of libslirp 4.x (Debian package libslirp0).</summary>
    public const string DefaultLibrary = "libslirp.so.0";

    /// <summary>Environment variable naming another libslirp to load.</summary>
    public const string LibraryVariable = "EMU_LIBSLIRP";

    /// <summary>SLIRP_POLL_* (libslirp.h).</summary>
    public const int PollIn = 1, PollOut = 2, PollPri = 4, PollErr = 8, PollHup = 16;

    private LibSlirpNative(nint library)
    {
        New = (delegate* unmanaged<SlirpConfig*, SlirpCallbacks*, void*, void*>)NativeLibrary.GetExport(library, "slirp_new");
        Cleanup = (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(library, "slirp_cleanup");
        PollfdsFill = (delegate* unmanaged<void*, uint*, delegate* unmanaged<int, int, void*, int>, void*, void>)NativeLibrary.GetExport(library, "slirp_pollfds_fill");
        PollfdsPoll = (delegate* unmanaged<void*, int, delegate* unmanaged<int, void*, int>, void*, void>)NativeLibrary.GetExport(library, "slirp_pollfds_poll");
        Input = (delegate* unmanaged<void*, byte*, int, void>)NativeLibrary.GetExport(library, "slirp_input");
        AddHostForward = (delegate* unmanaged<void*, int, uint, int, uint, int, int>)NativeLibrary.GetExport(library, "slirp_add_hostfwd");
        VersionString = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "slirp_version_string");
    }

    /// <summary>slirp_new(cfg, callbacks, opaque).</summary>
    public delegate* unmanaged<SlirpConfig*, SlirpCallbacks*, void*, void*> New { get; }

    /// <summary>slirp_cleanup(slirp).</summary>
    public delegate* unmanaged<void*, void> Cleanup { get; }

    /// <summary>slirp_pollfds_fill(slirp, &amp;timeout, add_poll, opaque).</summary>
    public delegate* unmanaged<void*, uint*, delegate* unmanaged<int, int, void*, int>, void*, void> PollfdsFill { get; }

    /// <summary>slirp_pollfds_poll(slirp, select_error, get_revents, opaque).</summary>
    public delegate* unmanaged<void*, int, delegate* unmanaged<int, void*, int>, void*, void> PollfdsPoll { get; }

    /// <summary>slirp_input(slirp, pkt, len).</summary>
    public delegate* unmanaged<void*, byte*, int, void> Input { get; }

    /// <summary>slirp_add_hostfwd(slirp, is_udp, host_addr, host_port, guest_addr, guest_port): 0 or -1.</summary>
    public delegate* unmanaged<void*, int, uint, int, uint, int, int> AddHostForward { get; }

    /// <summary>slirp_version_string().</summary>
    public delegate* unmanaged<byte*> VersionString { get; }

    /// <summary>The library's version, e.g. "4.7.0".</summary>
    public string Version => Marshal.PtrToStringUTF8((nint)VersionString()) ?? "?";

    /// <summary>
    /// Loads libslirp ($EMU_LIBSLIRP, else libslirp.so.0) once per process; throws
    /// <see cref="NetBackendException"/> with one line naming the Debian package when it is missing.
    /// </summary>
    public static LibSlirpNative Load()
    {
        lock (LoadLock)
        {
            if (s_loaded is not null)
            {
                return s_loaded;
            }

            string name = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } custom ? custom : DefaultLibrary;
            if (!NativeLibrary.TryLoad(name, out nint library))
            {
                throw new NetBackendException($"--nic user: cannot load {name}: libslirp is not installed (Debian package libslirp0: apt-get install libslirp0)");
            }

            try
            {
                return s_loaded = new LibSlirpNative(library);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new NetBackendException($"--nic user: {name} is not libslirp 4.x ({e.Message}); install the Debian package libslirp0", e);
            }
        }
    }

    private static readonly Lock LoadLock = new();
    private static LibSlirpNative? s_loaded;
}
