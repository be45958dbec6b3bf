; Pointer-validation and invalid-opcode test ROM. ARPL, LAR and LSL (Intel SDM Vol. 2A ARPL, LAR,
; LSL; Vol. 3A 5.10) in 32-bit protected mode at CPL 0 and CPL 3 and in 64-bit mode: ZF, the
; destination (16-, 32- and 64-bit), unchanged destinations on failure, the descriptor types each
; accepts in protected mode and in IA-32e mode (the tables in LAR and LSL), DPL/RPL/CPL checks and
; conforming code, null and out-of-limit selectors, an LDT; and instructions the emulated processor
; does not have (VMX, SVM, XGETBV with CR4.OSXSAVE clear, 3DNow!, opcodes invalid in 64-bit mode),
; which must raise #UD with the saved EIP/RIP at the instruction.
;
; Build: Roms/build.sh. Run: emu run --bios Roms/tests/ptrcheck.bin (exit status 1 = all passed).

%include "lib.inc"

LDT_BASE    equ 0x4000                  ; one descriptor (LDT limit 7)
USER_STACK  equ STACKS + 0x1000
PML4        equ PAGE_TABLES
ZF          equ 0x40
r3_results  equ scratch + 0x00          ; ring-3 results: 8 dwords

; SEL32 insn, dest, source, preset, selector, name, expected ZF, expected dest: loads the selector
; into the source register and the preset into the destination, runs the instruction, checks ZF and
; the destination (which must keep the preset when ZF is 0).
%macro SEL32 8
            jmp %%go
%%zf:       db %6, ": ZF", 0
%%val:      db %6, ": destination", 0
%%go:       mov eax, %4
            mov ecx, %5
            %1 %2, %3
            pushfd
            pop edx
            push eax
            mov eax, edx
            and eax, ZF
            mov ebx, %7
            mov esi, %%zf
            call check32
            pop eax
            mov ebx, %8
            mov esi, %%val
            call check32
%endmacro

; UD32 name, bytes: the bytes must raise #UD (vector 6) with EIP at their first byte.
%macro UD32 2
            jmp %%go
%%vec:      db %1, ": #UD", 0
%%eip:      db %1, ": saved EIP", 0
%%go:       EXPECT_FAULT %%after
%%insn:     db %2
%%after:    mov dword [resume], 0
            mov eax, [fault_vec]
            mov ebx, 6
            mov esi, %%vec
            call check32
            mov eax, [fault_ip]
            mov ebx, %%insn
            mov esi, %%eip
            call check32
%endmacro

            section pm
            bits 32
main:
            ; Test descriptors at 0x48 onwards, and the LDT.
            SPARE_DESCRIPTORS descriptors, descriptors_end
            mov dword [LDT_BASE], 0x0000ffff
            mov dword [LDT_BASE + 4], 0x00cf9200
            mov eax, STACK_TOP
            call tss32_install
            call ring0_return_install
            xor eax, eax
            lldt ax

            ; ---- ARPL (Intel SDM Vol. 2A ARPL): RPL raised to the source's, ZF = 1; else ZF = 0
            mov eax, 0xabcd0010
            mov ebx, 0x55550003
            arpl ax, bx
            pushfd
            pop edx
            and edx, ZF
            CHECK "ARPL raises RPL 0 to 3, keeping EAX[31:16]", eax, 0xabcd0013
            CHECK "ARPL raises RPL: ZF", edx, ZF
            mov eax, 0x0013
            mov ebx, 0x0001
            arpl ax, bx
            pushfd
            pop edx
            and edx, ZF
            CHECK "ARPL leaves a higher RPL", eax, 0x0013
            CHECK "ARPL leaves a higher RPL: ZF", edx, 0
            mov eax, 0x0012
            mov ebx, 0x0022
            arpl ax, bx
            pushfd
            pop edx
            and edx, ZF
            CHECK "ARPL with equal RPLs", eax, 0x0012
            CHECK "ARPL with equal RPLs: ZF", edx, 0
            mov dword [DATA], 0xbeef0028
            mov ecx, 0x0002
            arpl [DATA], cx
            pushfd
            pop edx
            and edx, ZF
            CHECK "ARPL on memory changes only the word", [DATA], 0xbeef002a
            CHECK "ARPL on memory: ZF", edx, ZF
            ; Only ZF changes: CF and OF set before stay set.
            push dword 0x0803
            popfd
            mov eax, 0x0010
            mov ebx, 0x0001
            arpl ax, bx
            pushfd
            pop edx
            and edx, 0x8d5
            CHECK "ARPL changes no flag but ZF", edx, 0x0841

            ; ARPL writes a memory destination only when it raises the RPL (Vol. 2A ARPL, Operation:
            ; DEST[RPL] <- SRC[RPL] in the THEN branch alone), so the #GP(0) for a non-writable
            ; destination comes with that write: a selector left alone in a read-only segment is
            ; read without a fault (the choice the public test386.asm tester checks).
            mov dword [DATA + 8], 0x0000002b
            mov ax, 0xd8
            mov es, ax
            mov ecx, 1
            mov dword [fault_vec], 0xffffffff
            mov dword [resume], .arpl_ro1
            arpl [es:DATA + 8], cx
