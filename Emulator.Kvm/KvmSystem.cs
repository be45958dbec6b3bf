using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// The open /dev/kvm: checks the API version and the capabilities the backend relies on, and
/// answers the system-wide questions (supported CPUID, MSR list, size of the kvm_run mapping).
/// </summary>
internal sealed class KvmSystem : IDisposable
{
    private int _fd;

    private KvmSystem(int fd) => _fd = fd;

    /// <summary>The /dev/kvm file descriptor.</summary>
    public int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(KvmSystem));

    /// <summary>
    /// Opens <paramref name="devicePath"/> and checks it can run this backend; every failure is a
    /// <see cref="KvmException"/> whose message says what is wrong and what to do.
    /// </summary>
    public static KvmSystem Open(string devicePath = KvmProbe.DefaultDevicePath)
    {
        KvmProbeResult probe = KvmProbe.Run(devicePath);
        if (!probe.Usable)
        {
            throw new KvmException(probe.Reason);
        }

        int fd = LibC.Open(devicePath, LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            throw KvmException.LastError($"open {devicePath}");
        }

        var system = new KvmSystem(fd);
        try
        {
            // The probe checked the API version and the capabilities every use needs; the backend needs these too.
            system.Require(KvmCap.ReadonlyMem, "READONLY_MEM", "firmware ROM is mapped read-only");
            system.Require(KvmCap.UserNmi, "USER_NMI", "NMIs are injected from userspace");
            system.Require(KvmCap.VcpuEvents, "VCPU_EVENTS", "events in flight are part of the CPU state");
            system.Require(KvmCap.DebugRegs, "DEBUGREGS", "debug registers are part of the CPU state");
            return system;
        }
        catch
        {
            system.Dispose();
            throw;
        }
    }

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, otherwise 1 or a capability-specific number.</summary>
    public int Check(int capability) => Math.Max(0, LibC.Ioctl(Fd, KvmIoctl.CheckExtension, capability));

    /// <summary>KVM_GET_VCPU_MMAP_SIZE: bytes to map from each vCPU file descriptor (kvm_run and its data pages).</summary>
    public int VcpuMmapSize()
    {
        int size = LibC.Ioctl(Fd, KvmIoctl.GetVcpuMmapSize, 0);
        return size > 0 ? size : throw KvmException.LastError("KVM_GET_VCPU_MMAP_SIZE");
    }

    /// <summary>The most vCPUs one VM may have: KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS, else 4 (api.rst, KVM_CREATE_VCPU).</summary>
    public int MaxVcpus()
    {
        int max = Check(KvmCap.MaxVcpus);
        if (max == 0)
        {
            max = Check(KvmCap.NrVcpus);
        }

        return max == 0 ? 4 : max;
    }

    /// <summary>KVM_GET_SUPPORTED_CPUID: every leaf and feature bit this host's KVM can give a guest.</summary>
    public KvmCpuidEntry2[] SupportedCpuid()
    {
        int header = Unsafe.SizeOf<KvmCpuid2>(), entry = Unsafe.SizeOf<KvmCpuidEntry2>();
        // api.rst (KVM_GET_SUPPORTED_CPUID): E2BIG means the array was too small; grow it and ask again.
        for (int count = 128; count <= 4096; count *= 2)
        {
            byte[] buffer = new byte[header + count * entry];
            MemoryMarshal.Write(buffer, new KvmCpuid2 { Count = (uint)count });
            int result;
            unsafe
            {
                // SAFETY: the pinned buffer holds the header and `count` entries, as the header tells the kernel.
                fixed (byte* p = buffer)
                {
                    result = LibC.Ioctl(Fd, KvmIoctl.GetSupportedCpuid, (nint)p);
                }
            }

            if (result < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.E2BIG)
                {
                    continue;
                }

                throw KvmException.FromErrno("KVM_GET_SUPPORTED_CPUID", errno);
            }

            int n = (int)MemoryMarshal.Read<KvmCpuid2>(buffer).Count;
            return MemoryMarshal.Cast<byte, KvmCpuidEntry2>(buffer.AsSpan(header, n * entry)).ToArray();
        }

        throw new KvmException("KVM_GET_SUPPORTED_CPUID: the host reports more than 4096 CPUID entries");
    }

    /// <summary>KVM_GET_MSR_INDEX_LIST: the MSRs whose state KVM_GET_MSRS/KVM_SET_MSRS can move.</summary>
    public HashSet<uint> MsrIndexList()
    {
        // kvm_msr_list is a u32 count followed by that many u32 indices. A first call with room for
        // none fails with E2BIG and writes back the count needed.
        uint[] list = [0];
        for (int attempt = 0; attempt < 4; attempt++)
        {
            int result;
            unsafe
            {
                // SAFETY: list[0] is the count and list[1..] has room for exactly that many indices.
                fixed (uint* p = list)
                {
                    result = LibC.Ioctl(Fd, KvmIoctl.GetMsrIndexList, (nint)p);
                }
            }

            if (result >= 0)
            {
                return [.. list.AsSpan(1, (int)list[0]).ToArray()];
            }

            if (Marshal.GetLastPInvokeError() != LibC.E2BIG)
            {
                throw KvmException.LastError("KVM_GET_MSR_INDEX_LIST");
            }

            uint needed = list[0];
            list = new uint[needed + 1];
            list[0] = needed;
        }

        throw new KvmException("KVM_GET_MSR_INDEX_LIST: the list kept growing");
    }

    /// <summary>
    /// KVM_X86_GET_MCE_CAP_SUPPORTED: the IA32_MCG_CAP bits KVM_X86_SETUP_MCE accepts besides the
    /// bank count, or null when the host's KVM does not answer it (no machine-check support).
    /// </summary>
    public ulong? SupportedMcgCap()
    {
        if (Check(KvmCap.Mce) == 0)
        {
            return null;
        }

        ulong cap = 0;
        int result;
        unsafe
        {
            // SAFETY: KVM_X86_GET_MCE_CAP_SUPPORTED writes one u64 to the pointer, a local that outlives the call.
            result = LibC.Ioctl(Fd, KvmIoctl.X86GetMceCapSupported, (nint)(&cap));
        }

        return result < 0 ? null : cap;
    }

    private void Require(int capability, string name, string why)
    {
        if (Check(capability) == 0)
        {
            throw new KvmException($"KVM on this host lacks KVM_CAP_{name}, which emu needs ({why})");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = LibC.Close(_fd);
            _fd = -1;
        }
    }
}
