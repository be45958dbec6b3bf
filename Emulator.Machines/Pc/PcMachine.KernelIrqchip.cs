using Emulator.Core.Cpu;
using Emulator.Kvm;

namespace Emulator.Machines.Pc;

/// <summary>
/// The PC over KVM's in-kernel irqchip and PIT (<see cref="KvmIrqchipMode.Kernel"/>): the ISA lines
/// of the machine's devices go to KVM_IRQ_LINE, and a reset builds a fresh VM.
/// </summary>
public sealed partial class PcMachine
{
    // Set and cleared under the device lock, so a line that changes while the VM is rebuilt waits
    // instead of reaching a closed VM; ForwardTo sends every line's level to the new one.
    private KvmAccelerator? _inKernelIrqchip;

    private void ForwardIsaLinesToKvm()
    {
        if (_accelerator is not KvmAccelerator { Irqchip: KvmIrqchipMode.Kernel } kvm)
        {
            return;
        }

        lock (Platform.DeviceLock)
        {
            _inKernelIrqchip = kvm;
            foreach (IsaIrqLine line in _isaLines)
            {
                line.ForwardTo(SetInKernelIrqLine);
            }

            ForwardHpetLinesToKvm(kvm);
        }
    }

    private void SetInKernelIrqLine(int irq, bool asserted)
    {
        lock (Platform.DeviceLock)
        {
            _inKernelIrqchip?.SetIrqLine(irq, asserted);
        }
    }

    // KVM has no ioctl that resets its irqchip, PIT and local APICs, nor one that sends the APs back
    // to wait-for-SIPI: a fresh VM over the same memory starts with all of them in their RESET state.
    // Every vCPU thread is paused here.
    private void RebuildKvmVm()
    {
        IVcpu oldBsp = Vcpus[0];
        lock (Platform.DeviceLock)
        {
            Pic.IntrRaised -= oldBsp.NotifyInterrupt;
            _inKernelIrqchip = null;
        }

        StopAll();
        lock (_vcpuLock)
        {
            foreach (IVcpu v in Vcpus)
            {
                v.Dispose();
            }

            Vcpus.Clear();
            _threads.Clear();
            _threadView = [];
            _accelerator.Dispose();
            _accelerator = CreateAccelerator(AcceleratorKind.Kvm);
        }

        CreateVcpus(null);
        lock (Platform.DeviceLock)
        {
            RewireApics();
        }

        ForwardIsaLinesToKvm();
    }
}
