using System.Diagnostics;
using System.Runtime.CompilerServices;
using Emulator.Kvm.Native;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// The KVM structures as C# declares them, against the kernel's own headers: a C program compiled
/// here from linux/kvm.h and signal.h prints sizes and offsets, and the C# layouts must agree.
/// </summary>
public sealed class KvmAbiLayoutTests
{
    private const string Probe = """
        #include <stdio.h>
        #include <stddef.h>
        #include <signal.h>
        #include <linux/kvm.h>
        #define S(t) printf(#t " %zu\n", sizeof(struct t))
        #define O(t, f) printf(#t "." #f " %zu\n", offsetof(struct t, f))
        int main(void) {
            S(kvm_regs); O(kvm_regs, rip); O(kvm_regs, rflags);
            S(kvm_segment); O(kvm_segment, selector); O(kvm_segment, type); O(kvm_segment, unusable);
            S(kvm_dtable); S(kvm_sregs); O(kvm_sregs, tr); O(kvm_sregs, gdt); O(kvm_sregs, cr0); O(kvm_sregs, apic_base); O(kvm_sregs, interrupt_bitmap);
            S(kvm_fpu); O(kvm_fpu, fcw); O(kvm_fpu, ftwx); O(kvm_fpu, last_opcode); O(kvm_fpu, last_ip); O(kvm_fpu, last_dp); O(kvm_fpu, xmm); O(kvm_fpu, mxcsr);
            S(kvm_vcpu_events); O(kvm_vcpu_events, interrupt); O(kvm_vcpu_events, nmi); O(kvm_vcpu_events, sipi_vector); O(kvm_vcpu_events, flags); O(kvm_vcpu_events, exception_payload);
            S(kvm_xsave); S(kvm_xcrs); O(kvm_xcrs, xcrs); S(kvm_xcr); O(kvm_xcr, value); S(kvm_debugregs); O(kvm_debugregs, dr6); O(kvm_debugregs, flags);
            S(kvm_userspace_memory_region); O(kvm_userspace_memory_region, userspace_addr);
            S(kvm_cpuid2); S(kvm_cpuid_entry2); O(kvm_cpuid_entry2, eax); O(kvm_cpuid_entry2, edx);
            S(kvm_msrs); S(kvm_msr_entry); O(kvm_msr_entry, data);
            O(kvm_run, immediate_exit); O(kvm_run, exit_reason); O(kvm_run, if_flag); O(kvm_run, cr8);
            O(kvm_run, io.size); O(kvm_run, io.port); O(kvm_run, io.count); O(kvm_run, io.data_offset);
            O(kvm_run, mmio.phys_addr); O(kvm_run, mmio.data); O(kvm_run, mmio.len); O(kvm_run, mmio.is_write);
            O(kvm_run, fail_entry.cpu); O(kvm_run, internal.ndata); O(kvm_run, internal.data); O(kvm_run, system_event.type);
            O(kvm_run, msr.error); O(kvm_run, msr.reason); O(kvm_run, msr.index); O(kvm_run, msr.data);
            S(kvm_enable_cap); S(kvm_msr_filter); S(kvm_msr_filter_range); O(kvm_msr_filter, ranges); O(kvm_msr_filter_range, bitmap);
            S(kvm_irq_level); O(kvm_irq_level, level); S(kvm_pit_config);
            S(kvm_irq_routing); O(kvm_irq_routing, entries); S(kvm_irq_routing_entry); O(kvm_irq_routing_entry, u.irqchip.irqchip); O(kvm_irq_routing_entry, u.irqchip.pin);
            S(sigaction); O(sigaction, sa_mask); O(sigaction, sa_flags); O(sigaction, sa_restorer);
            return 0;
        }
        """;

