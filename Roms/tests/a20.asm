; The A20 gate (A20M#): while it is off the processor forces bit 20 of every physical address to 0,
; so addresses from 1 MiB wrap to the first megabyte as on the 8086; data reads, writes and
; instruction fetches alike, with paging too (the masked address is the physical one). On a PC
; the gate is on while the i8042 output port bit 1 or port 0x92 bit 1 is set (both are ORed).
; Expected values follow from that definition: with A20 off, X + 1 MiB is X.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/a20.bin (exit status 1 = all passed).

%include "lib.inc"

LOW         equ 0x8000              ; below 1 MiB
HIGH        equ LOW + 0x100000      ; the same address with bit 20 set
FN_OFFSET   equ 0x100               ; a routine at LOW + 0x100 and another at HIGH + 0x100
PD          equ PAGE_TABLES

            section pm
            bits 32
main:
            mov dword [LOW], 0x11111111
            mov dword [HIGH], 0x22222222
            mov esi, fn_low
            mov edi, LOW + FN_OFFSET
            mov ecx, fn_high - fn_low
            rep movsb
            mov esi, fn_high
            mov edi, HIGH + FN_OFFSET
            mov ecx, fn_end - fn_high
            rep movsb

            CHECK "A20 on: 1 MiB + X is its own memory", [HIGH], 0x22222222
            CHECK "A20 on: X unchanged", [LOW], 0x11111111
            mov eax, HIGH + FN_OFFSET
            call eax
            CHECK "A20 on: a call to 1 MiB + X runs the code there", eax, 0xa5a5a5a5

            call a20_off
            in al, 0x92
            and eax, 2
            CHECK "port 0x92 bit 1 reads back clear", eax, 0
            CHECK "A20 off: a read of 1 MiB + X reads X", [HIGH], 0x11111111
            mov dword [HIGH + 4], 0x33333333
            CHECK "A20 off: a write to 1 MiB + X writes X", [LOW + 4], 0x33333333
            mov eax, HIGH + FN_OFFSET
            call eax
            CHECK "A20 off: a call to 1 MiB + X runs the code at X", eax, 0x5a5a5a5a

            ; Paging on, 0-4 MiB identity-mapped: the translated physical address is masked.
            mov edi, PD
            mov edx, 3
            call pg32_identity
            mov eax, PD
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax
            CHECK "A20 off, paging: 1 MiB + X reads physical X", [HIGH], 0x11111111
            mov eax, HIGH + FN_OFFSET
            call eax
            CHECK "A20 off, paging: a fetch at 1 MiB + X runs physical X", eax, 0x5a5a5a5a

            ; Port 0x92 bit 1 alone turns the gate back on; translations made while it was off
            ; must not survive.
            in al, 0x92
            or al, 2
            out 0x92, al
            CHECK "A20 on again (port 0x92), paging: 1 MiB + X is its own memory", [HIGH], 0x22222222
            mov eax, HIGH + FN_OFFSET
            call eax
            CHECK "A20 on again, paging: the fetch reaches 1 MiB + X", eax, 0xa5a5a5a5
            mov eax, cr0
            and eax, 0x7fffffff
            mov cr0, eax

            ; The i8042 output port bit 1 alone also enables it.
            call a20_off
            CHECK "A20 off again: 1 MiB + X reads X", [HIGH], 0x11111111
            call kbc_wait
            mov al, 0xd1                    ; write output port
            out 0x64, al
            call kbc_wait
            mov al, 0xdf                    ; bit 0: no reset, bit 1: A20 on
            out 0x60, al
            call kbc_wait
            CHECK "A20 on through the i8042 output port", [HIGH], 0x22222222
            jmp finish32

; a20_off: both sources off: port 0x92 bit 1 and the i8042 output port bit 1.
a20_off:
            in al, 0x92
            and al, ~2 & 0xfe               ; keep bit 0 (fast reset) clear
            out 0x92, al
            call kbc_wait
            mov al, 0xd1
            out 0x64, al
            call kbc_wait
            mov al, 0xdd                    ; bit 0: no reset, bit 1: A20 off
            out 0x60, al
            call kbc_wait
            ret

; kbc_wait: until the i8042 input buffer is empty (status bit 1 clear)
kbc_wait:
            in al, 0x64
            test al, 2
            jnz kbc_wait
            ret

fn_low:     mov eax, 0x5a5a5a5a
            ret
fn_high:    mov eax, 0xa5a5a5a5
            ret
fn_end:
