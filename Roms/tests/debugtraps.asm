; Debug traps of 32-bit protected mode that the 64-bit sysfeat ROM cannot show (Intel SDM Vol. 3B
; 18.2.4 "Debug Control Register (DR7)", 18.2.5 "Breakpoint Field Recognition", 18.3.1.2 "Data
; Memory and I/O Breakpoint Exception Conditions", 18.3.1.5 "Task-Switch Exception Condition"):
; - I/O breakpoints (DR7 R/W = 10b, with CR4.DE = 1): IN and OUT, immediate or DX port, reads and
;   writes alike, trap after the instruction with DR6.Bn; the port range is DRn aligned down to
;   the LEN field (1, 2, 4 bytes) and any overlapping access hits; memory accesses do not;
; - REP OUTSB to a watched port traps after each iteration, the first with ECX one less and EIP
;   still at the instruction; a data breakpoint hit by REP MOVSB traps after the iteration that
;   wrote it, with EIP at the instruction and the registers of that iteration;
; - a TSS whose T flag (offset 100, bit 0) is set raises #DB with DR6.BT when a task switch enters
;   it, before its first instruction; a TSS without it does not;
; - MOV SS holds debug exceptions back until the boundary after the next instruction (Vol. 3A 6.8.3
;   "Masking Exceptions and Interrupts When Switching Stacks"): a code breakpoint on that next
;   instruction is not taken (the same breakpoint elsewhere is, a fault with DR6.B0); with TF set,
;   MOV SS followed by ICEBP (INT1, F1) gives one #DB, ICEBP's, at the instruction after it and
;   without DR6.BS: the single-step trap MOV SS held back is not delivered a second time (what
;   Intel processors do, recorded by kvm-unit-tests' x86/debug.c and emulator.c).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/debugtraps.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_TSS_B   equ SEL_SPARE               ; 0x48: the T-flag task
B_STACK     equ STACKS + 0x1000
DR6_BT      equ 1 << 15
db_count    equ scratch + 0x00          ; #DB taken
db_eip      equ scratch + 0x04          ; EIP of the first
db_dr6      equ scratch + 0x08          ; DR6 at the first
db_ecx      equ scratch + 0x0c          ; ECX at the first
db_last_eip equ scratch + 0x10          ; EIP of the last
b_ran       equ scratch + 0x14          ; the T-flag task's first instruction ran after the #DB
b_seen      equ scratch + 0x18          ; #DB count the task saw at its first instruction
SRC         equ DATA
DST         equ DATA + 0x100

; DBRESET: forget earlier #DB and clear DR6's status bits.
%macro DBRESET 0
            mov dword [db_count], 0
            mov dword [db_eip], 0
            mov dword [db_dr6], 0
            mov dword [db_ecx], 0
            mov dword [db_last_eip], 0
            xor eax, eax
            mov dr6, eax
%endmacro

; ARM_IO index, port, len: DRindex = port, DR7 = L(index) | R/W = 10b | LEN (00 1, 01 2, 11 4 bytes).
%macro ARM_IO 3
            mov eax, %2
            mov dr%1, eax
            mov eax, (1 << (2 * %1)) | (2 << (16 + 4 * %1)) | (%3 << (18 + 4 * %1))
            mov dr7, eax
%endmacro

            section pm
            bits 32
main:
            mov eax, STACK_TOP
            call tss32_install
            mov eax, 1
            mov ebx, db_handler
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            mov eax, cr4
            or eax, 1 << 3                  ; CR4.DE: R/W = 10b means I/O
            mov cr4, eax

            ; ---- IN and OUT on a watched port
            DBRESET
            ARM_IO 0, 0x80, 0
            mov al, 0x11
            out 0x80, al
.o1:        CHECK "OUT imm8 to a 1-byte I/O breakpoint: one #DB", [db_count], 1
            CHECK "a trap: EIP after the OUT", [db_eip], .o1
            mov eax, [db_dr6]
            and eax, 0xf
            CHECK "DR6.B0", eax, 1
            DBRESET
            in al, 0x80
.i1:        CHECK "IN from the watched port (reads hit too)", [db_count], 1
            CHECK "IN: EIP after the IN", [db_eip], .i1
            DBRESET
            mov dx, 0x80
            out dx, al
            CHECK "OUT DX to the watched port", [db_count], 1
            DBRESET
            out 0x81, al
            CHECK "the next port is outside a 1-byte breakpoint", [db_count], 0
            DBRESET
            mov dx, 0x7f
            out dx, ax
            CHECK "a 16-bit OUT to ports 7FH-80H overlaps it", [db_count], 1
            DBRESET
            mov al, [0x80]
            mov [0x80], al
            CHECK "memory accesses at the same address do not hit", [db_count], 0

            ; ---- LEN: 2 and 4 bytes, the address aligned down
            DBRESET
            ARM_IO 1, 0x85, 1                   ; 2 bytes: 84H-85H
            out 0x84, al
            mov eax, [db_dr6]
            and eax, 0xf
            CHECK "2-byte I/O breakpoint at 85H covers 84H: DR6.B1", eax, 2
            DBRESET
            out 0x86, al
            CHECK "... but not 86H", [db_count], 0
            DBRESET
            ARM_IO 2, 0x86, 3                   ; 4 bytes: 84H-87H
            out 0x87, al
            CHECK "4-byte I/O breakpoint at 86H covers 87H", [db_count], 1
            DBRESET
            out 0x83, al
            out 0x88, al
            CHECK "... but not 83H or 88H", [db_count], 0
            DBRESET
            xor eax, eax
            mov dr7, eax
            mov eax, 0x80
            mov dr3, eax
            mov eax, 2 << 28                    ; R/W3 = 10b but L3/G3 clear
            mov dr7, eax
            out 0x80, al
            CHECK "a disabled I/O breakpoint does not hit", [db_count], 0

            ; ---- REP OUTSB: a trap after each iteration
            DBRESET
            ARM_IO 0, 0x80, 0
            mov esi, SRC
            mov dx, 0x80
            mov ecx, 3
.outs:      rep outsb
.outs_end:  CHECK "REP OUTSB to the watched port: a #DB per iteration", [db_count], 3
            CHECK "the first after one iteration: EIP at the instruction", [db_eip], .outs
            CHECK "... with ECX one less", [db_ecx], 2
            CHECK "the last after the last iteration: EIP after it", [db_last_eip], .outs_end
            CHECK "ECX = 0 at the end", ecx, 0
            xor eax, eax
            mov dr7, eax

            ; ---- REP MOVSB: a data breakpoint traps after the iteration that wrote it
            DBRESET
            mov eax, DST + 2
            mov dr1, eax
            mov eax, (1 << 2) | (1 << 20)       ; L1, write, 1 byte
            mov dr7, eax
            mov dword [SRC], 0x44332211
            mov byte [SRC + 4], 0x55
            mov esi, SRC
            mov edi, DST
            mov ecx, 5
.movs:      rep movsb
            CHECK "REP MOVSB over a write breakpoint: one #DB", [db_count], 1
            CHECK "after the iteration that wrote it: EIP at the instruction", [db_eip], .movs
            CHECK "... with ECX = 2 (three elements moved)", [db_ecx], 2
            movzx eax, byte [DST + 4]
            CHECK "and the instruction then completes", eax, 0x55
            xor eax, eax
            mov dr7, eax

            ; ---- the T flag of a TSS
            mov edi, TSS2_BASE
            xor eax, eax
            mov ecx, 0x100 / 4
            rep stosd
            mov dword [TSS2_BASE + 32], task_b                      ; EIP
            mov dword [TSS2_BASE + 36], 2                           ; EFLAGS
            mov dword [TSS2_BASE + 56], B_STACK                     ; ESP
            mov dword [TSS2_BASE + 72], SEL_DATA                    ; ES
            mov dword [TSS2_BASE + 76], SEL_CODE32                  ; CS
            mov dword [TSS2_BASE + 80], SEL_DATA                    ; SS
            mov dword [TSS2_BASE + 84], SEL_DATA                    ; DS
            mov word [TSS2_BASE + 0x64], 1                          ; T
            mov word [TSS2_BASE + 0x66], 0x68
            mov eax, TSS2_BASE
            mov edx, 0x67
            mov ebx, SEL_TSS_B
            mov ecx, 0x89
            call set_descriptor
            DBRESET
            call SEL_TSS_B:0
            CHECK "CALL to a task whose TSS has T = 1: one #DB", [db_count], 1
            CHECK "... before the task's first instruction (EIP there)", [db_eip], task_b
            CHECK "... which then runs", [b_seen], 1
            mov eax, [db_dr6]
            and eax, DR6_BT | 0x400f
            CHECK "DR6.BT, no other status bit", eax, DR6_BT
            ; Without T: no #DB.
            mov word [TSS2_BASE + 0x64], 0
            DBRESET
            call SEL_TSS_B:0
            CHECK "CALL to a task whose TSS has T = 0: no #DB", [db_count], 0
            CHECK "... and the task ran", [b_seen], 0

            ; ---- MOV SS: no code breakpoint on the instruction after it
            DBRESET
            mov eax, .ss_next
            mov dr0, eax
            mov eax, 1                          ; L0, R/W0 = 00 (execution), LEN0 = 00
            mov dr7, eax
            mov ax, ss
            mov ss, ax
.ss_next:   nop
            CHECK "code breakpoint right after MOV SS: no #DB", [db_count], 0
            DBRESET
            mov eax, .bp_plain
            mov dr0, eax
            nop
.bp_plain:  nop
            CHECK "the same breakpoint not after MOV SS: one #DB", [db_count], 1
            CHECK "... a fault: EIP at the instruction", [db_eip], .bp_plain
            mov eax, [db_dr6]
            and eax, 0x400f
            CHECK "... DR6.B0", eax, 1
            xor eax, eax
            mov dr7, eax

            ; ---- TF, MOV SS, ICEBP: one #DB (the handler clears TF)
            DBRESET
            mov ax, ss
            pushfd
            or dword [esp], 1 << 8
            popfd                               ; TF traps from the end of the next instruction
            mov ss, ax                          ; its single-step trap waits for the shadow
            db 0xf1                             ; ICEBP
.icebp_next:
            nop
            CHECK "TF, MOV SS, ICEBP: one #DB", [db_count], 1
            CHECK "... ICEBP's, a trap: EIP after the ICEBP", [db_eip], .icebp_next
            mov eax, [db_dr6]
            and eax, 0x400f
            CHECK "... without DR6.BS", eax, 0

            jmp finish32

; The T-flag task: records what the #DB count was at its first instruction, returns (IRET, NT).
task_b:
            mov eax, [db_count]
            mov [b_seen], eax
            iretd
            jmp task_b

; #DB: counts; keeps EIP, DR6 and ECX of the first, EIP of the last; clears DR6's status bits;
; returns with RF set (an instruction breakpoint's fault resumes past it) and TF clear.
db_handler:
            push eax
            or dword [esp + 12], 1 << 16
            and dword [esp + 12], ~(1 << 8)
            mov eax, [db_count]
            test eax, eax
            jnz .later
            mov eax, [esp + 4]
            mov [db_eip], eax
            mov eax, dr6
            mov [db_dr6], eax
            mov [db_ecx], ecx
.later:     mov eax, [esp + 4]
            mov [db_last_eip], eax
            inc dword [db_count]
            xor eax, eax
            mov dr6, eax
            pop eax
            iretd
