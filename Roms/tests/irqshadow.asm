; Interrupt windows after STI and MOV SS (Intel SDM Vol. 2B STI, Vol. 3A 6.8.3): an interrupt
; pending while IF = 0 is taken right after the instruction that follows STI (or MOV SS / POP SS
; with IF = 1), not before it and not later. A fixed self-IPI through the local APIC makes the
; interrupt pending; the handler records its return address, which must be the instruction after
; the shadowed one.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/irqshadow.bin (exit status 1 = all passed).

%include "lib.inc"

LAPIC       equ 0xFEE00000
APIC_SVR    equ 0x0F0
APIC_EOI    equ 0x0B0
APIC_ICR_LO equ 0x300
VECTOR      equ 0x40
TAKEN       equ scratch + 0x00      ; interrupts taken
TAKEN_AT    equ scratch + 0x04      ; return EIP of the last one

            section pm
            bits 32
main:
            mov eax, VECTOR
            mov ebx, handler
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            mov dword [LAPIC + APIC_SVR], 0x1ff

            ; STI: the window opens after the next instruction.
            call self_ipi
            CHECK "IF = 0: the self-IPI waits", [TAKEN], 0
            sti
            nop
.after_sti: cli
            CHECK "STI: the pending interrupt is taken once", [TAKEN], 1
            CHECK "STI: taken after the instruction following STI", [TAKEN_AT], .after_sti

            ; MOV SS with IF = 1: no interrupt between it and the next instruction.
            call self_ipi
            mov ax, ss
            mov dword [TAKEN], 0
            sti
            mov ss, ax
            nop
.after_mov: cli
            CHECK "STI; MOV SS: taken once", [TAKEN], 1
            CHECK "STI; MOV SS: taken after the instruction following MOV SS", [TAKEN_AT], .after_mov

            ; STI; HLT wakes for an interrupt that was already pending, and returns after the HLT.
            call self_ipi
            mov dword [TAKEN], 0
            sti
            hlt
.after_hlt: cli
            CHECK "STI; HLT: taken once", [TAKEN], 1
            CHECK "STI; HLT: returns after the HLT", [TAKEN_AT], .after_hlt
            jmp finish32

; self_ipi: a fixed IPI, vector VECTOR, to this CPU (shorthand self); IF is clear
self_ipi:
            cli
            mov dword [TAKEN], 0
            mov dword [LAPIC + APIC_ICR_LO], 0x00044000 | VECTOR
            mov ecx, 1000
.settle:    loop .settle
            ret

handler:
            push eax
            mov eax, [esp + 4]
            mov [TAKEN_AT], eax
            inc dword [TAKEN]
            mov dword [LAPIC + APIC_EOI], 0
            pop eax
            iretd