.arpl_ro1:  mov dword [resume], 0
            pushfd
            pop edx
            and edx, ZF
            mov [scratch + 0x40], edx
            CHECK "ARPL leaving a selector in a read-only segment alone: no fault", [fault_vec], 0xffffffff
            CHECK "ARPL leaving a selector in a read-only segment alone: ZF = 0", [scratch + 0x40], 0
            mov dword [DATA + 8], 0x00000029
            mov ecx, 3
            EXPECT_FAULT .arpl_ro2
            arpl [es:DATA + 8], cx
.arpl_ro2:  CHECK "ARPL raising the RPL in a read-only segment: #GP", [fault_vec], 13
            CHECK "ARPL raising the RPL in a read-only segment: error code 0", [fault_err], 0
            CHECK "ARPL raising the RPL in a read-only segment: operand unchanged", [DATA + 8], 0x29
            mov ax, SEL_DATA
            mov es, ax

            ; ---- LAR and LSL in protected mode at CPL 0
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x48, "LAR data", ZF, 0x00409200
            SEL32 lar, ax, cx, 0xdeadbeef, 0x48, "LAR 16-bit keeps EAX[31:16]", ZF, 0xdead9200
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x48, "LSL byte-granular limit", ZF, 0x00012345
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x50, "LSL page-granular limit", ZF, 0xffffffff
            SEL32 lsl, ax, cx, 0xdeadbeef, 0x50, "LSL 16-bit", ZF, 0xdeadffff
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x50, "LAR DPL-3 data", ZF, 0x00c0f200
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x4b, "LAR RPL 3 above DPL 0", 0, 0xdeadbeef
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x4b, "LSL RPL 3 above DPL 0", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x5b, "LAR conforming code ignores RPL", ZF, 0x00c09e00
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x60, "LAR LDT descriptor", ZF, 0x00008200
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x60, "LSL LDT descriptor", ZF, 7
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x68, "LAR 32-bit call gate", ZF, 0x00008c00
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x68, "LSL 32-bit call gate", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x70, "LAR interrupt gate", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x78, "LAR reserved system type 0", 0, 0xdeadbeef
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x78, "LSL reserved system type 0", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x80, "LAR 16-bit TSS", ZF, 0x00008100
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x80, "LSL 16-bit TSS", ZF, 0x2b
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x88, "LAR task gate", ZF, 0x00008500
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x88, "LSL task gate", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x90, "LAR not-present segment", ZF, 0x00401200
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x00, "LAR null selector", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x100, "LAR past the GDT limit", 0, 0xdeadbeef
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x100, "LSL past the GDT limit", 0, 0xdeadbeef
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x04, "LAR with a null LDTR", 0, 0xdeadbeef
            mov ax, 0x60
            lldt ax
            SEL32 lar, eax, ecx, 0xdeadbeef, 0x04, "LAR LDT entry 0", ZF, 0x00c09200
            SEL32 lsl, eax, ecx, 0xdeadbeef, 0x0c, "LSL past the LDT limit", 0, 0xdeadbeef
            mov word [DATA], 0x48
            mov eax, 0xdeadbeef
            lar eax, [DATA]
            CHECK "LAR with a memory source", eax, 0x00409200

            ; ---- CPL 3: DPL must be at least CPL (conforming code aside); ARPL is unprivileged
            mov dword [ring0_continue], back_in_ring0
            mov eax, user_code
            mov ebx, USER_STACK
            jmp to_ring3_32

