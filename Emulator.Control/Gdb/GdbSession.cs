using System.Globalization;
using System.Text;
using Emulator.Control.Guest;
using Emulator.Core.Cpu;
using Emulator.Machines.Pc;

namespace Emulator.Control.Gdb;

/// <summary>
/// One debugger connection, in all-stop mode: the VM stops when gdb attaches, and whenever any vCPU
/// stops (breakpoint, watchpoint, step, Ctrl-C) the others are stopped with it. vCPUs are gdb's
/// threads (thread id = vCPU index + 1). Registers are read and written on the vCPU's own thread
/// (through the machine), memory through the selected vCPU's page tables.
/// </summary>
internal sealed class GdbSession
{
    private const string Supported = "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+";

    private readonly GdbConnection _connection;
    private readonly PcMachine _machine;
    private readonly GdbBreakpoints _breakpoints = new();
    private readonly Dictionary<int, CpuState> _states = [];
    private readonly VcpuDebugSettings?[] _applied;
    private readonly Lock _stopLock = new();
    private GdbTarget _target = GdbTarget.X86_64();
    private int _registerThread;
    private int _resumeThread;
    private bool _running;
    private string _lastStop = "S05";

    public GdbSession(GdbConnection connection, PcMachine machine)
    {
        _connection = connection;
        _machine = machine;
        _applied = new VcpuDebugSettings?[machine.VcpuCount];
    }

    /// <summary>Serves the connection until gdb detaches or goes away, then lets the guest run on.</summary>
    public void Run()
    {
        _machine.DebugStopped += OnDebugStopped;
        _machine.EventRaised += OnMachineEvent;
        try
        {
            // Like QEMU, attaching stops the guest; gdb asks why with '?'.
            _machine.Stop(MachineRunState.Debug);
            _target = GdbTarget.For(State(0));
            _lastStop = StopReply(0, 5, null);
            Serve();
        }
        catch (MachineStoppedException)
        {
            // The machine is exiting: nothing left to debug.
        }
        finally
        {
            _machine.DebugStopped -= OnDebugStopped;
            _machine.EventRaised -= OnMachineEvent;
            Release();
        }
    }

    private void Serve()
    {
        while (true)
        {
            (GdbConnection.Kind kind, byte[] data) = _connection.Receive();
            switch (kind)
            {
                case GdbConnection.Kind.Closed:
                    return;
                case GdbConnection.Kind.Interrupt:
                    Interrupt();
                    continue;
            }

            string packet = Encoding.Latin1.GetString(data);
            string? reply;
            try
            {
                reply = Handle(packet, data);
            }
            catch (FormatException)
            {
                reply = "E01";
            }
            catch (OverflowException)
            {
                reply = "E01";
            }

            if (reply is null)
            {
                if (packet is "k" || packet.StartsWith('D'))
                {
                    return;
                }

                continue; // resumed: the stop reply comes later
            }

            _connection.Send(reply);
            if (packet == "QStartNoAckMode")
            {
                _connection.NoAck = true;
            }
            else if (packet.StartsWith('D') || packet.StartsWith("vKill", StringComparison.Ordinal))
            {
                _connection.AwaitLastAcknowledgement(TimeSpan.FromSeconds(1));
                return;
            }
        }
    }

    // Returns the reply, or null when there is none now (the guest was resumed, or gdb killed it).
    private string? Handle(string p, byte[] raw)
    {
        switch (p[0])
        {
            case '?':
                return _lastStop;
            case 'g':
                return Hex(_target.ReadAll(State(_registerThread)));
            case 'G':
                return WriteRegisters(p[1..]);
            case 'p':
                return ReadRegister(p[1..]);
            case 'P':
                return WriteRegister(p[1..]);
            case 'm':
                return ReadMemory(p[1..]);
            case 'M':
                return WriteMemory(p[1..]);
            case 'X':
                return WriteBinaryMemory(raw);
            case 'Z':
                return InsertPoint(p[1..]);
            case 'z':
                return RemovePoint(p[1..]);
            case 'H':
                return SelectThread(p);
            case 'T':
                return ThreadIndex(p[1..]) is int ? "OK" : "E01";
            case 'c' or 'C':
                ResumeAt(p, step: false);
                return null;
            case 's' or 'S':
                ResumeAt(p, step: true);
                return null;
            case 'k':
                _machine.Quit("host-ui");
                return null;
            case 'D':
                Release();
                return "OK";
            case 'q' or 'Q' or 'v':
                return Query(p);
            default:
                return string.Empty;
        }
    }

