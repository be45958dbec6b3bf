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
/// libslirp is not thread-safe and expects its host's event loop to list the sockets it wants
/// polled (slirp_pollfds_fill), report what happened (slirp_pollfds_poll), keep its timers and hand
/// it the guest's frames (slirp_input). Every libslirp call here is made under one lock. The
/// guest's frames are put into libslirp on the vCPU thread that transmits them, as QEMU does: what
/// libslirp answers at once (the ACK for a TCP segment, an ARP or DHCP reply) reaches the card
/// before <see cref="Send"/> returns, in the same guest interrupt as the transmit completion, and a
/// segment for a host socket is written to it by that thread, with no thread switch on the way.
/// A dedicated thread, "slirp", waits in poll(2) for the host sockets and libslirp's timers, and
/// hands what they produce to the card in batches (<see cref="INetReceiver.Deliver"/> outside the
/// lock). When a transmitted frame changes the set of sockets libslirp wants polled (a connection
/// now established, a socket with data to write), the transmitting thread polls the new set at once
/// without waiting and lets libslirp handle what is ready, so bytes that were already waiting (a
/// forwarded connection's request, sent before the guest's SYN-ACK) reach the guest in the same
/// transmit batch; it then wakes the slirp thread through an eventfd to fill its set again, as it
/// does for a nearer timer; otherwise that thread sleeps on. When the lock is busy, a frame is queued for the slirp thread instead of
/// keeping the vCPU waiting.
/// </para>
/// <para>
/// Lock order: the machine's device lock (held by the card around <see cref="Send"/>), then this
/// backend's lock, then the card's receive queue. The slirp thread never takes the device lock
/// while it holds this backend's lock.
/// </para>
/// </summary>
public sealed unsafe class SlirpBackend : INetBackend
{
    /// <summary>Guest frames waiting for the slirp thread, at most.</summary>
    public const int MaxQueuedFrames = 4096;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    // A transmitting thread wakes the poll thread for a nearer deadline only when it is nearer by
    // more than this: libslirp's timers are in milliseconds.
    private const long DeadlineSlackNs = 500_000;

    private readonly LibSlirpNative _lib;
    private readonly int _wake;
    private readonly Lock _lock = new();
    private readonly ConcurrentQueue<(byte[] Data, int Length)> _toSlirp = new();
    private readonly Dictionary<nint, SlirpTimer> _timers = [];
    private readonly SlirpCallbacks* _callbacks;
    private GCHandle _self;
    private void* _slirp;

    // The set the slirp thread polls (written by it alone, under _lock, and read by poll(2) outside it).
    private PollFd[] _pollFds = new PollFd[64];
    private int _pollCount;
    // A transmitting thread's fill, compared with the polled set.
    private PollFd[] _scratchFds = new PollFd[64];
    private int _scratchCount;
    // Where OnAddPoll appends: one of the two arrays above.
    private bool _fillingScratch;

    // The set libslirp's descriptor indices were last filled into, by either thread: a transmit
    // whose fill differs from it made a descriptor pollable that nobody has polled yet.
    private PollFd[] _lastFds = new PollFd[64];
    private int _lastCount;
    // Under _lock: OnGetREvents reads the scratch set (polled on a transmitting thread), not _pollFds.
    private bool _reventsFromScratch;

    // Under _lock: the slirp thread filled _pollFds and has not yet handed poll's results to
    // libslirp (it is in, or about to enter, poll(2) until _pollDeadline).
    private bool _polling;
    // Under _lock: a transmitting thread has woken the slirp thread since its fill.
    private bool _woken;
    private long _pollDeadlineNs;
    // Under _lock: a transmitting thread refilled libslirp's descriptor indices with a different set
    // while the slirp thread polled, so that poll's results no longer line up with them.
    private bool _pollSetStale;
    // Under _lock: a libslirp call is running (its callbacks may call Send again).
    private bool _inLibslirp;
    // Under _lock: frames libslirp sent on the slirp thread since its last flush.
    private bool _framesToDeliver;

