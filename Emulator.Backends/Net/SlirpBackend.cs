using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Emulator.Core.Net;

namespace Emulator.Backends.Net;

/// <summary>
/// User-mode networking (<c>--nic user</c>): libslirp, the TCP/IP stack QEMU and slirp4netns use,
/// loaded at run time through P/Invoke. The guest's frames go into libslirp's virtual network,
/// which answers ARP, DHCP and DNS itself and turns the guest's TCP and UDP flows into ordinary
/// host sockets, so no privilege is needed.
/// <para>
/// libslirp is not thread-safe and expects to be driven by its host's event loop: it lists the
/// sockets it wants polled (slirp_pollfds_fill), is told what happened (slirp_pollfds_poll), keeps
/// timers through callbacks, and is handed the guest's frames (slirp_input). Here that loop is one
/// dedicated thread, "slirp", and every libslirp call after construction happens on it. The guest's
/// frames reach it through a queue and an eventfd that wakes its poll(2); frames for the guest leave
/// it through the send_packet callback straight into the network card (which takes the machine's
/// device lock). emu's vCPU threads never wait for this thread.
/// </para>
/// </summary>
public sealed unsafe class SlirpBackend : INetBackend
{
    /// <summary>Guest frames waiting for the slirp thread, at most.</summary>
    public const int MaxQueuedFrames = 4096;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly LibSlirpNative _lib;
    private readonly int _wake;
    private readonly ConcurrentQueue<(byte[] Data, int Length)> _toSlirp = new();
    private readonly Dictionary<nint, SlirpTimer> _timers = [];
    private readonly SlirpCallbacks* _callbacks;
    private GCHandle _self;
    private void* _slirp;
    private PollFd[] _pollFds = new PollFd[64];
    private int _pollCount;
    private nint _nextTimerId = 1;
    private int _queued;
    private int _wakePending;
    private volatile bool _stop;
    private Thread? _thread;
    private FrameReceiver? _receiver;

    /// <summary>Creates the virtual network and opens the port forwards' listening sockets.</summary>
    /// <exception cref="NetBackendException">libslirp is missing, or a port forward cannot listen; one line for the user.</exception>
    public SlirpBackend(SlirpOptions options)
    {
        _lib = LibSlirpNative.Load();
        Options = options;
        _wake = PosixIo.CreateEventFd();
        _self = GCHandle.Alloc(this);
        _callbacks = (SlirpCallbacks*)NativeMemory.AllocZeroed((nuint)sizeof(SlirpCallbacks));
        _callbacks->SendPacket = &OnSendPacket;
        _callbacks->GuestError = &OnGuestError;
        _callbacks->ClockGetNs = &OnClockGetNs;
        _callbacks->TimerNew = &OnTimerNew;
        _callbacks->TimerFree = &OnTimerFree;
        _callbacks->TimerMod = &OnTimerMod;
        _callbacks->RegisterPollFd = &OnPollFdChange;
        _callbacks->UnregisterPollFd = &OnPollFdChange;
        _callbacks->Notify = &OnNotify;

        SlirpConfig config = default;
        config.Version = 4;
        config.Restricted = options.Restrict ? 1 : 0;
        config.InEnabled = 1;
        config.VNetwork = InAddr(SlirpOptions.Network);
        config.VNetmask = InAddr(SlirpOptions.Netmask);
        config.VHost = InAddr(SlirpOptions.Host);
        config.VDhcpStart = InAddr(SlirpOptions.DhcpStart);
        config.VNameserver = InAddr(SlirpOptions.Dns);
        config.In6Enabled = 1;
        SetIn6(config.VPrefixAddr6, 0);
        config.VPrefixLen = 64;
        SetIn6(config.VHost6, 2);
        SetIn6(config.VNameserver6, 3);
        config.IfMtu = (nuint)options.Mtu;
        config.IfMru = (nuint)options.Mtu;
        _slirp = _lib.New(&config, _callbacks, (void*)GCHandle.ToIntPtr(_self));
        if (_slirp is null)
        {
            Release();
            throw new NetBackendException($"--nic user: libslirp {_lib.Version} refused the network configuration (mtu={options.Mtu})");
        }

        foreach (HostForward f in options.HostForwards)
        {
            uint guest = f.GuestAddress is null ? 0 : InAddr(f.GuestAddress);
            if (_lib.AddHostForward(_slirp, f.Udp ? 1 : 0, InAddr(f.HostAddress), f.HostPort, guest, f.GuestPort) < 0)
            {
                Release();
                throw new NetBackendException($"--nic user,hostfwd={f}: cannot listen on {f.HostAddress}:{f.HostPort} ({(f.Udp ? "udp" : "tcp")}; the port is in use or not permitted)");
            }
        }
    }

