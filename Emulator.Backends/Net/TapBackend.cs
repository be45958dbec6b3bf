using System.Runtime.InteropServices;
using System.Text;
using Emulator.Core.Net;

namespace Emulator.Backends.Net;

/// <summary>
/// A Linux tap device (<c>--nic tap,ifname=NAME</c>; Documentation/networking/tuntap.rst): the
/// guest's frames appear on the host interface NAME and what the host sends there reaches the
/// guest. Opening /dev/net/tun and creating or attaching an interface need CAP_NET_ADMIN, unless
/// root made a persistent tap for this user (<c>ip tuntap add NAME mode tap user USER</c>). emu runs
/// no ifup script: the host side's address and link state are the user's to set. Frames carry no
/// packet-information prefix (IFF_NO_PI) and no vnet header: the card offers no segmentation
/// offload and completes checksums itself, so every frame is an ordinary one.
/// </summary>
public sealed unsafe partial class TapBackend : INetBackend
{
    private const uint TunSetIff = 0x400454ca; // _IOW('T', 202, int)
    private const short IffTap = 0x0002, IffNoPi = 0x1000;
    private const int ORdwr = 2, ONonblock = 0x800, OCloexec = 0x80000;
    private const int IfNameSize = 16, IfReqSize = 40;

    private readonly int _fd;
    private readonly int _wake;
    private readonly byte[] _buffer = new byte[65536 + 18];
    private volatile bool _stop;
    private Thread? _thread;

    /// <summary>Attaches to (or creates) the tap interface <paramref name="interfaceName"/>; an empty name lets the kernel choose one.</summary>
    /// <exception cref="NetBackendException">Not permitted, no tun driver, or the interface is busy; one line for the user.</exception>
    public TapBackend(string interfaceName)
    {
        string option = $"--nic tap,ifname={interfaceName}";
        if (Encoding.UTF8.GetByteCount(interfaceName) >= IfNameSize || interfaceName.Contains('/', StringComparison.Ordinal))
        {
            throw new NetBackendException($"{option}: an interface name has at most {IfNameSize - 1} bytes and no '/'");
        }

        _fd = Open("/dev/net/tun", ORdwr | ONonblock | OCloexec);
        if (_fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new NetBackendException(errno switch
            {
                PosixIo.Enoent => $"{option}: /dev/net/tun does not exist (the tun driver is not loaded)",
                PosixIo.Eacces or PosixIo.Eperm => $"{option}: not permitted to open /dev/net/tun (tap needs root or CAP_NET_ADMIN; use --nic user without them)",
                _ => $"{option}: cannot open /dev/net/tun: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }

        byte* ifr = stackalloc byte[IfReqSize];
        new Span<byte>(ifr, IfReqSize).Clear();
        Encoding.UTF8.GetBytes(interfaceName, new Span<byte>(ifr, IfNameSize - 1));
        *(short*)(ifr + IfNameSize) = IffTap | IffNoPi;
        if (Ioctl(_fd, TunSetIff, ifr) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = PosixIo.Close(_fd);
            throw new NetBackendException(errno switch
            {
                PosixIo.Eperm or PosixIo.Eacces => $"{option}: not permitted (creating or attaching a tap interface needs root or CAP_NET_ADMIN, or a tap made for this user: ip tuntap add NAME mode tap user USER)",
                PosixIo.Ebusy => $"{option}: the interface is in use by another program",
                _ => $"{option}: TUNSETIFF failed: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }

        InterfaceName = Marshal.PtrToStringUTF8((nint)ifr) ?? interfaceName;
        _wake = PosixIo.CreateEventFd();
    }

    /// <summary>The interface's name (the kernel's choice when none was given).</summary>
    public string InterfaceName { get; }

    /// <inheritdoc/>
    public string Name => $"tap {InterfaceName}";

    /// <inheritdoc/>
    public void Start(FrameReceiver receiver)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("the tap backend is already started");
        }

        _thread = new Thread(() => Loop(receiver)) { IsBackground = true, Name = "tap " + InterfaceName };
        _thread.Start();
    }

    /// <inheritdoc/>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        // The descriptor is non-blocking: a full host queue drops the frame rather than stall a vCPU.
        fixed (byte* p = frame)
        {
            return PosixIo.Write(_fd, p, (nuint)frame.Length) == frame.Length;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop = true;
        if (_thread is not null)
        {
            PosixIo.Signal(_wake);
            _thread.Join();
            _thread = null;
        }

        _ = PosixIo.Close(_wake);
        _ = PosixIo.Close(_fd);
    }

    private void Loop(FrameReceiver receiver)
    {
        PollFd* fds = stackalloc PollFd[2];
        while (!_stop)
        {
            fds[0] = new PollFd { Fd = _fd, Events = PosixIo.PollIn };
            fds[1] = new PollFd { Fd = _wake, Events = PosixIo.PollIn };
            if (PosixIo.Poll(fds, 2, -1) < 0)
            {
                continue;
            }

            if ((fds[0].Revents & (PosixIo.PollErr | PosixIo.PollHup)) != 0)
            {
                return; // the interface went away
            }

            while (!_stop)
            {
                nint n;
                fixed (byte* p = _buffer)
                {
                    n = PosixIo.Read(_fd, p, (nuint)_buffer.Length);
                }

                if (n <= 0)
                {
                    break;
                }

                receiver(_buffer.AsSpan(0, (int)n));
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, void* argument);
}
