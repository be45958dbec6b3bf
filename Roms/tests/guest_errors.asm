; guest_errors: makes three mistakes a device reports as guest errors, then exits through debug-exit
; with 0. emu run --guest-errors file:PATH must log one line for each (Tests/Cli/GuestErrorLogCliTests):
;   - the IOAPIC's register 0x40 does not exist (82093AA datasheet 3.2: 0x00-0x02, 0x10-0x3F);
;   - a fixed IPI with vector 3 is a send illegal vector error (Intel SDM Vol. 3A 11.5.3);
;   - i8042 command 0x05 is not a controller command.
%include "lib.inc"

            section pm
main:
            mov dword [0xfec00000], 0x40    ; IOREGSEL: no such register
            mov eax, [0xfec00010]           ; IOWIN read
            mov dword [0xfee000f0], 0x1ff   ; SVR: APIC software enabled
            mov dword [0xfee00310], 0       ; ICR high: APIC 0
            mov dword [0xfee00300], 0x4003  ; ICR low: fixed, assert, vector 3
            mov al, 0x05
            out 0x64, al
            CHECK "mistakes made", 0, 0
            jmp finish32
