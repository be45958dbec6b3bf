; LOCK atomicity across processors (Intel SDM Vol. 3A 9.1.2): run with --smp 2. The BSP starts
; CPU 1 with INIT-SIPI-SIPI (Vol. 3A 9.4.4.1); both CPUs then run the same loops of locked
; read-modify-write instructions on shared counters, N times each, at the same time. Every
; update must survive, so each counter ends at its start value plus 2 N exactly (arithmetic on
; known inputs): LOCK INC, LOCK XADD, LOCK CMPXCHG retry loops, LOCK CMPXCHG8B on a 64-bit counter
; that carries across bit 32, LOCK INC byte and LOCK ADD word sharing one aligned 8-byte word,
; LOCK ADD dword across an 8-byte boundary (a split lock), LOCK SUB, and an XCHG spin lock (XCHG
; with memory is locked without the prefix) guarding plain increments, released by a plain store.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/smplock.bin --smp 2 (exit status 1 = all passed).

%include "lib.inc"

N           equ 100000
LAPIC       equ 0xFEE00000
APIC_SVR    equ 0x0F0
APIC_ICR_LO equ 0x300
APIC_ICR_HI equ 0x310
AP_BASE     equ 0x8000              ; SIPI vector 0x08
AP_STACK    equ 0x6000
SHARED      equ 0x9000              ; the counters, on a page of their own
C_INC       equ SHARED + 0x00
C_XADD      equ SHARED + 0x08
C_CAS       equ SHARED + 0x10
C_CAS8      equ SHARED + 0x18       ; qword
C_BYTE      equ SHARED + 0x20       ; byte 0 of an aligned qword ...
C_WORD      equ SHARED + 0x21       ; ... and the word at bytes 1-2 of the same qword
C_SPLIT     equ SHARED + 0x2E       ; dword at bytes 6-9: crosses an 8-byte boundary
C_SUB       equ SHARED + 0x38
SPIN        equ SHARED + 0x40
C_SPIN      equ SHARED + 0x48
AP_READY    equ SHARED + 0x80
GO          equ SHARED + 0x84
AP_DONE     equ SHARED + 0x88
CAS8_START  equ 0xFFFFFFFF - N      ; the 64-bit counter carries into its high half

            section pm
            bits 32
main:
            mov edi, SHARED
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [C_CAS8], CAS8_START

            ; One CPU first: LOCK with a register destination is #UD (Intel SDM Vol. 2A LOCK), and a
            ; locked add across a page boundary gives the arithmetic result.
            EXPECT_FAULT .ud
            db 0xf0, 0x01, 0xd8             ; lock add eax, ebx
.ud:        CHECK "LOCK ADD with a register destination: #UD", [fault_vec], 6
            mov dword [SHARED + 0xffe], 0x0000ffff
            mov dword [SHARED + 0x1002], 0
            mov eax, 0x00010001
            lock xadd [SHARED + 0xffe], eax
            CHECK "LOCK XADD across a page boundary: old value", eax, 0x0000ffff
            CHECK "LOCK XADD across a page boundary: sum", [SHARED + 0xffe], 0x00020000

            ; The AP's start-up code goes to AP_BASE; INIT, then two SIPIs to APIC ID 1.
            mov esi, ap_start
            mov edi, AP_BASE
            mov ecx, ap_end - ap_start
            rep movsb
            mov dword [LAPIC + APIC_SVR], 0x1FF
            mov dword [LAPIC + APIC_ICR_HI], 1 << 24
            mov dword [LAPIC + APIC_ICR_LO], 0x0000C500     ; INIT, level, assert
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00008500     ; INIT level de-assert
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00004600 | (AP_BASE >> 12)
            call delay
            mov dword [LAPIC + APIC_ICR_LO], 0x00004600 | (AP_BASE >> 12)

            mov ecx, 0x10000000
.ready:     cmp dword [AP_READY], 1
            je .started
            dec ecx
            jnz .ready