    /// <summary>What the user chose.</summary>
    public SlirpOptions Options { get; }

    /// <summary>The loaded libslirp's version.</summary>
    public string LibraryVersion => _lib.Version;

    /// <inheritdoc/>
    public string Name => "user";

    /// <inheritdoc/>
    public void Start(FrameReceiver receiver)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("the slirp backend is already started");
        }

        _receiver = receiver;
        _thread = new Thread(Loop) { IsBackground = true, Name = "slirp" };
        _thread.Start();
    }

    /// <inheritdoc/>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (Interlocked.Increment(ref _queued) > MaxQueuedFrames)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(frame.Length);
        frame.CopyTo(copy);
        _toSlirp.Enqueue((copy, frame.Length));

        // One wake-up per batch: the slirp thread clears the flag before it empties the queue.
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            PosixIo.Signal(_wake);
        }

        return true;
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

        Release();
    }

    private void Release()
    {
        // The slirp thread has ended (or never ran): libslirp is ours alone again.
        if (_slirp is not null)
        {
            _lib.Cleanup(_slirp);
            _slirp = null;
        }

        while (_toSlirp.TryDequeue(out (byte[] Data, int Length) f))
        {
            ArrayPool<byte>.Shared.Return(f.Data);
        }

        if (_self.IsAllocated)
        {
            _self.Free();
            NativeMemory.Free(_callbacks);
            _ = PosixIo.Close(_wake);
        }
    }

    private void Loop()
    {
        while (!_stop)
        {
            _pollCount = 0;
            AddPollFd(_wake, PosixIo.PollIn);
            uint timeout = 1000;
            _lib.PollfdsFill(_slirp, &timeout, &OnAddPoll, (void*)GCHandle.ToIntPtr(_self));
            int wait = (int)Math.Min(timeout, (uint)NextTimerDelay());
            int ready;
            fixed (PollFd* fds = _pollFds)
            {
                ready = PosixIo.Poll(fds, (nuint)_pollCount, wait);
            }

            int error = ready < 0 && Marshal.GetLastPInvokeError() != PosixIo.Eintr ? 1 : 0;
            if (ready < 0)
            {
                // Nothing is known about the descriptors: slirp must not read stale revents.
                for (int i = 0; i < _pollCount; i++)
                {
                    _pollFds[i].Revents = 0;
                }
            }

            _lib.PollfdsPoll(_slirp, error, &OnGetREvents, (void*)GCHandle.ToIntPtr(_self));
            if (_pollFds[0].Revents != 0)
            {
                PosixIo.Drain(_wake);
            }

            Volatile.Write(ref _wakePending, 0);
            while (_toSlirp.TryDequeue(out (byte[] Data, int Length) frame))
            {
                Interlocked.Decrement(ref _queued);
                fixed (byte* p = frame.Data)
                {
                    _lib.Input(_slirp, p, frame.Length);
                }

                ArrayPool<byte>.Shared.Return(frame.Data);
            }

            RunExpiredTimers();
        }
    }

    private int AddPollFd(int fd, short events)
    {
        if (_pollCount == _pollFds.Length)
        {
            Array.Resize(ref _pollFds, _pollFds.Length * 2);
        }

        _pollFds[_pollCount] = new PollFd { Fd = fd, Events = events };
        return _pollCount++;
    }

    private static long NowNanoseconds() => (long)(Stopwatch.GetTimestamp() * NanosecondsPerTick);

    private long NextTimerDelay()
    {
        long now = NowNanoseconds() / 1_000_000;
        long delay = 1000;
        foreach (SlirpTimer t in _timers.Values)
        {
            if (t.ExpireMs is long at)
            {
                delay = Math.Min(delay, Math.Max(0, at - now));
            }
        }

        return delay;
    }

    private void RunExpiredTimers()
    {
        long now = NowNanoseconds() / 1_000_000;
        foreach (SlirpTimer t in _timers.Values.Where(t => t.ExpireMs <= now).ToList())
        {
            // A callback may free or re-arm timers, so each is looked up again.
            if (_timers.ContainsKey(t.Id) && t.ExpireMs <= now)
            {
                t.ExpireMs = null;
                t.Callback(t.Opaque);
            }
        }
    }

    private static uint InAddr(IPAddress address) => BinaryPrimitives.ReadUInt32LittleEndian(address.GetAddressBytes());

    // fec0::N, QEMU's site-local guest prefix.
    private static void SetIn6(byte* field, byte last)
    {
        new Span<byte>(field, 16).Clear();
        field[0] = 0xfe;
        field[1] = 0xc0;
        field[15] = last;
    }

    private static SlirpBackend From(void* opaque) => (SlirpBackend)GCHandle.FromIntPtr((nint)opaque).Target!;

    // The callbacks run on the slirp thread (or in the constructor, inside slirp_new); an exception
    // must never unwind into native code, so each one catches everything it could raise.
    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static nint OnSendPacket(void* buffer, nuint length, void* opaque)
    {
        try
        {
            From(opaque)._receiver?.Invoke(new ReadOnlySpan<byte>(buffer, (int)length));
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or ArgumentException)
        {
            // The machine is shutting down; the frame is dropped, as libslirp allows.
        }

        return (nint)length;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnGuestError(byte* message, void* opaque)
    {
        // A guest's malformed packet: libslirp drops it. Nothing for the user (QEMU logs these only on request).
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static long OnClockGetNs(void* opaque) => NowNanoseconds();

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void* OnTimerNew(void* callback, void* callbackOpaque, void* opaque)
    {
        SlirpBackend self = From(opaque);
        nint id = self._nextTimerId++;
        self._timers[id] = new SlirpTimer(id, (delegate* unmanaged<void*, void>)callback, callbackOpaque);
        return (void*)id;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnTimerFree(void* timer, void* opaque) => From(opaque)._timers.Remove((nint)timer);

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnTimerMod(void* timer, long expireMs, void* opaque)
    {
        if (From(opaque)._timers.TryGetValue((nint)timer, out SlirpTimer? t))
        {
            t.ExpireMs = expireMs;
        }
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnPollFdChange(int fd, void* opaque)
    {
        // The poll set is rebuilt from slirp_pollfds_fill on every turn; nothing to track.
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void OnNotify(void* opaque) => PosixIo.Signal(From(opaque)._wake);

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static int OnAddPoll(int fd, int events, void* opaque)
    {
        short e = 0;
        e |= (events & LibSlirpNative.PollIn) != 0 ? PosixIo.PollIn : (short)0;
        e |= (events & LibSlirpNative.PollOut) != 0 ? PosixIo.PollOut : (short)0;
        e |= (events & LibSlirpNative.PollPri) != 0 ? PosixIo.PollPri : (short)0;
        return From(opaque).AddPollFd(fd, e);
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static int OnGetREvents(int index, void* opaque)
    {
        SlirpBackend self = From(opaque);
        if (index < 0 || index >= self._pollCount)
        {
            return 0;
        }

        short r = self._pollFds[index].Revents;
        int events = 0;
        events |= (r & PosixIo.PollIn) != 0 ? LibSlirpNative.PollIn : 0;
        events |= (r & PosixIo.PollOut) != 0 ? LibSlirpNative.PollOut : 0;
        events |= (r & PosixIo.PollPri) != 0 ? LibSlirpNative.PollPri : 0;
        events |= (r & PosixIo.PollErr) != 0 ? LibSlirpNative.PollErr : 0;
        events |= (r & PosixIo.PollHup) != 0 ? LibSlirpNative.PollHup : 0;
        return events;
    }

    private sealed class SlirpTimer(nint id, delegate* unmanaged<void*, void> callback, void* opaque)
    {
        public nint Id { get; } = id;

        public delegate* unmanaged<void*, void> Callback { get; } = callback;

        public void* Opaque { get; } = opaque;

        public long? ExpireMs { get; set; }
    }
}