    private string? Query(string p)
    {
        if (p.StartsWith("qSupported", StringComparison.Ordinal))
        {
            return Supported;
        }

        if (p.StartsWith("qXfer:features:read:", StringComparison.Ordinal))
        {
            return TargetXml(p["qXfer:features:read:".Length..]);
        }

        if (p.StartsWith("qThreadExtraInfo,", StringComparison.Ordinal))
        {
            return ThreadIndex(p["qThreadExtraInfo,".Length..]) is int i
                ? Hex(Encoding.ASCII.GetBytes($"CPU#{i} [{_machine.DescribeVcpus()[i].State}]"))
                : "E01";
        }

        if (p.StartsWith("vCont;", StringComparison.Ordinal))
        {
            return VCont(p["vCont;".Length..]);
        }

        if (p.StartsWith("vKill", StringComparison.Ordinal))
        {
            _machine.Quit("host-ui");
            return "OK";
        }

        return p switch
        {
            "QStartNoAckMode" => "OK",
            "qAttached" or "qAttached:1" => "1",
            "qC" => $"QC{_registerThread + 1:x}",
            "qfThreadInfo" => "m" + string.Join(',', Enumerable.Range(1, _machine.VcpuCount).Select(t => t.ToString("x", CultureInfo.InvariantCulture))),
            "qsThreadInfo" => "l",
            "qSymbol::" => "OK",
            "vCont?" => "vCont;c;C;s;S",
            _ => string.Empty,
        };
    }

    // qXfer:features:read:ANNEX:OFFSET,LENGTH - 'm' and a piece, or 'l' and the last piece.
    private string TargetXml(string request)
    {
        int colon = request.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || request[..colon] != "target.xml")
        {
            return "E00";
        }

        (ulong offset, ulong length) = AddressAndLength(request[(colon + 1)..]);
        byte[] xml = Encoding.UTF8.GetBytes(_target.Xml);
        if (offset >= (ulong)xml.Length)
        {
            return "l";
        }

