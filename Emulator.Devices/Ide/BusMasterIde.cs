using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Memory;

namespace Emulator.Devices.Ide;

/// <summary>
/// The PIIX3's bus master IDE function (82371SB datasheet 2.7, "Bus Master IDE Registers", and the
/// SFF-8038i programming interface): per channel a command register (start/stop, direction), a status
/// register (active, error, interrupt, drive DMA capable) and the address of a physical region
/// descriptor table. Each descriptor is 8 bytes: a 32-bit even physical address, a 16-bit byte count
/// (0 means 64 KiB) and bit 15 of the last word marking the end of the table (EOT). A DMA command
/// of a drive waits until software starts the engine, then moves all its data at once through the
/// address space (so DMA into RAM holding code invalidates it) and completes with an interrupt.
/// </summary>
public sealed class BusMasterIde : IBusDevice
{
    /// <summary>Ports of the register block (BAR 4).</summary>
    public const int Size = 16;

    /// <summary>Command register bits: start/stop bus master, read/write control (1: the controller writes memory).</summary>
    public const byte CommandStart = 0x01, CommandToMemory = 0x08;

    /// <summary>Status register bits: active, error, interrupt, drive 0 / drive 1 DMA capable.</summary>
    public const byte StatusActive = 0x01, StatusError = 0x02, StatusInterrupt = 0x04, StatusDrive0Capable = 0x20, StatusDrive1Capable = 0x40;

    // A table may not cross a 64 KiB boundary (SFF-8038i), so it holds at most 8192 descriptors.
    private const int MaxDescriptors = 8192;

    private readonly AddressSpace _memory;
    private readonly Func<bool> _busMasterEnabled;
    private readonly Engine[] _engines = [new(), new()];

    /// <summary>Creates the register block moving data through <paramref name="memory"/>; <paramref name="busMasterEnabled"/> is the PCI command register's Bus Master bit.</summary>
    public BusMasterIde(AddressSpace memory, Func<bool> busMasterEnabled)
    {
        _memory = memory;
        _busMasterEnabled = busMasterEnabled;
    }

    /// <inheritdoc/>
    public string Name => "piix3-ide-bmdma";