user_code:
            mov ax, SEL_UDATA | 3               ; IRET to ring 3 made DS null (DPL 0 < CPL)
            mov ds, ax
            mov ecx, 0x48
            mov eax, 0xdeadbeef
            lar eax, ecx
            pushfd
            pop edx
            mov [r3_results + 0], eax
            mov [r3_results + 4], edx
            mov ecx, 0x53
            lar eax, ecx
            pushfd
            pop edx
            mov [r3_results + 8], eax
            mov [r3_results + 12], edx
            mov ecx, 0x5b
            mov eax, 0xdeadbeef
            lsl eax, ecx
            pushfd
            pop edx
            mov [r3_results + 16], eax
            mov [r3_results + 20], edx
            mov eax, 0x48
            mov ebx, 0x23
            arpl ax, bx
            mov [r3_results + 24], eax
            int 0x30

back_in_ring0:
            mov eax, [r3_results + 4]
            and eax, ZF
            CHECK "LAR at CPL 3 of DPL-0 data: ZF", eax, 0
            CHECK "LAR at CPL 3 of DPL-0 data: destination", [r3_results + 0], 0xdeadbeef
            mov eax, [r3_results + 12]
            and eax, ZF
            CHECK "LAR at CPL 3 of DPL-3 data: ZF", eax, ZF
            CHECK "LAR at CPL 3 of DPL-3 data: destination", [r3_results + 8], 0x00c0f200
            mov eax, [r3_results + 20]
            and eax, ZF
            CHECK "LSL at CPL 3 of conforming DPL-0 code: ZF", eax, ZF
            CHECK "LSL at CPL 3 of conforming DPL-0 code: destination", [r3_results + 16], 0xffffffff
            CHECK "ARPL at CPL 3", [r3_results + 24], 0x4b

            ; ---- Instructions the model does not have raise #UD (CR4.OSXSAVE is clear)
            UD32 "VMCALL", {0x0f, 0x01, 0xc1}
            UD32 "VMMCALL (SVM)", {0x0f, 0x01, 0xd9}
            UD32 "XGETBV with CR4.OSXSAVE clear", {0x0f, 0x01, 0xd0}
            UD32 "FEMMS (3DNow!)", {0x0f, 0x0e}
            UD32 "GETSEC (SMX)", {0x0f, 0x37}
            UD32 "UD1", {0x0f, 0xb9, 0xc0}

            ; ---- 64-bit mode
            mov edi, PML4
            call pg64_identity
            mov eax, PML4
            mov ebx, long_entry
            call enter_long_mode

            bits 64
; SEL64 insn, dest, source, preset, selector, name, expected ZF, expected dest (64-bit compare)
%macro SEL64 8
            jmp %%go
%%zf:       db %6, ": ZF", 0
%%val:      db %6, ": destination", 0
%%go:       mov rax, %4
            mov ecx, %5
            %1 %2, %3
            pushfq
            pop rdx
            push rax
            mov eax, edx
            and eax, ZF
            mov ebx, %7
            mov rsi, %%zf
            call check64
            pop rax
            mov rbx, %8
            mov rsi, %%val
            call check64
%endmacro

%macro UD64 2
            jmp %%go
%%vec:      db %1, ": #UD", 0
%%rip:      db %1, ": saved RIP", 0
%%go:       EXPECT_FAULT64 %%after
%%insn:     db %2
%%after:    mov qword [resume], 0
            mov eax, [fault_vec]
            mov ebx, 6
            mov rsi, %%vec
            call check64
            mov rax, [fault_ip]
            mov rbx, %%insn
            mov rsi, %%rip
            call check64
%endmacro