    private nint _nextTimerId = 1;
    private int _queued;
    private int _wakePending;
    private volatile bool _stop;
    private Thread? _thread;
    private INetReceiver? _receiver;

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
    public void Start(INetReceiver receiver)
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
        // Inline when libslirp is free and this is not a callback of a libslirp call on this thread
        // (a receiver that answers at once); queued for the slirp thread otherwise.
        if (_thread is not null && _lock.TryEnter())
        {
            try
            {
                if (!_inLibslirp && _slirp is not null)
                {
                    InputQueued();
                    Input(frame);
                    InputQueued();
                    AfterInput();
                    return true;
                }
            }
            finally
            {
                _lock.Exit();
            }
        }

        return Enqueue(frame);
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

    private bool Enqueue(ReadOnlySpan<byte> frame)
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

    private void Release()
    {
        // The slirp thread has ended (or never ran); a late Send finds _slirp null and queues.
        lock (_lock)
        {
            if (_slirp is not null)
            {
                _lib.Cleanup(_slirp);
                _slirp = null;
            }
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

    // Under _lock. Frames sent from inside a libslirp callback, or while the lock was busy, go in
    // first, in order. A frame queued by a callback during this loop is taken by the same loop.
    private void InputQueued()
    {
        while (_toSlirp.TryDequeue(out (byte[] Data, int Length) frame))
        {
            Interlocked.Decrement(ref _queued);
            Input(frame.Data.AsSpan(0, frame.Length));
            ArrayPool<byte>.Shared.Return(frame.Data);
        }
    }

    // Under _lock: one frame into libslirp.
    private void Input(ReadOnlySpan<byte> frame)
    {
        _inLibslirp = true;
        try
        {
            fixed (byte* p = frame)
            {
                _lib.Input(_slirp, p, frame.Length);
            }
        }
        finally
        {
            _inLibslirp = false;
        }
    }

    private void Loop()
    {
        while (!_stop)
        {
            int wait;
            lock (_lock)
            {
                Volatile.Write(ref _wakePending, 0);
                InputQueued();
                wait = Fill(scratch: false);
                Remember(_pollFds, _pollCount);
                _polling = true;
                _woken = false;
                _pollSetStale = false;
                _pollDeadlineNs = NowNanoseconds() + (wait * 1_000_000L);
            }

            DeliverFrames();
            int ready;
            fixed (PollFd* fds = _pollFds)
            {
                ready = PosixIo.Poll(fds, (nuint)_pollCount, wait);
            }

            int error = ready < 0 && Marshal.GetLastPInvokeError() != PosixIo.Eintr ? 1 : 0;
            if (_pollFds[0].Revents != 0)
            {
                PosixIo.Drain(_wake);
            }

            lock (_lock)
            {
                _polling = false;
                if (ready < 0 || _pollSetStale)
                {
                    // Nothing is known about the descriptors, or libslirp's indices now point into
                    // another set: slirp must not read these revents. poll(2) is level-triggered,
                    // so whatever was ready is seen again on the next turn.
                    for (int i = 0; i < _pollCount; i++)
                    {
                        _pollFds[i].Revents = 0;
                    }
                }

                _inLibslirp = true;
                try
                {
                    _lib.PollfdsPoll(_slirp, error, &OnGetREvents, (void*)GCHandle.ToIntPtr(_self));
                    RunExpiredTimers();
                }
                finally
                {
                    _inLibslirp = false;
                }

                Volatile.Write(ref _wakePending, 0);
                InputQueued();
            }

            DeliverFrames();
        }
    }

    // On the slirp thread, outside _lock: frames libslirp sent on this thread go to the guest.
    private void DeliverFrames()
    {
        bool flush;
        lock (_lock)
        {
            flush = _framesToDeliver;
            _framesToDeliver = false;
        }

        if (flush)
        {
            _receiver?.Deliver();
        }
    }

    // Under _lock: libslirp's descriptors into the polled set or the scratch set (the eventfd first);
    // returns the poll timeout in ms, the nearer of libslirp's and its timers'.
    private int Fill(bool scratch)
    {
        _fillingScratch = scratch;
        if (scratch)
        {
            _scratchCount = 0;
        }
        else
        {
            _pollCount = 0;
        }

        AddPollFd(_wake, PosixIo.PollIn);
        uint timeout = 1000;
        _inLibslirp = true;
        try
        {
            _lib.PollfdsFill(_slirp, &timeout, &OnAddPoll, (void*)GCHandle.ToIntPtr(_self));
        }
        finally
        {
            _inLibslirp = false;
        }

        return (int)Math.Min(timeout, (uint)NextTimerDelay());
    }

    // Under _lock, after a frame went into libslirp on a transmitting thread.
    // When the frame changed the set libslirp wants polled (a forwarded connection became
    // established, a socket has data to write or room to read again), the new set is polled at once,
    // without waiting, and what is ready is handled on this thread: bytes that were already waiting
    // on a descriptor nobody polled yet (a host client's request, sent before the guest's SYN-ACK
    // made the connection established) reach the card in this transmit batch, as libslirp's answers
    // do, instead of after the slirp thread has been woken, filled its set and polled. And if the
    // slirp thread is polling a set that no longer matches what libslirp wants, or sleeps past a
    // nearer timeout, it is woken to fill its set again.
    private void AfterInput()
    {
        int wait = Fill(scratch: true);
        if (!SameSet(_scratchFds, _scratchCount, _lastFds, _lastCount))
        {
            Remember(_scratchFds, _scratchCount);
            PollScratchNow();
        }

        if (!_polling)
        {
            return;
        }

        if (!SameSet(_scratchFds, _scratchCount, _pollFds, _pollCount))
        {
            // The fill renumbered libslirp's sockets to the scratch set.
            _pollSetStale = true;
        }

        if (!_woken && (_pollSetStale || NowNanoseconds() + (wait * 1_000_000L) < _pollDeadlineNs - DeadlineSlackNs))
        {
            _woken = true;
            PosixIo.Signal(_wake);
        }
    }

    // Under _lock: poll(2) of the scratch set without waiting (not its first entry, the slirp
    // thread's eventfd), and libslirp handles whatever is ready.
    private void PollScratchNow()
    {
        int ready;
        fixed (PollFd* fds = _scratchFds)
        {
            ready = _scratchCount > 1 ? PosixIo.Poll(fds + 1, (nuint)(_scratchCount - 1), 0) : 0;
        }

        if (ready <= 0)
        {
            return;
        }

        _inLibslirp = true;
        _reventsFromScratch = true;
        try
        {
            _lib.PollfdsPoll(_slirp, 0, &OnGetREvents, (void*)GCHandle.ToIntPtr(_self));
        }
        finally
        {
            _reventsFromScratch = false;
            _inLibslirp = false;
        }
    }

    private static bool SameSet(PollFd[] a, int aCount, PollFd[] b, int bCount)
    {
        if (aCount != bCount)
        {
            return false;
        }

        for (int i = 0; i < aCount; i++)
        {
            if (a[i].Fd != b[i].Fd || a[i].Events != b[i].Events)
            {
                return false;
            }
        }

        return true;
    }

    private void Remember(PollFd[] fds, int count)
    {
        if (_lastFds.Length < count)
        {
            _lastFds = new PollFd[fds.Length];
        }

        Array.Copy(fds, _lastFds, count);
        _lastCount = count;
    }

    private int AddPollFd(int fd, short events)
    {
        ref PollFd[] fds = ref _fillingScratch ? ref _scratchFds : ref _pollFds;
        ref int count = ref _fillingScratch ? ref _scratchCount : ref _pollCount;
        if (count == fds.Length)
        {
            Array.Resize(ref fds, fds.Length * 2);
        }

        fds[count] = new PollFd { Fd = fd, Events = events };
        return count++;
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
            // Under _lock. On the slirp thread the batch is flushed once the lock is released; on a
            // transmitting thread the card delivers it when its transmit batch ends.
            SlirpBackend self = From(opaque);
            if (self._receiver is { } receiver)
            {
                receiver.Receive(new ReadOnlySpan<byte>(buffer, (int)length));
                self._framesToDeliver |= Thread.CurrentThread == self._thread;
            }
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
    private static void OnNotify(void* opaque)
    {
        // libslirp calls this when a socket's send buffer drains below half (the guest acknowledged
        // data), so the socket should be read again. On the slirp thread the set is filled again
        // before the next poll; on a transmitting thread RecheckPollSet sees the change.
    }

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
        (PollFd[] fds, int count) = self._reventsFromScratch ? (self._scratchFds, self._scratchCount) : (self._pollFds, self._pollCount);
        if (index < 0 || index >= count)
        {
            return 0;
        }

        short r = fds[index].Revents;
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