.started:   CHECK "the AP started", [AP_READY], 1
            cmp dword [AP_READY], 1
            jne finish32
            mov dword [GO], 1
            call worker
            mov ecx, 0x40000000
.done:      cmp dword [AP_DONE], 1
            je .checks
            dec ecx
            jnz .done
.checks:    CHECK "the AP finished its loops", [AP_DONE], 1
            CHECK "LOCK INC dword: 2 N", [C_INC], 2 * N
            CHECK "LOCK XADD dword: 2 N", [C_XADD], 2 * N
            CHECK "LOCK CMPXCHG retry loop: 2 N", [C_CAS], 2 * N
            CHECK "LOCK CMPXCHG8B 64-bit counter: low dword", [C_CAS8], (CAS8_START + 2 * N) & 0xFFFFFFFF
            CHECK "LOCK CMPXCHG8B 64-bit counter: high dword (carry)", [C_CAS8 + 4], 1
            movzx eax, byte [C_BYTE]
            CHECK "LOCK INC byte beside a locked word: 2 N mod 2^8", eax, (2 * N) & 0xFF
            CHECKW "LOCK ADD word at an odd address: 2 N mod 2^16", [C_WORD], (2 * N) & 0xFFFF
            CHECK "LOCK ADD dword across an 8-byte boundary: 2 N", [C_SPLIT], 2 * N
            CHECK "LOCK SUB dword: -2 N", [C_SUB], -2 * N
            CHECK "XCHG spin lock around plain increments: 2 N", [C_SPIN], 2 * N
            CHECK "the spin lock is free", [SPIN], 0
            jmp finish32

delay:
            mov ecx, 100000
.spin:      loop .spin
            ret

; worker: the loops both CPUs run. Clobbers EAX-EDI but ESP.
worker:
            mov edi, N
.inc:       lock inc dword [C_INC]
            dec edi
            jnz .inc

            mov edi, N
.xadd:      mov eax, 1
            lock xadd [C_XADD], eax
            dec edi
            jnz .xadd

            mov edi, N
.cas:       mov eax, [C_CAS]
.cas_retry: lea edx, [eax + 1]
            lock cmpxchg [C_CAS], edx       ; on failure EAX holds the current value
            jnz .cas_retry
            dec edi
            jnz .cas

            mov edi, N
.cas8:      mov eax, [C_CAS8]
            mov edx, [C_CAS8 + 4]
.cas8_retry:
            mov ebx, eax
            mov ecx, edx
            add ebx, 1
            adc ecx, 0
            lock cmpxchg8b [C_CAS8]         ; on failure EDX:EAX holds the current value
            jnz .cas8_retry
            dec edi
            jnz .cas8

            mov edi, N
.narrow:    lock inc byte [C_BYTE]
            lock add word [C_WORD], 1
            lock add dword [C_SPLIT], 1
            lock sub dword [C_SUB], 1
            dec edi
            jnz .narrow

            mov edi, N
.spin:      mov eax, 1
.acquire:   xchg [SPIN], eax
            test eax, eax
            jz .held
.wait:      pause
            cmp dword [SPIN], 0
            jne .wait
            mov eax, 1
            jmp .acquire
.held:      mov eax, [C_SPIN]
            inc eax
            mov [C_SPIN], eax
            mov dword [SPIN], 0             ; release: a plain store
            dec edi
            jnz .spin
            ret

; ------------------------------------------------------------------ the AP, copied to AP_BASE
            bits 16
ap_start:
            cli
            cld
            mov ax, cs                      ; 0800 after SIPI vector 08
            mov ds, ax
            lgdt [ap_gdtr - ap_start]
            mov eax, cr0
            or eax, 1
            mov cr0, eax
            jmp dword SEL_CODE32:ap_pm
ap_gdtr:    dw GDT_LIMIT
            dd GDT_BASE
ap_end:

            bits 32
ap_pm:
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, AP_STACK
            mov dword [AP_READY], 1
.go:        cmp dword [GO], 1
            jne .go
            call worker
            mov dword [AP_DONE], 1
.halt:      cli
            hlt
            jmp .halt