long_entry:
            mov rsp, STACK_TOP
            call idt64_install
            ; IA-32e mode: LAR accepts 64-bit TSSs and call gates but not an LDT, LSL accepts the
            ; LDT and TSSs; the 16-bit TSS type is reserved (the IA-32e columns of the LAR and LSL
            ; type tables). The AMD APM lets LAR read an LDT in long mode; this CPU is Intel.
            SEL64 lar, eax, ecx, -1, 0x98, "64-bit: LAR LDT", 0, -1
            SEL64 lsl, eax, ecx, -1, 0x98, "64-bit: LSL LDT", ZF, 7
            SEL64 lar, eax, ecx, -1, 0xa8, "64-bit: LAR 64-bit TSS", ZF, 0x8900
            SEL64 lsl, eax, ecx, -1, 0xa8, "64-bit: LSL 64-bit TSS", ZF, 0x67
            SEL64 lar, eax, ecx, -1, 0xb8, "64-bit: LAR 64-bit call gate", ZF, 0x8c00
            SEL64 lsl, eax, ecx, -1, 0xb8, "64-bit: LSL 64-bit call gate", 0, -1
            SEL64 lar, eax, ecx, -1, 0xc8, "64-bit: LAR 16-bit TSS type", 0, -1
            SEL64 lsl, eax, ecx, -1, 0xc8, "64-bit: LSL 16-bit TSS type", 0, -1
            ; Destination sizes: REX.W zero-extends, 32 bits clears RAX[63:32], 16 bits keeps them.
            SEL64 lar, rax, rcx, -1, 0xd0, "64-bit: LAR to RAX", ZF, 0x00a09a00
            SEL64 lar, eax, ecx, -1, 0xd0, "64-bit: LAR to EAX", ZF, 0x00a09a00
            SEL64 lar, ax, cx, -1, 0xd0, "64-bit: LAR to AX", ZF, -0x6600
            SEL64 lsl, rax, rcx, -1, 0x50, "64-bit: LSL to RAX", ZF, 0xffffffff

            ; Opcode 63h is MOVSXD in 64-bit mode (ARPL does not exist there).
            mov ebx, 0x80000003
            mov rax, -1
            db 0x48, 0x63, 0xc3                 ; movsxd rax, ebx
            mov rbx, 0xffffffff80000003
            mov rsi, msg_movsxd
            call check64

            UD64 "64-bit: VMCALL", {0x0f, 0x01, 0xc1}
            UD64 "64-bit: XGETBV with CR4.OSXSAVE clear", {0x0f, 0x01, 0xd0}
            UD64 "64-bit: PUSH ES (invalid in 64-bit mode)", {0x06}
            UD64 "64-bit: AAM (invalid in 64-bit mode)", {0xd4, 0x0a}
            jmp finish64

msg_movsxd: db "64-bit: 63h is MOVSXD", 0

            align 8
; GDT entries from SEL_SPARE (0x48); values per Intel SDM Vol. 3A 3.4.5 (segments) and 3.5
; (system descriptors; in IA-32e mode LDT, TSS and call-gate descriptors take 16 bytes).
descriptors:
            dq 0x00419200_00002345      ; 0x48 data, DPL 0, limit 12345h, G = 0, D/B = 1
            dq 0x00cff200_0000ffff      ; 0x50 data, DPL 3, limit FFFFFh, G = 1
            dq 0x00cf9e00_0000ffff      ; 0x58 conforming code, DPL 0
            dq 0x00008200_40000007      ; 0x60 LDT at 4000h, limit 7
            dq 0x00008c00_00081234      ; 0x68 32-bit call gate
            dq 0x00008e00_00081234      ; 0x70 32-bit interrupt gate
            dq 0x00008000_00000000      ; 0x78 system type 0 (reserved), present
            dq 0x00008100_3000002b      ; 0x80 available 16-bit TSS, limit 2Bh
            dq 0x00008500_00380000      ; 0x88 task gate
            dq 0x00401200_00000fff      ; 0x90 data, not present
            dq 0x00008200_40000007, 0   ; 0x98 LDT (16 bytes in IA-32e mode)
            dq 0x00008900_30000067, 0   ; 0xa8 available 64-bit TSS, limit 67h
            dq 0x00008c00_00101234, 0   ; 0xb8 64-bit call gate
            dq 0x00008100_3000002b      ; 0xc8 type 1 (16-bit TSS; reserved in IA-32e mode)
            dq 0x00af9a00_0000ffff      ; 0xd0 64-bit code, DPL 0, never loaded (accessed bit clear)
            dq 0x00cf9000_0000ffff      ; 0xd8 read-only data, DPL 0, flat
descriptors_end:
