; Virtual-8086 mode, second ROM: what each system instruction does there, faults taken from V86
; with their frames, paging at CPL 3, the I/O bitmap with IOPL 0, and a 16-bit interrupt gate.
;
; From the Intel SDM (Vol. 2A/2B "Virtual-8086 Mode Exceptions" of each instruction; Vol. 3A 20.2-20.3):
; - ARPL, LAR, LSL, VERR, VERW, SLDT, STR, LLDT and LTR are not recognized in V86: #UD;
; - LMSW, CLTS, LGDT, MOV DRn, RDMSR, WBINVD, INVD and INVLPG need CPL 0: #GP(0); SMSW, SGDT,
;   SIDT and RDTSC (CR4.UMIP and CR4.TSD clear) run;
; - V86 code runs at CPL 3: a read of a supervisor page is #PF with error code P|U, a write to a
;   read-only user page P|W|U, CR2 the address (Vol. 3A 4.7);
; - a fault from V86 goes to a ring-0 handler with GS, FS, DS, ES, SS, ESP, EFLAGS (VM set), CS,
;   EIP on the ring-0 stack (Figure 20-2); #DE, #BR are exceptions (no DPL check), INT3 and INTO are
;   software interrupts whose DPL-0 gates give #GP(vector * 8 + 2) whatever the IOPL, INT1 is not
;   checked; INT n is the only one IOPL-sensitive (IOPL 0: #GP(0));
; - with IOPL 0, IN and OUT consult the TSS I/O bitmap (20.2.8.1);
; - LDS and far CALL/RETF use real-mode segment arithmetic;
; - through a 16-bit interrupt gate (DPL 3, to ring 0) the nine values of the V86 frame are pushed
;   as words (Vol. 2A INT n, INTERRUPT-FROM-VIRTUAL-8086-MODE: "pushes are 16 bits for 16-bit
;   gate"), and the handler runs with VM clear and null data segments.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/v86sys.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_CODE_F  equ SEL_SPARE               ; 0x48: code, DPL 0, 32-bit, base F0000, limit FFFF
TSS_LIMIT   equ 0x68 + 0x81
V86_SP      equ 0x6000
RES         equ 0xa000                  ; vector and error code per test: 8 bytes each
VAL         equ 0xa400                  ; further values from V86
PD          equ PAGE_TABLES
PT          equ PAGE_TABLES + 0x1000
SUP_PAGE    equ 0xc000                  ; supervisor-only
RO_PAGE     equ 0xd000                  ; read-only user page
FAR_MARK    equ 0x12350                 ; read through DS = 0x1234, SI = 0x10

v_smsw      equ VAL + 0x00
v_sgdt      equ VAL + 0x04              ; 6 bytes
v_sidt      equ VAL + 0x10              ; 6 bytes
v_frame     equ VAL + 0x20              ; ES, DS, FS, GS from a #GP frame (dwords)
v_ip        equ VAL + 0x30
v_cs        equ VAL + 0x34
v_flags     equ VAL + 0x38
v_sp        equ VAL + 0x3c
v_cr2a      equ VAL + 0x40
v_cr2b      equ VAL + 0x44
v_lds       equ VAL + 0x48
v_far       equ VAL + 0x4c
v_farsp     equ VAL + 0x50
v_int1_ip   equ VAL + 0x54
v_pf_flags  equ VAL + 0x58
h16         equ VAL + 0x80              ; 20 bytes of the 16-bit gate's frame
h16_esp     equ VAL + 0xa0
h16_flags   equ VAL + 0xa4
h16_ds      equ VAL + 0xa8
h16_gs      equ VAL + 0xac
cr0_low     equ VAL + 0xb0

; VT index, insn...: V86 code; runs the instruction and stores [fault_vec], [fault_err] at RES + 8 * index.
%macro VT 2+
            mov dword [resume], %%after - ROMBASE
            mov dword [resume + 4], 0
            mov dword [fault_vec], NOFAULT
            mov dword [fault_err], NOFAULT
            %2
%%after:    mov dword [resume], 0
            mov eax, [fault_vec]
            mov [RES + 8 * %1], eax
            mov eax, [fault_err]
            mov [RES + 8 * %1 + 4], eax
%endmacro

; RC index, name, vector, error: checks a VT result in ring 0.
%macro RC 4
            CHECKN %2, ": vector", [RES + 8 * %1], %3
            CHECKN %2, ": error code", [RES + 8 * %1 + 4], %4
%endmacro

; RCV index, name, vector: checks only the vector.
%macro RCV 3
            CHECKN %2, ": vector", [RES + 8 * %1], %3
%endmacro

; TO_V86 ip, eflags: IRETD from ring 0 into V86 at F000:ip with DS = ES = FS = GS = SS = 0.
%macro TO_V86 2
            push dword 0                    ; GS
            push dword 0                    ; FS
            push dword 0                    ; DS
            push dword 0                    ; ES
            push dword 0                    ; SS
            push dword V86_SP               ; ESP
            push dword %2                   ; EFLAGS
            push dword 0xf000               ; CS
            push dword %1 - ROMBASE         ; EIP
            iretd
%endmacro

            section pm
            bits 32
main:
            ; TSS: SS0:ESP0, an I/O bitmap allowing COM1 and port 80h only.
            TSS32_IO_INSTALL TSS_LIMIT, 0x80
            mov dword [GDT_BASE + SEL_CODE_F], 0x0000ffff
            mov dword [GDT_BASE + SEL_CODE_F + 4], 0x00409a0f
            call ring0_return_install
            mov eax, 0x85                   ; a 16-bit interrupt gate, DPL 3
            mov ebx, handler16 - ROMBASE
            mov ecx, SEL_CODE_F
            mov edx, 0xe6
            call set_gate32
            mov al, 0xff                    ; every PIC line masked
            out 0x21, al
            out 0xa1, al
            mov edi, RES
            xor eax, eax
            mov ecx, 0x500 / 4
            rep stosd
            mov dword [FAR_MARK], 0x6d6d
            mov eax, cr0
            mov [cr0_low], eax

            ; Paging: 0-4 MiB identity, user and writable, but a supervisor page and a read-only page.
            mov edi, PD
            mov edx, 7
            call pg32_identity
            mov dword [PT + (SUP_PAGE >> 12) * 4], SUP_PAGE | 3
            mov dword [PT + (RO_PAGE >> 12) * 4], RO_PAGE | 5
            mov eax, PD
            mov cr3, eax
            mov eax, cr0
            or eax, 0x80000000
            mov cr0, eax

            ; ---- phase A: IOPL 3
            mov dword [ring0_continue], phase_a_done
            TO_V86 v86_a, 0x00023002

phase_a_done:
            mov esp, STACK_TOP
            RC 0, "V86: ARPL is #UD", 6, 0
            RC 1, "V86: LAR is #UD", 6, 0
            RC 2, "V86: LSL is #UD", 6, 0
            RC 3, "V86: VERR is #UD", 6, 0
            RC 4, "V86: VERW is #UD", 6, 0
            RC 5, "V86: SLDT is #UD", 6, 0
            RC 6, "V86: STR is #UD", 6, 0
            RC 7, "V86: LLDT is #UD", 6, 0
            RC 8, "V86: LTR is #UD", 6, 0
            RC 9, "V86: LMSW is #GP(0)", 13, 0
            RC 10, "V86: CLTS is #GP(0)", 13, 0
            RC 11, "V86: LGDT is #GP(0)", 13, 0
            RC 12, "V86: MOV from DR7 is #GP(0)", 13, 0
            RC 13, "V86: RDMSR is #GP(0)", 13, 0
            RC 14, "V86: WBINVD is #GP(0)", 13, 0
            RC 15, "V86: INVD is #GP(0)", 13, 0
            RC 16, "V86: INVLPG is #GP(0)", 13, 0
            CHECK "V86: SMSW runs", [RES + 8 * 17], NOFAULT
            mov eax, [cr0_low]
            and eax, 0xffff
            CHECK "V86: SMSW reads CR0[15:0]", [v_smsw], eax
            CHECK "V86: SGDT runs", [RES + 8 * 18], NOFAULT
            CHECKW "V86: SGDT limit", [v_sgdt], GDT_LIMIT
            CHECK "V86: SGDT base", [v_sgdt + 2], GDT_BASE
            CHECK "V86: SIDT runs", [RES + 8 * 19], NOFAULT
            CHECK "V86: SIDT base", [v_sidt + 2], IDT_BASE
            CHECK "V86: RDTSC runs with CR4.TSD clear", [RES + 8 * 20], NOFAULT
            RC 21, "V86: read of a supervisor page: #PF", 14, 5
            CHECK "V86: supervisor-page #PF: CR2", [v_cr2a], SUP_PAGE + 0x10
            RC 22, "V86: write to a read-only page: #PF", 14, 7
            CHECK "V86: read-only-page #PF: CR2", [v_cr2b], RO_PAGE + 0x20
            mov eax, [v_pf_flags]
            and eax, 0x20000
            CHECK "V86: #PF frame: EFLAGS has VM", eax, 0x20000
            RC 23, "V86: HLT is #GP(0)", 13, 0
            CHECK "V86 #GP frame: IP", [v_ip], v86_a.hlt - ROMBASE
            CHECK "V86 #GP frame: CS", [v_cs], 0xf000
            mov eax, [v_flags]
            and eax, 0x23000
            CHECK "V86 #GP frame: EFLAGS has VM and IOPL 3", eax, 0x23000
            CHECK "V86 #GP frame: ESP", [v_sp], V86_SP
            CHECK "V86 #GP frame: ES", [v_frame], 0x0123
            CHECK "V86 #GP frame: DS", [v_frame + 4], 0
            CHECK "V86 #GP frame: FS", [v_frame + 8], 0x0456
            CHECK "V86 #GP frame: GS", [v_frame + 12], 0x0789
            RCV 24, "V86: DIV by 0 is #DE", 0
            RCV 25, "V86: BOUND out of range is #BR (an exception: no DPL check)", 5
            RC 26, "V86: INT3 through its DPL-0 gate is #GP(3 * 8 + 2)", 13, 3 * 8 + 2
            RC 27, "V86: INTO through its DPL-0 gate is #GP(4 * 8 + 2)", 13, 4 * 8 + 2
            RCV 28, "V86: INT1 reaches #DB (no DPL check)", 1
            CHECK "V86: INT1 is a trap (IP after it)", [v_int1_ip], v86_a.int1_after - ROMBASE
            CHECK "V86: LDS loads DS = 0x1234 as a paragraph (reads linear 0x12350)", [v_lds], 0x6d6d
            CHECK "V86: far CALL and RETF (real-mode segments)", [v_far], 0xf000
            CHECK "V86: far CALL and RETF: SP back", [v_farsp], V86_SP

            ; ---- phase B: IOPL 0 (the exit is a #UD through gate 6, pointed at phase_b_done)
            mov eax, 6
            mov ebx, phase_b_done
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            TO_V86 v86_b, 0x00020002

phase_b_done:
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            mov esp, STACK_TOP
            mov eax, 6                      ; #UD back to the recording stub
            mov ebx, [isr32_table + 6 * 4]
            mov ecx, SEL_CODE32
            mov edx, 0x8e
            call set_gate32
            CHECK "V86, IOPL 0: OUT to port 80h, allowed by the bitmap", [RES + 8 * 30], NOFAULT
            CHECK "V86, IOPL 0: IN from COM1's LSR, allowed by the bitmap", [RES + 8 * 31], NOFAULT
            RC 32, "V86, IOPL 0: OUT to port 84h, denied by the bitmap", 13, 0
            RC 33, "V86, IOPL 0: INSB from port 84h, denied", 13, 0
            RC 34, "V86, IOPL 0: INTO is not IOPL-sensitive (#GP(4 * 8 + 2))", 13, 4 * 8 + 2
            RC 35, "V86, IOPL 0: INT n is #GP(0)", 13, 0

            ; ---- phase C: a 16-bit interrupt gate from V86
            TO_V86 v86_c, 0x00023002

phase_c_done:
            mov ax, SEL_DATA
            mov ds, ax
            mov es, ax
            mov esp, STACK_TOP
            CHECK "16-bit gate from V86: nine words at ESP0 - 18", [h16_esp], STACK_TOP - 18
            CHECKW "16-bit gate from V86: IP", [h16], v86_c.after - ROMBASE
            CHECKW "16-bit gate from V86: CS", [h16 + 2], 0xf000
            movzx eax, word [h16 + 4]
            and eax, 0x3000
            CHECK "16-bit gate from V86: FLAGS (IOPL 3)", eax, 0x3000
            CHECKW "16-bit gate from V86: SP", [h16 + 6], V86_SP
            CHECKW "16-bit gate from V86: SS", [h16 + 8], 0
            CHECKW "16-bit gate from V86: ES", [h16 + 10], 0x0abc
            CHECKW "16-bit gate from V86: DS", [h16 + 12], 0
            CHECKW "16-bit gate from V86: FS", [h16 + 14], 0x0def
            CHECKW "16-bit gate from V86: GS", [h16 + 16], 0x0135
            mov eax, [h16_flags]
            and eax, 0x20000
            CHECK "16-bit gate from V86: VM clear in the handler", eax, 0
            CHECK "16-bit gate from V86: DS null in the handler", [h16_ds], 0
            CHECK "16-bit gate from V86: GS null in the handler", [h16_gs], 0
            jmp finish32

; The 16-bit gate's handler (SEL_CODE_F, ring 0, 32-bit code; DS is null: data through SS).
handler16:
            mov [ss:h16_esp], esp
            mov eax, [ss:esp]
            mov [ss:h16], eax
            mov eax, [ss:esp + 4]
            mov [ss:h16 + 4], eax
            mov eax, [ss:esp + 8]
            mov [ss:h16 + 8], eax
            mov eax, [ss:esp + 12]
            mov [ss:h16 + 12], eax
            mov ax, [ss:esp + 16]
            mov [ss:h16 + 16], ax
            pushfd
            pop eax
            mov [ss:h16_flags], eax
            xor eax, eax
            mov ax, ds
            mov [ss:h16_ds], eax
            mov ax, gs
            mov [ss:h16_gs], eax
            jmp SEL_CODE32:phase_c_done

            bits 16
v86_a:
            VT 0, arpl ax, bx
            VT 1, lar ax, bx
            VT 2, lsl ax, bx
            VT 3, verr ax
            VT 4, verw ax
            VT 5, sldt ax
            VT 6, str ax
            VT 7, lldt ax
            VT 8, ltr ax
            VT 9, lmsw ax
            VT 10, clts
            VT 11, lgdt [VAL + 0x100]
            VT 12, mov eax, dr7
            VT 13, rdmsr
            VT 14, wbinvd
            VT 15, invd
            VT 16, invlpg [0]
            VT 17, smsw [v_smsw]
            VT 18, sgdt [v_sgdt]
            VT 19, sidt [v_sidt]
            VT 20, rdtsc
            VT 21, mov eax, [SUP_PAGE + 0x10]
            mov eax, [fault_cr2]
            mov [v_cr2a], eax
            mov eax, [fault_flags]
            mov [v_pf_flags], eax
            VT 22, mov dword [RO_PAGE + 0x20], 1
            mov eax, [fault_cr2]
            mov [v_cr2b], eax
            mov ax, 0x0123
            mov es, ax
            mov ax, 0x0456
            mov fs, ax
            mov ax, 0x0789
            mov gs, ax
            mov dword [resume], .after_hlt - ROMBASE
            mov dword [fault_vec], NOFAULT
.hlt:       hlt
.after_hlt: mov dword [resume], 0
            xor ax, ax
            mov es, ax
            mov fs, ax
            mov gs, ax
            mov eax, [fault_vec]
            mov [RES + 8 * 23], eax
            mov eax, [fault_err]
            mov [RES + 8 * 23 + 4], eax
            mov eax, [fault_ip]
            mov [v_ip], eax
            mov eax, [fault_cs]
            mov [v_cs], eax
            mov eax, [fault_flags]
            mov [v_flags], eax
            mov eax, [fault_sp]
            mov [v_sp], eax
            mov ebx, [fault_frame_sp]       ; the ring-0 frame: EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
            mov eax, [bx + 20]
            mov [v_frame], eax
            mov eax, [bx + 24]
            mov [v_frame + 4], eax
            mov eax, [bx + 28]
            mov [v_frame + 8], eax
            mov eax, [bx + 32]
            mov [v_frame + 12], eax
            xor dx, dx
            xor ax, ax
            xor cx, cx
            VT 24, div cx
            mov word [VAL + 0x100], 1
            mov word [VAL + 0x102], 2
            mov ax, 3
            VT 25, bound ax, [VAL + 0x100]
            VT 26, int3
            mov al, 0x7f
            add al, 1                       ; OF = 1
            VT 27, into
            mov dword [resume], .int1_after - ROMBASE
            mov dword [fault_vec], NOFAULT
            db 0xf1
.int1_after:
            mov eax, [fault_vec]
            mov [RES + 8 * 28], eax
            mov eax, [fault_ip]
            mov [v_int1_ip], eax
            mov word [VAL + 0x110], 0x0010
            mov word [VAL + 0x112], 0x1234
            lds si, [VAL + 0x110]
            mov ax, [si]
            xor bx, bx
            mov ds, bx
            mov [v_lds], ax
            call 0xf000:farproc - ROMBASE
            mov [v_farsp], sp
            int 0x30

farproc:
            mov ax, sp
            mov bx, ax
            mov ax, [ss:bx + 2]             ; the CS the far CALL pushed
            mov [v_far], ax
            retf

v86_b:
            VT 30, out 0x80, al
            mov dx, COM1 + 5
            VT 31, in al, dx
            VT 32, out 0x84, al
            mov dx, 0x84
            mov di, VAL + 0x120
            VT 33, insb
            mov al, 0x7f
            add al, 1
            VT 34, into
            VT 35, int 0x30
            ud2

v86_c:
            mov ax, 0x0abc
            mov es, ax
            mov ax, 0x0def
            mov fs, ax
            mov ax, 0x0135
            mov gs, ax
            int 0x85
.after:     jmp .after
            bits 32