    /// <summary>Byte, word and dword accesses.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <summary>The engine of channel 0 (primary) or 1, which its <see cref="IdeChannel"/> uses.</summary>
    internal Engine For(int channel) => _engines[channel];

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            int o = (int)offset + i;
            Engine e = _engines[(o >> 3) & 1];
            data[i] = (o & 7) switch
            {
                0 => e.Command,
                2 => e.Status,
                >= 4 => (byte)(e.Table >> (8 * ((o & 7) - 4))),
                _ => 0,
            };
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            int o = (int)offset + i;
            Engine e = _engines[(o >> 3) & 1];
            byte v = data[i];
            switch (o & 7)
            {
                case 0:
                    e.WriteCommand(v, this);
                    break;
                case 2:
                    // Error and interrupt are write-one-to-clear; the capability bits are plain bits.
                    e.Status = (byte)(((e.Status & ~(v & (StatusError | StatusInterrupt))) & ~(StatusDrive0Capable | StatusDrive1Capable))
                        | (v & (StatusDrive0Capable | StatusDrive1Capable)));
                    break;
                case >= 4:
                    int shift = 8 * ((o & 7) - 4);
                    e.Table = ((e.Table & ~(0xffu << shift)) | ((uint)v << shift)) & ~3u;
                    break;
                default:
                    break;
            }
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        foreach (Engine e in _engines)
        {
            e.Reset();
        }
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        byte[] s = new byte[12];
        for (int c = 0; c < 2; c++)
        {
            s[6 * c] = _engines[c].Command;
            s[(6 * c) + 1] = _engines[c].Status;
            BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan((6 * c) + 2), _engines[c].Table);
        }

        return new DeviceState(Name, 1, s);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != 1 || state.Data.Length != 12)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported");
        }

        for (int c = 0; c < 2; c++)
        {
            _engines[c].Reset();
            _engines[c].Command = state.Data[6 * c];
            _engines[c].Status = state.Data[(6 * c) + 1];
            _engines[c].Table = BinaryPrimitives.ReadUInt32LittleEndian(state.Data.AsSpan((6 * c) + 2));
        }
    }

    /// <summary>One channel's engine: its registers and the transfer a drive has asked for.</summary>
    internal sealed class Engine
    {
        private DmaRequest? _pending;

        public byte Command { get; set; }

        public byte Status { get; set; }

        public uint Table { get; set; }

        public void Reset()
        {
            Command = 0;
            Status = 0;
            Table = 0;
            _pending = null;
        }

        /// <summary>A drive's DMA command: runs now if the engine is started, else when it is.</summary>
        public void Request(DmaRequest request, BusMasterIde owner)
        {
            _pending = request;
            if ((Command & CommandStart) != 0)
            {
                Run(owner);
            }
        }

        public void Cancel() => _pending = null;

        /// <summary>True while a drive's DMA request waits for software to start the engine.</summary>
        public bool HasRequest => _pending is not null;

        public void WriteCommand(byte value, BusMasterIde owner)
        {
            bool starting = (value & CommandStart) != 0 && (Command & CommandStart) == 0;
            Command = (byte)(value & (CommandStart | CommandToMemory));
            if ((value & CommandStart) == 0)
            {
                // Stopping the engine aborts a transfer in progress (there is none left: they run at once).
                Status &= unchecked((byte)~StatusActive);
                return;
            }

            if (starting)
            {
                Status |= StatusActive;
                if (_pending is not null)
                {
                    Run(owner);
                }
            }
        }

        // Walks the descriptor table and moves the data in the direction the drive's command
        // implies. The Read/Write Control bit must agree with it, and bus mastering must be
        // enabled in the PCI command register; otherwise the transfer fails with the error bit.
        private void Run(BusMasterIde owner)
        {
            DmaRequest request = _pending!;
            _pending = null;
            bool ok = owner._busMasterEnabled() && ((Command & CommandToMemory) != 0) == request.ToMemory;
            long done = 0;
            bool endOfTable = false;
            Span<byte> descriptor = stackalloc byte[8];
            byte[] chunk = new byte[Math.Min(64 * 1024, Math.Max(1, request.Length))];
            for (int i = 0; ok && i < MaxDescriptors && done < request.Length && !endOfTable; i++)
            {
                owner._memory.Read(new GuestPhysicalAddress(Table + (8u * (uint)i)), descriptor);
                uint address = BinaryPrimitives.ReadUInt32LittleEndian(descriptor) & ~1u;
                int field = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[4..]);
                int count = field != 0 ? field & ~1 : 0x1_0000;
                endOfTable = (descriptor[7] & 0x80) != 0;
                int n = (int)Math.Min(count, request.Length - done);
                Span<byte> part = chunk.AsSpan(0, Math.Min(n, chunk.Length));
                for (int moved = 0; ok && moved < n; moved += part.Length)
                {
                    part = chunk.AsSpan(0, Math.Min(n - moved, chunk.Length));
                    if (request.ToMemory)
                    {
                        ok = request.Transfer(part, done + moved);
                        if (ok)
                        {
                            owner._memory.Write(new GuestPhysicalAddress(address + (ulong)moved), part);
                        }
                    }
                    else
                    {
                        owner._memory.Read(new GuestPhysicalAddress(address + (ulong)moved), part);
                        ok = request.Transfer(part, done + moved);
                    }
                }

                done += n;
            }

            // The engine stays active if the table describes more than the drive moved (datasheet
            // 2.7.2, "Bus Master IDE Status": interrupt set with active still set).
            bool complete = ok && done == request.Length;
            Status = (byte)((Status | StatusInterrupt) & ~(complete && !endOfTable ? 0 : StatusActive));
            if (!complete)
            {
                Status |= StatusError;
            }

            request.Done(complete);
        }
    }
}

/// <summary>A drive's DMA data phase.</summary>
/// <param name="ToMemory">True when data goes from the drive to memory (a read command).</param>
/// <param name="Length">Bytes the command moves.</param>
/// <param name="Transfer">Fills (to memory) or takes (from memory) the given bytes at this offset of the transfer; false on a media error.</param>
/// <param name="Done">Called once with whether every byte moved.</param>
internal sealed record DmaRequest(bool ToMemory, long Length, DmaTransfer Transfer, Action<bool> Done);

/// <summary>Moves part of a DMA transfer between the drive and <paramref name="data"/>.</summary>
internal delegate bool DmaTransfer(Span<byte> data, long offset);