    [SkippableFact]
    public void StructuresMatchTheKernelHeaders()
    {
        Skip.IfNot(File.Exists("/usr/include/linux/kvm.h"), "the Linux kernel headers (linux-libc-dev) are not installed");
        Skip.IfNot(File.Exists("/usr/bin/cc"), "no C compiler to read the headers with");
        Dictionary<string, int> c = CompileAndRun();

        Assert.Equal(c["kvm_regs"], Unsafe.SizeOf<KvmRegs>());
        Assert.Equal(c["kvm_regs.rip"], Offset<KvmRegs>(nameof(KvmRegs.Rip)));
        Assert.Equal(c["kvm_regs.rflags"], Offset<KvmRegs>(nameof(KvmRegs.Rflags)));
        Assert.Equal(c["kvm_segment"], Unsafe.SizeOf<KvmSegment>());
        Assert.Equal(c["kvm_segment.selector"], Offset<KvmSegment>(nameof(KvmSegment.Selector)));
        Assert.Equal(c["kvm_segment.type"], Offset<KvmSegment>(nameof(KvmSegment.Type)));
        Assert.Equal(c["kvm_segment.unusable"], Offset<KvmSegment>(nameof(KvmSegment.Unusable)));
        Assert.Equal(c["kvm_dtable"], Unsafe.SizeOf<KvmDtable>());
        Assert.Equal(c["kvm_sregs"], Unsafe.SizeOf<KvmSregs>());
        Assert.Equal(c["kvm_sregs.tr"], Offset<KvmSregs>(nameof(KvmSregs.Tr)));
        Assert.Equal(c["kvm_sregs.gdt"], Offset<KvmSregs>(nameof(KvmSregs.Gdt)));
        Assert.Equal(c["kvm_sregs.cr0"], Offset<KvmSregs>(nameof(KvmSregs.Cr0)));
        Assert.Equal(c["kvm_sregs.apic_base"], Offset<KvmSregs>(nameof(KvmSregs.ApicBase)));
        Assert.Equal(c["kvm_sregs.interrupt_bitmap"], Offset<KvmSregs>(nameof(KvmSregs.InterruptBitmap)));
        Assert.Equal(c["kvm_fpu"], Unsafe.SizeOf<KvmFpu>());
        Assert.Equal(c["kvm_fpu.fcw"], Offset<KvmFpu>(nameof(KvmFpu.Fcw)));
        Assert.Equal(c["kvm_fpu.ftwx"], Offset<KvmFpu>(nameof(KvmFpu.Ftwx)));
        Assert.Equal(c["kvm_fpu.last_opcode"], Offset<KvmFpu>(nameof(KvmFpu.LastOpcode)));
        Assert.Equal(c["kvm_fpu.last_ip"], Offset<KvmFpu>(nameof(KvmFpu.LastIp)));
        Assert.Equal(c["kvm_fpu.last_dp"], Offset<KvmFpu>(nameof(KvmFpu.LastDp)));
        Assert.Equal(c["kvm_fpu.xmm"], Offset<KvmFpu>(nameof(KvmFpu.Xmm)));
        Assert.Equal(c["kvm_fpu.mxcsr"], Offset<KvmFpu>(nameof(KvmFpu.Mxcsr)));
        Assert.Equal(c["kvm_vcpu_events"], Unsafe.SizeOf<KvmVcpuEvents>());
        Assert.Equal(c["kvm_vcpu_events.interrupt"], Offset<KvmVcpuEvents>(nameof(KvmVcpuEvents.InterruptInjected)));
        Assert.Equal(c["kvm_vcpu_events.nmi"], Offset<KvmVcpuEvents>(nameof(KvmVcpuEvents.NmiInjected)));
        Assert.Equal(c["kvm_vcpu_events.sipi_vector"], Offset<KvmVcpuEvents>(nameof(KvmVcpuEvents.SipiVector)));
        Assert.Equal(c["kvm_vcpu_events.flags"], Offset<KvmVcpuEvents>(nameof(KvmVcpuEvents.Flags)));
        Assert.Equal(c["kvm_vcpu_events.exception_payload"], Offset<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionPayload)));
        Assert.Equal(c["kvm_xsave"], Unsafe.SizeOf<KvmXsave>());
        Assert.Equal(c["kvm_xcrs"], Unsafe.SizeOf<KvmXcrs>());
        Assert.Equal(8, c["kvm_xcrs.xcrs"]);
        Assert.Equal((16, 8), (c["kvm_xcr"], c["kvm_xcr.value"]));
        Assert.Equal(c["kvm_debugregs"], Unsafe.SizeOf<KvmDebugRegs>());
        Assert.Equal(c["kvm_debugregs.dr6"], Offset<KvmDebugRegs>(nameof(KvmDebugRegs.Dr6)));
        Assert.Equal(c["kvm_debugregs.flags"], Offset<KvmDebugRegs>(nameof(KvmDebugRegs.Flags)));
        Assert.Equal(c["kvm_userspace_memory_region"], Unsafe.SizeOf<KvmUserspaceMemoryRegion>());
        Assert.Equal(c["kvm_userspace_memory_region.userspace_addr"], Offset<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.UserspaceAddr)));
        Assert.Equal(c["kvm_cpuid2"], Unsafe.SizeOf<KvmCpuid2>());
        Assert.Equal(c["kvm_cpuid_entry2"], Unsafe.SizeOf<KvmCpuidEntry2>());
        Assert.Equal(c["kvm_cpuid_entry2.eax"], Offset<KvmCpuidEntry2>(nameof(KvmCpuidEntry2.Eax)));
        Assert.Equal(c["kvm_cpuid_entry2.edx"], Offset<KvmCpuidEntry2>(nameof(KvmCpuidEntry2.Edx)));
        Assert.Equal(c["kvm_msrs"], Unsafe.SizeOf<KvmMsrs>());
        Assert.Equal(c["kvm_msr_entry"], Unsafe.SizeOf<KvmMsrEntry>());
        Assert.Equal(c["kvm_msr_entry.data"], Offset<KvmMsrEntry>(nameof(KvmMsrEntry.Data)));
        Assert.Equal(c["kvm_run.immediate_exit"], Offset<KvmRun>(nameof(KvmRun.ImmediateExit)));
        Assert.Equal(c["kvm_run.exit_reason"], Offset<KvmRun>(nameof(KvmRun.ExitReason)));
        Assert.Equal(c["kvm_run.if_flag"], Offset<KvmRun>(nameof(KvmRun.IfFlag)));
        Assert.Equal(c["kvm_run.cr8"], Offset<KvmRun>(nameof(KvmRun.Cr8)));
        Assert.Equal(c["kvm_run.io.size"], Offset<KvmRun>(nameof(KvmRun.IoSize)));
        Assert.Equal(c["kvm_run.io.port"], Offset<KvmRun>(nameof(KvmRun.IoPort)));
        Assert.Equal(c["kvm_run.io.count"], Offset<KvmRun>(nameof(KvmRun.IoCount)));
        Assert.Equal(c["kvm_run.io.data_offset"], Offset<KvmRun>(nameof(KvmRun.IoDataOffset)));
        Assert.Equal(c["kvm_run.mmio.phys_addr"], Offset<KvmRun>(nameof(KvmRun.MmioPhysAddr)));
        Assert.Equal(c["kvm_run.mmio.data"], Offset<KvmRun>(nameof(KvmRun.MmioData)));
        Assert.Equal(c["kvm_run.mmio.len"], Offset<KvmRun>(nameof(KvmRun.MmioLen)));
        Assert.Equal(c["kvm_run.mmio.is_write"], Offset<KvmRun>(nameof(KvmRun.MmioIsWrite)));
        Assert.Equal(c["kvm_run.fail_entry.cpu"], Offset<KvmRun>(nameof(KvmRun.FailEntryCpu)));
        Assert.Equal(c["kvm_run.internal.ndata"], Offset<KvmRun>(nameof(KvmRun.DataCount)));
        Assert.Equal(c["kvm_run.internal.data"], Offset<KvmRun>(nameof(KvmRun.Data)));
        Assert.Equal(c["kvm_run.system_event.type"], Offset<KvmRun>(nameof(KvmRun.SystemEventType)));
        Assert.Equal(c["kvm_run.msr.error"], Offset<KvmRun>(nameof(KvmRun.MsrError)));
        Assert.Equal(c["kvm_run.msr.reason"], Offset<KvmRun>(nameof(KvmRun.MsrReason)));
        Assert.Equal(c["kvm_run.msr.index"], Offset<KvmRun>(nameof(KvmRun.MsrIndex)));
        Assert.Equal(c["kvm_run.msr.data"], Offset<KvmRun>(nameof(KvmRun.MsrData)));
        Assert.Equal(c["kvm_enable_cap"], Unsafe.SizeOf<KvmEnableCap>());
        Assert.Equal(c["kvm_msr_filter"], Unsafe.SizeOf<KvmMsrFilter>());
        Assert.Equal(c["kvm_msr_filter_range"], Unsafe.SizeOf<KvmMsrFilterRange>());
        Assert.Equal(c["kvm_msr_filter.ranges"], Offset<KvmMsrFilter>(nameof(KvmMsrFilter.Range0)));
        Assert.Equal(c["kvm_msr_filter_range.bitmap"], Offset<KvmMsrFilterRange>(nameof(KvmMsrFilterRange.Bitmap)));
        Assert.Equal(c["kvm_irq_level"], Unsafe.SizeOf<KvmIrqLevel>());
        Assert.Equal(c["kvm_irq_level.level"], Offset<KvmIrqLevel>(nameof(KvmIrqLevel.Level)));
        Assert.Equal(c["kvm_pit_config"], Unsafe.SizeOf<KvmPitConfig>());
        Assert.Equal(c["kvm_irq_routing"], Unsafe.SizeOf<KvmIrqRouting>());
        Assert.Equal(c["kvm_irq_routing.entries"], Unsafe.SizeOf<KvmIrqRouting>());
        Assert.Equal(c["kvm_irq_routing_entry"], Unsafe.SizeOf<KvmIrqRoutingEntry>());
        Assert.Equal(c["kvm_irq_routing_entry.u.irqchip.irqchip"], Offset<KvmIrqRoutingEntry>(nameof(KvmIrqRoutingEntry.Irqchip)));
        Assert.Equal(c["kvm_irq_routing_entry.u.irqchip.pin"], Offset<KvmIrqRoutingEntry>(nameof(KvmIrqRoutingEntry.Pin)));
        Assert.Equal(c["sigaction"], Unsafe.SizeOf<SigAction>());
        Assert.Equal(c["sigaction.sa_mask"], Offset<SigAction>(nameof(SigAction.Mask)));
        Assert.Equal(c["sigaction.sa_flags"], Offset<SigAction>(nameof(SigAction.Flags)));
        Assert.Equal(c["sigaction.sa_restorer"], Offset<SigAction>(nameof(SigAction.Restorer)));
    }

    // Blittable structures are laid out in memory exactly as Marshal reports (fixed buffers included).
    private static int Offset<T>(string field)
        where T : unmanaged => (int)System.Runtime.InteropServices.Marshal.OffsetOf<T>(field);

    private static Dictionary<string, int> CompileAndRun()
    {
        string dir = Directory.CreateTempSubdirectory("emu-kvm-abi").FullName;
        try
        {
            string source = Path.Combine(dir, "abi.c"), program = Path.Combine(dir, "abi");
            File.WriteAllText(source, Probe);
            Run("/usr/bin/cc", "-o", program, source);
            return Run(program).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .ToDictionary(parts => parts[0], parts => int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {errors}");
        return output;
    }
}