        int n = (int)Math.Min(length, (ulong)xml.Length - offset);
        bool last = offset + (ulong)n >= (ulong)xml.Length;
        return (last ? "l" : "m") + GdbConnection.Escape(xml.AsSpan((int)offset, n));
    }

    private string SelectThread(string p)
    {
        if (p.Length < 3)
        {
            return "E01";
        }

        string id = p[2..];
        int index = id is "0" or "-1" ? 0 : ThreadIndex(id) ?? -1;
        if (index < 0)
        {
            return "E01";
        }

        if (p[1] == 'g')
        {
            _registerThread = index;
        }
        else
        {
            _resumeThread = index;
        }

        return "OK";
    }

    private string ReadRegister(string p)
    {
        int n = int.Parse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (n < 0 || n >= _target.Registers.Count)
        {
            return "E00";
        }

        GdbRegister reg = _target.Registers[n];
        byte[] bytes = new byte[reg.Bytes];
        reg.Get(State(_registerThread), bytes);
        return Hex(bytes);
    }

    private string WriteRegister(string p)
    {
        int eq = p.IndexOf('=', StringComparison.Ordinal);
        int n = int.Parse(p[..eq], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (n < 0 || n >= _target.Registers.Count)
        {
            return "E00";
        }

        GdbRegister reg = _target.Registers[n];
        byte[] bytes = Unhex(p[(eq + 1)..]);
        if (bytes.Length != reg.Bytes)
        {
            return "E01";
        }

        CpuState s = State(_registerThread).Clone();
        reg.Set(s, bytes);
        Store(_registerThread, s);
        return "OK";
    }

    private string WriteRegisters(string hex)
    {
        CpuState s = State(_registerThread).Clone();
        _target.WriteAll(s, Unhex(hex));
        Store(_registerThread, s);
        return "OK";
    }

    private string ReadMemory(string p)
    {
        (ulong address, ulong length) = AddressAndLength(p);
        byte[] data = new byte[Math.Min(length, 0x10000)];
        int n = Memory().Read(address, data);
        // A read that reaches nothing is an error; a read that stops at an unmapped page returns what it got.
        return n == 0 && data.Length > 0 ? "E14" : Hex(data.AsSpan(0, n));
    }

    private string WriteMemory(string p)
    {
        int colon = p.IndexOf(':', StringComparison.Ordinal);
        (ulong address, ulong length) = AddressAndLength(p[..colon]);
        byte[] data = Unhex(p[(colon + 1)..]);
        return (ulong)data.Length == length && Memory().Write(address, data) ? "OK" : "E14";
    }

    private string WriteBinaryMemory(byte[] raw)
    {
        int colon = Array.IndexOf(raw, (byte)':');
        if (colon < 0)
        {
            return "E01";
        }

        (ulong address, ulong length) = AddressAndLength(Encoding.Latin1.GetString(raw, 1, colon - 1));
        byte[] data = GdbConnection.Unescape(raw.AsSpan(colon + 1));
        if ((ulong)data.Length != length)
        {
            return "E01";
        }

        return length == 0 || Memory().Write(address, data) ? "OK" : "E14";
    }

    // Z/z TYPE,ADDR,KIND: 0 software and 1 hardware breakpoints, 2 write, 3 read, 4 access watchpoints.
    private string InsertPoint(string p)
    {
        (int type, ulong address, int kind) = Point(p);
        VcpuDebugSupport support = _machine.VcpuDebugSupport(0);
        switch (type)
        {
            case 0 or 1:
                return _breakpoints.AddBreakpoint(address, support) ? "OK" : "E22";
            case 2 or 3 or 4:
                if (kind is not (1 or 2 or 4 or 8))
                {
                    return "E22";
                }

                WatchKind watch = type == 2 ? WatchKind.Write : type == 3 ? WatchKind.Read : WatchKind.Access;
                ulong? physical = Memory().Walker.Translate(address);
                if (physical is null && support.MaxBreakpoints == int.MaxValue)
                {
                    // The software CPU compares the watched bytes in physical memory: they must be mapped now.
                    return "E14";
                }

                // An empty reply says "not supported": gdb then does what it can itself.
                return _breakpoints.AddWatchpoint(new Watchpoint(address, kind, watch, physical), support) ? "OK" : string.Empty;
            default:
                return string.Empty;
        }
    }

    private string RemovePoint(string p)
    {
        (int type, ulong address, int kind) = Point(p);
        switch (type)
        {
            case 0 or 1:
                _breakpoints.RemoveBreakpoint(address);
                return "OK";
            case 2 or 3 or 4:
                _breakpoints.RemoveWatchpoint(address, kind, type == 2 ? WatchKind.Write : type == 3 ? WatchKind.Read : WatchKind.Access);
                return "OK";
            default:
                return string.Empty;
        }
    }

    // c/s [ADDR], C/S SIG[;ADDR]: the legacy resume packets act on the Hc thread.
    private void ResumeAt(string p, bool step)
    {
        string rest = p[1..];
        if (p[0] is 'C' or 'S')
        {
            int semicolon = rest.IndexOf(';', StringComparison.Ordinal);
            rest = semicolon < 0 ? string.Empty : rest[(semicolon + 1)..];
        }

        if (rest.Length > 0)
        {
            CpuState s = State(_resumeThread).Clone();
            s.Rip = ulong.Parse(rest, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            Store(_resumeThread, s);
        }

        Resume(step ? [_resumeThread] : [], othersRun: !step);
    }

    // vCont;ACTION[:THREAD];... - the first action naming a thread applies to it, an action without
    // a thread to all the others; threads with no action stay stopped.
    private string? VCont(string actions)
    {
        var stepping = new HashSet<int>();
        var continuing = new HashSet<int>();
        bool othersRun = false;
        foreach (string action in actions.Split(';'))
        {
            if (action.Length == 0)
            {
                continue;
            }

            char a = action[0];
            int colon = action.IndexOf(':', StringComparison.Ordinal);
            if (a is not ('c' or 'C' or 's' or 'S'))
            {
                return "E01";
            }

            bool step = a is 's' or 'S';
            if (colon < 0)
            {
                if (step)
                {
                    stepping.UnionWith(Enumerable.Range(0, _machine.VcpuCount).Except(continuing));
                }

                othersRun = !step;
                continue;
            }

            int? index = action[(colon + 1)..] is "-1" or "0" ? null : ThreadIndex(action[(colon + 1)..]);
            if (index is not int i)
            {
                (step ? stepping : continuing).UnionWith(Enumerable.Range(0, _machine.VcpuCount));
                othersRun |= !step;
            }
            else if (!stepping.Contains(i) && !continuing.Contains(i))
            {
                (step ? stepping : continuing).Add(i);
            }
        }

        Resume(stepping, othersRun, continuing);
        return null;
    }

    private void Resume(IReadOnlyCollection<int> stepping, bool othersRun, IReadOnlyCollection<int>? continuing = null)
    {
        for (int i = 0; i < _machine.VcpuCount; i++)
        {
            Apply(i, _breakpoints.SettingsFor(stepping.Contains(i)));
        }

        _states.Clear();
        lock (_stopLock)
        {
            _running = true;
        }

        if (othersRun)
        {
            _machine.Continue();
        }
        else
        {
            _machine.Continue([.. stepping, .. continuing ?? []]);
        }
    }

    private void Apply(int index, VcpuDebugSettings settings)
    {
        VcpuDebugSettings? old = _applied[index];
        if (old is not null && old.SingleStep == settings.SingleStep && old.Breakpoints.SequenceEqual(settings.Breakpoints) && old.Watchpoints.SequenceEqual(settings.Watchpoints))
        {
            return;
        }

        _machine.SetVcpuDebug(index, settings);
        _applied[index] = settings;
    }

    // Ctrl-C: stop the guest and say so (SIGINT).
    private void Interrupt()
    {
        _machine.Stop(MachineRunState.Debug);
        ReportStop(_registerThread, 2, null);
    }

    private void OnDebugStopped(int index, VcpuDebugEvent e) => ReportStop(index, 5, e);

    // A QMP stop while gdb waits is reported like an interrupt; a shutdown ends the debugged process.
    private void OnMachineEvent(MachineEvent e)
    {
        if (e.Kind == MachineEventKind.Stop && _machine.RunState == MachineRunState.Paused)
        {
            ReportStop(_registerThread, 2, null);
        }
        else if (e.Kind == MachineEventKind.Shutdown)
        {
            lock (_stopLock)
            {
                if (_running)
                {
                    _running = false;
                    _connection.Send("W00");
                }
            }
        }
    }

    private void ReportStop(int index, int signal, VcpuDebugEvent? e)
    {
        lock (_stopLock)
        {
            if (!_running)
            {
                return;
            }

            _running = false;
            _registerThread = index;
            _resumeThread = index;
            _lastStop = StopReply(index, signal, e);
            _connection.Send(_lastStop);
        }
    }

    private string StopReply(int index, int signal, VcpuDebugEvent? e)
    {
        string reason = e?.Kind switch
        {
            VcpuDebugEventKind.Breakpoint => "swbreak:;",
            VcpuDebugEventKind.Watchpoint => (_breakpoints.KindAt(e.Address) switch
            {
                WatchKind.Read => "rwatch",
                WatchKind.Access => "awatch",
                _ => "watch",
            }) + $":{e.Address:x};",
            _ => string.Empty,
        };
        return $"T{signal:x2}thread:{index + 1:x};{reason}";
    }

    // Detach (or connection lost): nothing is watched any more and the guest runs on.
    private void Release()
    {
        _breakpoints.Clear();
        try
        {
            for (int i = 0; i < _machine.VcpuCount; i++)
            {
                if (_applied[i] is not null)
                {
                    _machine.SetVcpuDebug(i, VcpuDebugSettings.None);
                    _applied[i] = null;
                }
            }

            if (_machine.RunState == MachineRunState.Debug)
            {
                _machine.Continue();
            }
        }
        catch (MachineStoppedException)
        {
        }
    }

    private CpuState State(int index)
    {
        if (!_states.TryGetValue(index, out CpuState? s))
        {
            s = _machine.ReadVcpuState(index);
            _states[index] = s;
        }

        return s;
    }

    private void Store(int index, CpuState s)
    {
        _machine.WriteVcpuState(index, s);
        _states[index] = s;
    }

    private GuestVirtualMemory Memory() => new(_machine.Platform.Memory, State(_registerThread));

    private int? ThreadIndex(string id) =>
        int.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int t) && t >= 1 && t <= _machine.VcpuCount ? t - 1 : null;

    private static (int Type, ulong Address, int Kind) Point(string p)
    {
        string[] parts = p.Split(',');
        if (parts.Length < 3)
        {
            throw new FormatException("Z packet");
        }

        return (
            int.Parse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            ulong.Parse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            int.Parse(parts[2].Split(';')[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
    }

    private static (ulong Address, ulong Length) AddressAndLength(string p)
    {
        int comma = p.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            throw new FormatException("ADDR,LENGTH");
        }

        return (
            ulong.Parse(p[..comma], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            ulong.Parse(p[(comma + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static byte[] Unhex(string hex) => Convert.FromHexString(hex);
}
