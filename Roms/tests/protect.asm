; Segment protection test ROM: what a segment register load checks and which exception it raises
; (Intel SDM Vol. 3A 5.5-5.8 and 6.15, Vol. 2B MOV "Protected Mode Exceptions"), limit checks on
; expand-up and expand-down segments (5.3, 16- and 32-bit upper bounds), #GP versus #SS versus #NP,
; writes to read-only data and to code, VERR/VERW (Vol. 2B) at CPL 0 and 3, and the privileged
; and IOPL-sensitive instructions at CPL 3 with IOPL 0 (5.9, 18.x: #GP(0)).
;
; Expected error codes: a selector error code is the selector with RPL cleared (EXT = 0, IDT = 0);
; a limit or null-segment violation on an access is error code 0; INT n through a gate whose DPL is
; below CPL gives n * 8 + 2 (IDT bit).
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/protect.bin (exit status 1 = all passed).

%include "lib.inc"

SEL_RO      equ 0x48                    ; data, DPL 0, read-only
SEL_D3      equ 0x50                    ; data, DPL 3, read/write
SEL_XO      equ 0x58                    ; code, DPL 0, execute-only
SEL_CONF    equ 0x60                    ; code, DPL 0, conforming, readable
SEL_NP      equ 0x68                    ; data, DPL 0, not present
SEL_DOWN32  equ 0x70                    ; data, expand-down, limit 0xfff, B = 1
SEL_SMALL   equ 0x78                    ; data, DPL 0, limit 0xfff (byte granular)
SEL_TSSD    equ 0x80                    ; an available 32-bit TSS (a system descriptor)
SEL_C3      equ 0x88                    ; code, DPL 3, readable
SEL_D1      equ 0x90                    ; data, DPL 1, read/write
SEL_CR      equ 0x98                    ; code, DPL 0, readable, not conforming
SEL_DOWN16  equ 0xa0                    ; data, expand-down, limit 0xfff, B = 0
USER_STACK  equ STACKS + 0x1000
ZF          equ 0x40
r3          equ DATA + 0x1000           ; ring-3 results: 8 bytes per test (vector, error code)

; NOFAULTS name, insn...: the instruction must not fault.
%macro NOFAULTS 2+
            TRY %2
            CHECK %1, [fault_vec], NOFAULT
%endmacro

; R3 index, insn...: in ring 3, runs the instruction and stores vector and error code at r3 + 8 * index.
%macro R3 2+
            TRY %2
            mov eax, [fault_vec]
            mov [r3 + 8 * %1], eax
            mov eax, [fault_err]
            mov [r3 + 8 * %1 + 4], eax
%endmacro

; R3CHECK index, name, vector, error
%macro R3CHECK 4
            CHECKN %2, ": vector", [r3 + 8 * %1], %3
            CHECKN %2, ": error code", [r3 + 8 * %1 + 4], %4
%endmacro

; ZFOF name, insn, expected ZF (0 or ZF): runs a flag-setting instruction and checks ZF.
%macro ZFOF 3
            %2
            pushfd
            pop eax
            and eax, ZF
            CHECK %1, eax, %3
%endmacro

            section pm
            bits 32
main:
            SPARE_DESCRIPTORS descriptors, descriptors_end
            mov eax, STACK_TOP
            call tss32_install              ; no I/O bitmap: every port is beyond it
            call ring0_return_install
            xor eax, eax
            lldt ax                         ; a null LDTR: every LDT selector is outside any table

            ; ---- segment register loads at CPL 0 (SDM Vol. 2B MOV, Protected Mode Exceptions)
            mov edi, DATA
            mov ecx, SEL_RO
            NOFAULTS "ES = read-only data", mov es, cx
            NOFAULTS "read through a read-only ES", mov eax, [es:DATA]
            FAULT "write through a read-only ES", 13, 0, mov dword [es:DATA], 1
            FAULT "read-modify-write through a read-only ES", 13, 0, add dword [es:DATA], 1
            FAULT "STOSD to a read-only ES", 13, 0, stosd
            mov ax, SEL_DATA
            mov es, ax
            FAULT "SS = read-only data", 13, SEL_RO, mov ss, cx
            mov ecx, SEL_XO
            FAULT "DS = execute-only code", 13, SEL_XO, mov ds, cx
            mov ecx, SEL_CR
            NOFAULTS "ES = readable code", mov es, cx
            NOFAULTS "read through ES = readable code", mov eax, [es:DATA]
            FAULT "write through ES = readable code", 13, 0, mov dword [es:DATA], 1
            FAULT "SS = readable code", 13, SEL_CR, mov ss, cx
            mov ecx, SEL_NP
            FAULT "DS = not-present data: #NP(selector)", 11, SEL_NP, mov ds, cx
            FAULT "SS = not-present data: #SS(selector)", 12, SEL_NP, mov ss, cx
            mov ecx, SEL_TSSD
            FAULT "DS = a TSS descriptor", 13, SEL_TSSD, mov ds, cx
            mov ecx, 0x100
            FAULT "FS = a selector past the GDT limit", 13, 0x100, mov fs, cx
            mov ecx, 0x07                   ; LDT selector with no LDT loaded
            FAULT "GS = an LDT selector with a null LDTR", 13, 0x04, mov gs, cx
            xor ecx, ecx
            FAULT "SS = null at CPL 0", 13, 0, mov ss, cx
            NOFAULTS "FS = null", mov fs, cx
            FAULT "read through a null FS", 13, 0, mov eax, [fs:DATA]
            mov ecx, SEL_D3
            NOFAULTS "DS = DPL-3 data at CPL 0", mov ds, cx
            mov ax, SEL_DATA
            mov ds, ax
            FAULT "SS = DPL-3 data at CPL 0 (DPL != CPL)", 13, SEL_D3, mov ss, cx
            mov ecx, SEL_DATA | 3
            FAULT "SS = DPL-0 data with RPL 3 at CPL 0 (RPL != CPL)", 13, SEL_DATA, mov ss, cx
            mov ecx, SEL_CONF
            NOFAULTS "GS = readable conforming code", mov gs, cx
            mov ax, SEL_DATA
            mov es, ax
            mov fs, ax
            mov gs, ax

            ; ---- limits: expand-up (SDM Vol. 3A 5.3: every byte must lie at or below the limit)
            mov ecx, SEL_SMALL
            mov es, cx
            NOFAULTS "expand-up: dword ending at the limit", mov eax, [es:0xffc]
            FAULT "expand-up: dword crossing the limit", 13, 0, mov eax, [es:0xffd]
            NOFAULTS "expand-up: byte at the limit", mov al, [es:0xfff]
            FAULT "expand-up: byte past the limit", 13, 0, mov al, [es:0x1000]
            ; ---- expand-down: valid offsets are limit + 1 .. 0xffffffff (B = 1) or 0xffff (B = 0)
            mov ecx, SEL_DOWN32
            mov es, cx
            NOFAULTS "expand-down, B = 1: byte at limit + 1", mov al, [es:0x1000]
            FAULT "expand-down, B = 1: byte at the limit", 13, 0, mov al, [es:0xfff]
            NOFAULTS "expand-down, B = 1: dword at 0xfffffffc", mov eax, [es:0xfffffffc]
            FAULT "expand-down, B = 1: dword starting below limit + 1", 13, 0, mov eax, [es:0xffe]
            mov ecx, SEL_DOWN16
            mov es, cx
            NOFAULTS "expand-down, B = 0: word at 0xfffe", mov ax, [es:0xfffe]
            FAULT "expand-down, B = 0: dword crossing 0xffff", 13, 0, mov eax, [es:0xfffe]
            FAULT "expand-down, B = 0: byte at 0x10000", 13, 0, mov al, [es:0x10000]
            mov ax, SEL_DATA
            mov es, ax
            ; ---- the stack segment: a limit violation through SS is #SS(0), not #GP
            mov [scratch], esp
            mov ecx, SEL_SMALL
            mov ss, cx
            mov esp, 0xf00
            TRY mov eax, [ss:0x1000]
            mov cx, SEL_DATA
            mov ss, cx
            mov esp, [scratch]
            CHECK "SS limit violation: #SS", [fault_vec], 12
            CHECK "SS limit violation: error code 0", [fault_err], 0
            mov ebp, 0x2000
            mov ecx, SEL_SMALL
            mov es, cx
            FAULT "EBP-based access with an ES override: #GP, not #SS", 13, 0, mov eax, [es:ebp]
            mov ax, SEL_DATA
            mov es, ax
            ; ---- code is never writable (5.5: a write through CS faults); reads need R
            FAULT "write through CS", 13, 0, mov dword [cs:DATA], 1
            NOFAULTS "read through CS (readable code)", mov eax, [cs:DATA]

            ; ---- VERR/VERW at CPL 0 (Vol. 2B VERR/VERW: ZF = 1 when readable/writable from here)
            xor ecx, ecx
            ZFOF "VERR null", verr cx, 0
            mov ecx, SEL_RO
            ZFOF "VERR read-only data", verr cx, ZF
            ZFOF "VERW read-only data", verw cx, 0
            mov ecx, SEL_DATA
            ZFOF "VERW read/write data", verw cx, ZF
            mov ecx, SEL_XO
            ZFOF "VERR execute-only code", verr cx, 0
            mov ecx, SEL_CR
            ZFOF "VERR readable code", verr cx, ZF
            ZFOF "VERW readable code", verw cx, 0
            mov ecx, SEL_TSSD
            ZFOF "VERR a TSS descriptor", verr cx, 0
            mov ecx, SEL_NP
            ZFOF "VERR not-present data (presence is not checked)", verr cx, ZF
            mov ecx, 0x100
            ZFOF "VERR past the GDT limit", verr cx, 0
            mov ecx, SEL_DATA | 3
            ZFOF "VERR DPL 0 with RPL 3", verr cx, 0
            mov ecx, SEL_CONF | 3
            ZFOF "VERR conforming code with RPL 3", verr cx, ZF
            mov ecx, SEL_D1
            ZFOF "VERW DPL-1 data at CPL 0", verw cx, ZF
            mov word [DATA], SEL_RO
            ZFOF "VERR with a memory operand", verr word [DATA], ZF
            mov ecx, 0xffff0000 | SEL_RO
            ZFOF "VERR uses only the low word of a register", verr cx, ZF

            ; ---- ring 3 with IOPL 0 and CR4.TSD set
            mov eax, cr4
            or eax, 4                       ; TSD
            mov cr4, eax
            mov dword [ring0_continue], back_in_ring0
            push dword SEL_UDATA | 3
            push dword USER_STACK
            push dword 0x0202               ; IF set, IOPL 0
            push dword SEL_UCODE32 | 3
            push dword ring3
            iretd

            bits 32
ring3:
            mov eax, SEL_UDATA | 3          ; IRET to ring 3 made DS and ES (DPL 0) null
            mov ds, ax
            mov es, ax
            R3 0, cli
            R3 1, sti
            R3 2, hlt
            R3 3, mov eax, cr0
            R3 4, mov cr3, eax
            R3 5, lgdt [DATA]
            R3 6, clts
            R3 7, invlpg [DATA]
            R3 8, rdmsr
            R3 9, mov eax, dr7
            R3 10, lmsw ax
            R3 11, wbinvd
            R3 12, in al, 0x80
            R3 13, out 0x80, al
            R3 14, int 3
            R3 15, rdtsc
            ; (ES, not DS: the results are stored through DS)
            mov ecx, SEL_DATA
            R3 16, mov es, cx
            mov ecx, SEL_CONF | 3
            R3 17, mov es, cx
            mov ecx, SEL_CR | 3
            R3 18, mov es, cx
            mov ecx, SEL_D1 | 3
            R3 19, mov es, cx
            mov ecx, SEL_D1 | 3
            R3 20, mov ss, cx
            mov ecx, SEL_D3 | 3
            R3 21, mov ss, cx               ; allowed: DPL 3 = CPL, RPL 3
            mov ecx, SEL_UDATA | 3
            mov ss, cx
            mov ds, cx
            mov ecx, SEL_C3 | 3
            R3 22, mov ss, cx               ; code in SS: #GP
            R3 23, ltr cx
            R3 24, lidt [DATA]
            ; POPF at CPL 3 with IOPL 0: IF and IOPL do not change and nothing faults
            pushfd
            pop eax
            and eax, ~0x200
            or eax, 0x3000
            push eax
            popfd
            pushfd
            pop eax
            and eax, 0x3200
            mov [r3 + 8 * 25], eax
            ; VERR/VERW from CPL 3
            mov ecx, SEL_DATA
            verr cx
            pushfd
            pop eax
            mov [r3 + 8 * 26], eax
            mov ecx, SEL_D3 | 3
            verw cx
            pushfd
            pop eax
            mov [r3 + 8 * 27], eax
            mov ecx, SEL_CONF
            verr cx
            pushfd
            pop eax
            mov [r3 + 8 * 28], eax
            mov ecx, SEL_CR
            verr cx
            pushfd
            pop eax
            mov [r3 + 8 * 29], eax
            int 0x30

back_in_ring0:
            mov eax, cr4
            and eax, ~4
            mov cr4, eax
            R3CHECK 0, "CPL 3, IOPL 0: CLI", 13, 0
            R3CHECK 1, "CPL 3, IOPL 0: STI", 13, 0
            R3CHECK 2, "CPL 3: HLT", 13, 0
            R3CHECK 3, "CPL 3: MOV from CR0", 13, 0
            R3CHECK 4, "CPL 3: MOV to CR3", 13, 0
            R3CHECK 5, "CPL 3: LGDT", 13, 0
            R3CHECK 6, "CPL 3: CLTS", 13, 0
            R3CHECK 7, "CPL 3: INVLPG", 13, 0
            R3CHECK 8, "CPL 3: RDMSR", 13, 0
            R3CHECK 9, "CPL 3: MOV from DR7", 13, 0
            R3CHECK 10, "CPL 3: LMSW", 13, 0
            R3CHECK 11, "CPL 3: WBINVD", 13, 0
            R3CHECK 12, "CPL 3, IOPL 0, no I/O bitmap: IN", 13, 0
            R3CHECK 13, "CPL 3, IOPL 0, no I/O bitmap: OUT", 13, 0
            R3CHECK 14, "CPL 3: INT 3 through a DPL-0 gate", 13, 3 * 8 + 2
            R3CHECK 15, "CPL 3 with CR4.TSD: RDTSC", 13, 0
            R3CHECK 16, "CPL 3: ES = DPL-0 data", 13, SEL_DATA
            R3CHECK 17, "CPL 3: ES = DPL-0 readable conforming code is allowed", NOFAULT, NOFAULT
            R3CHECK 18, "CPL 3: ES = DPL-0 readable non-conforming code", 13, SEL_CR
            R3CHECK 19, "CPL 3: ES = DPL-1 data", 13, SEL_D1
            R3CHECK 20, "CPL 3: SS = DPL-1 data", 13, SEL_D1
            R3CHECK 21, "CPL 3: SS = DPL-3 data is allowed", NOFAULT, NOFAULT
            R3CHECK 22, "CPL 3: SS = code", 13, SEL_C3
            R3CHECK 23, "CPL 3: LTR", 13, 0
            R3CHECK 24, "CPL 3: LIDT", 13, 0
            CHECK "CPL 3, IOPL 0: POPF changes neither IF nor IOPL", [r3 + 8 * 25], 0x200
            mov eax, [r3 + 8 * 26]
            and eax, ZF
            CHECK "CPL 3: VERR DPL-0 data is ZF = 0", eax, 0
            mov eax, [r3 + 8 * 27]
            and eax, ZF
            CHECK "CPL 3: VERW DPL-3 data is ZF = 1", eax, ZF
            mov eax, [r3 + 8 * 28]
            and eax, ZF
            CHECK "CPL 3: VERR DPL-0 conforming readable code is ZF = 1", eax, ZF
            mov eax, [r3 + 8 * 29]
            and eax, ZF
            CHECK "CPL 3: VERR DPL-0 non-conforming code is ZF = 0", eax, 0
            jmp finish32

            align 8
descriptors:
            dq 0x00cf91000000ffff           ; 0x48 read-only data, DPL 0
            dq 0x00cff3000000ffff           ; 0x50 data, DPL 3
            dq 0x00cf99000000ffff           ; 0x58 execute-only code, DPL 0
            dq 0x00cf9f000000ffff           ; 0x60 conforming readable code, DPL 0
            dq 0x00cf13000000ffff           ; 0x68 not-present data
            dq 0x0040970000000fff           ; 0x70 expand-down data, limit 0xfff, B = 1
            dq 0x0040930000000fff           ; 0x78 data, limit 0xfff
            dq 0x0000890030000067           ; 0x80 available 32-bit TSS at 0x3000
            dq 0x00cffb000000ffff           ; 0x88 readable code, DPL 3
            dq 0x00cfb3000000ffff           ; 0x90 data, DPL 1
            dq 0x00cf9b000000ffff           ; 0x98 readable code, DPL 0
            dq 0x0000970000000fff           ; 0xa0 expand-down data, limit 0xfff, B = 0
descriptors_end:
