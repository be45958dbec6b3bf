using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>
/// One KVM_GET_MSRS or KVM_SET_MSRS call over a batch of entries: returns how many entries, from
/// the first, the kernel processed (it stops at the first MSR it refuses), or throws
/// <see cref="KvmException"/> when the call itself fails.
/// </summary>
internal delegate int KvmMsrIoctl(Span<KvmMsrEntry> entries);

/// <summary>
/// A KVM_GET_MSRS / KVM_SET_MSRS transfer that survives MSRs a host KVM refuses. Both calls return
/// the number of MSRs processed and stop at the first one refused (Documentation/virt/kvm/api.rst,
/// KVM_GET_MSRS and KVM_SET_MSRS), so a short count names the refused entry. An optional one (see
/// <see cref="KvmMsrState.IsEssential"/>) is skipped and the rest go in a further call; an essential
/// one is an error, as every refusal is in QEMU's kvm_put_msrs/kvm_get_msrs.
/// </summary>
internal static class KvmMsrTransfer
{
    /// <summary>
    /// Transfers <paramref name="entries"/> (read back into the array for KVM_GET_MSRS) and returns
    /// the indexes refused; the data of a refused entry is left as it was. <paramref name="what"/>
    /// names the call in messages.
    /// </summary>
    public static List<uint> Run(KvmMsrEntry[] entries, KvmMsrIoctl ioctl, string what)
    {
        var refused = new List<uint>();
        int start = 0;
        while (start < entries.Length)
        {
            int remaining = entries.Length - start;
            int done = ioctl(entries.AsSpan(start));
            // The kernel's count is bounded by what it was given; anything else is not a count.
            if (done < 0 || done > remaining)
            {
                throw new KvmException($"{what} returned {done} for {remaining} MSRs");
            }

            start += done;
            if (start == entries.Length)
            {
                break;
            }

            KvmMsrEntry e = entries[start];
            if (KvmMsrState.IsEssential(e.Index))
            {
                string value = what == "KVM_SET_MSRS" ? $" = 0x{e.Data:x}" : "";
                throw new KvmException($"{what} refused {KvmMsrState.Name(e.Index)} (MSR 0x{e.Index:x}){value}, which emu cannot do without");
            }

            refused.Add(e.Index);
            start++;
        }

        return refused;
    }
}
