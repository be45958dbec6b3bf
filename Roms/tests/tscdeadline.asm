; TSC-deadline timer test ROM, in 64-bit mode (Intel SDM Vol. 3A 11.5.4.1, "TSC-Deadline Mode";
; Vol. 2A CPUID Table 3-10, CPUID.01H:ECX[24]):
; - LVT timer mode 10b arms the timer through IA32_TSC_DEADLINE (MSR 6E0H), which reads back
;   what was written while armed; the interrupt comes when the TSC reaches the deadline (the
;   handler's TSC is at or past it), once, and the MSR then reads 0;
; - writing 0 disarms (no interrupt when the TSC passes the old deadline); a deadline already in
;   the past fires at once (IRR set without waiting; with interrupts enabled, the interrupt is
;   taken before the instruction after a serializing CPUID that follows the WRMSR, which is not
;   itself serializing for this MSR: Vol. 2B WRMSR);
; - writes to the initial-count register are ignored and the current count reads 0 in this mode;
; - outside TSC-deadline mode the MSR reads 0 and writes are ignored; changing the mode disarms;
; - a masked timer still disarms at the deadline (the MSR reads 0) but raises no interrupt;
; - a processor sleeping in HLT is woken by the deadline.
; Times are in TSC ticks (1 GHz under the software CPU, the host's rate under KVM); the checks
; compare the interrupt against the TSC and print no measured value, so the output is the same
; whatever the rate.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/tscdeadline.bin (exit status 1 = all passed).

%include "lib.inc"

PML4        equ PAGE_TABLES
PD_HIGH     equ PAGE_TABLES + 0x4000    ; 3-4 GiB in 2 MiB pages: the local APIC page
LAPIC       equ 0xfee00000
APIC_EOI    equ 0x0b0
APIC_SVR    equ 0x0f0
APIC_IRR    equ 0x200
APIC_LVTT   equ 0x320
APIC_TMICT  equ 0x380
APIC_TMCCT  equ 0x390
TSC_DEADLINE equ 0x6e0
VEC         equ 0x50
MODE_DEADLINE equ 2 << 17
MASKED      equ 1 << 16
DELAY       equ 2000000                 ; ticks from arming to the deadline
DISTANT     equ 1 << 26                 ; a deadline the host cannot pass before the next few instructions
LATE        equ 1 << 30                 ; an interrupt this far past its deadline is not its interrupt
irq_count   equ scratch + 0x00          ; dd: timer interrupts taken
irq_tsc     equ scratch + 0x08          ; dq: TSC in the last one
deadline    equ scratch + 0x10          ; dq

; TSC into RAX (64 bits).
%macro RDTSC64 0
            rdtsc
            shl rdx, 32
            or rax, rdx
%endmacro

; ARM value: IA32_TSC_DEADLINE = RAX.
%macro ARM 0
            mov rdx, rax
            shr rdx, 32
            mov ecx, TSC_DEADLINE
            wrmsr
%endmacro

            section pm
            bits 32
main:
            mov edi, PML4
            call pg64_identity
            mov edx, PD_HIGH
            call pg64_map_high
            mov eax, PML4
            mov ebx, long_entry
            call enter_long_mode

            bits 64
long_entry:
            mov rsp, STACK_TOP
            mov r15, LAPIC                  ; a 32-bit displacement would be sign-extended
            call idt64_install
            mov eax, VEC
            mov rbx, timer_handler
            mov ecx, SEL_CODE64
            mov edx, 0x8e
            xor r8d, r8d
            call set_gate64
            mov eax, 0xff
            mov rbx, spurious_handler
            call set_gate64

            mov eax, 1
            cpuid
            and ecx, 1 << 24
            CHECK64 "CPUID.1:ECX[24]: TSC-deadline timer", rcx, 1 << 24

            mov dword [r15 + APIC_SVR], 0x1ff
            mov dword [r15 + APIC_LVTT], MODE_DEADLINE | VEC
            mov eax, [r15 + APIC_LVTT]
            CHECK64 "LVT timer holds TSC-deadline mode (10b)", rax, MODE_DEADLINE | VEC
            mov ecx, TSC_DEADLINE
            rdmsr
            shl rdx, 32
            or rax, rdx
            CHECK64 "IA32_TSC_DEADLINE reads 0 before it is armed", rax, 0

            ; ---- the interrupt at the deadline
            mov dword [irq_count], 0
            RDTSC64
            add rax, DISTANT                    ; far enough to read it back before it fires
            mov [deadline], rax
            ARM
            mov ecx, TSC_DEADLINE
            rdmsr
            shl rdx, 32
            or rax, rdx
            CHECK64 "IA32_TSC_DEADLINE reads back the armed deadline", rax, [deadline]
            mov rbx, LATE
            call wait_irq
            CHECK64 "the timer interrupts once the TSC reaches the deadline", [irq_count], 1
            mov rax, [irq_tsc]
            cmp rax, [deadline]
            setae al
            movzx eax, al
            CHECK64 "the interrupt comes no earlier than the deadline", rax, 1
            mov rax, [irq_tsc]
            sub rax, [deadline]
            cmp rax, LATE
            setb al
            movzx eax, al
            CHECK64 "the interrupt comes soon after the deadline", rax, 1
            mov ecx, TSC_DEADLINE
            rdmsr
            shl rdx, 32
            or rax, rdx
            CHECK64 "IA32_TSC_DEADLINE reads 0 after the interrupt", rax, 0
            mov rbx, 3 * DELAY
            call wait_irq
            CHECK64 "the timer fires once per deadline", [irq_count], 1

            ; ---- writing 0 disarms (the deadline is far enough that the host cannot pass it between the writes)
            RDTSC64
            add rax, DISTANT
            mov [deadline], rax
            ARM
            xor eax, eax
            ARM
            mov rbx, [deadline]
            add rbx, DELAY
            call wait_until
            CHECK64 "writing 0 disarms the timer", [irq_count], 1

            ; ---- a deadline in the past fires at once: IRR is set before interrupts are enabled
            cli
            mov eax, 1
            ARM
            RDTSC64
            mov rbx, rax
            add rbx, LATE
.irr:       test dword [r15 + APIC_IRR + (VEC / 32) * 0x10], 1 << (VEC % 32)
            jnz .irr_set
            RDTSC64
            cmp rax, rbx
            jb .irr
.irr_set:   mov eax, [r15 + APIC_IRR + (VEC / 32) * 0x10]
            and eax, 1 << (VEC % 32)
            CHECK64 "a deadline in the past requests the interrupt at once", rax, 1 << (VEC % 32)
            mov rbx, DELAY
            call wait_irq
            CHECK64 "and it is taken when interrupts are enabled", [irq_count], 2

            ; ---- the count registers are unused in TSC-deadline mode
            mov dword [r15 + APIC_TMICT], 1000
            mov eax, [r15 + APIC_TMICT]
            CHECK64 "initial-count writes are ignored in TSC-deadline mode", rax, 0
            mov eax, [r15 + APIC_TMCCT]
            CHECK64 "the current count reads 0 in TSC-deadline mode", rax, 0

            ; ---- outside TSC-deadline mode the MSR reads 0 and ignores writes; a mode change disarms
            RDTSC64
            mov rbx, 1 << 40
            add rax, rbx
            ARM
            mov dword [r15 + APIC_LVTT], VEC              ; one-shot
            mov ecx, TSC_DEADLINE
            rdmsr
            shl rdx, 32
            or rax, rdx
            CHECK64 "in one-shot mode IA32_TSC_DEADLINE reads 0", rax, 0
            RDTSC64
            add rax, DELAY
            ARM
            mov dword [r15 + APIC_LVTT], MODE_DEADLINE | VEC
            mov ecx, TSC_DEADLINE
            rdmsr
            shl rdx, 32
            or rax, rdx
            CHECK64 "back in TSC-deadline mode the timer is disarmed", rax, 0
            mov rbx, 3 * DELAY
            call wait_irq
            CHECK64 "a deadline written in one-shot mode never fires", [irq_count], 2

            ; ---- masked: the deadline passes without an interrupt but still disarms
            mov dword [r15 + APIC_LVTT], MODE_DEADLINE | MASKED | VEC
            RDTSC64
            add rax, DELAY
            ARM
            RDTSC64
            mov rbx, rax
            add rbx, LATE
            sti
.masked:    mov ecx, TSC_DEADLINE               ; until the timer has fired (the MSR reads 0)
            rdmsr
            or eax, edx
            jz .fired
            RDTSC64
            cmp rax, rbx
            jb .masked
.fired:     cli
            mov ecx, TSC_DEADLINE
            rdmsr
            shl rdx, 32
            or rax, rdx
            CHECK64 "a masked timer is disarmed at its deadline", rax, 0
            RDTSC64
            mov rbx, rax
            add rbx, DELAY
            call wait_until
            CHECK64 "a masked timer raises no interrupt", [irq_count], 2

            ; ---- with interrupts enabled, a deadline already passed interrupts at the WRMSR
            mov dword [r15 + APIC_LVTT], MODE_DEADLINE | VEC
            sti
            mov eax, 1
            ARM
            xor eax, eax
            cpuid
            mov r8d, [irq_count]
            cli
            CHECK64 "a deadline passed interrupts before the instruction after WRMSR; CPUID", r8, 3

            ; ---- HLT: the deadline wakes a sleeping processor
            RDTSC64
            add rax, DELAY
            mov [deadline], rax
            ARM
            sti
            hlt
            cli
            CHECK64 "the deadline wakes the processor from HLT", [irq_count], 4
            mov rax, [irq_tsc]
            cmp rax, [deadline]
            setae al
            movzx eax, al
            CHECK64 "and not before the deadline", rax, 1

            jmp finish64

; wait_until: with interrupts enabled, until the TSC reaches RBX.
wait_until:
            push rax
            push rdx
            sti
.spin:      pause
            RDTSC64
            cmp rax, rbx
            jb .spin
            cli
            pop rdx
            pop rax
            ret

; wait_irq: with interrupts enabled, until [irq_count] changes or RBX more ticks pass.
wait_irq:
            push rax
            push rcx
            push rdx
            mov ecx, [irq_count]
            RDTSC64
            add rbx, rax
            sti
.spin:      cmp [irq_count], ecx
            jne .done
            pause
            RDTSC64
            cmp rax, rbx
            jb .spin
.done:      cli
            pop rdx
            pop rcx
            pop rax
            ret

timer_handler:
            push rax
            push rdx
            RDTSC64
            mov [irq_tsc], rax
            inc dword [irq_count]
            mov dword [r15 + APIC_EOI], 0
            pop rdx
            pop rax
            iretq

spurious_handler:
            iretq
