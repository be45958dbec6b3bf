; emu S3 test kernel: a Multiboot 0.6.96 kernel (a.out kludge, flat binary at 1 MiB) that sleeps in
; ACPI S3 and checks how it woke, as an OS's suspend to RAM would. Run with `emu run --kernel
; s3wake.bin` (emu plays the firmware's resume) or under firmware that resumes through the FACS.
;
; Before the sleep it finds the FADT and FACS through the RSDP and RSDT (ACPI 6.5 5.2.5-5.2.10), the
; S3 sleep type in the DSDT's \_S3 package (7.4.2), copies a real-mode wake stub below 1 MiB and puts
; its address in the FACS's Firmware_Waking_Vector (5.2.10, Table 5.14), clears PM1 status, sets
; RTC_EN in PM1 enable (4.8.3.1), arms the MC146818's alarm for the next update (all three alarm
; bytes "don't care", AIE set: MC146818A datasheet, Register B and alarm), writes SLP_TYP | SLP_EN to
; PM1a control (4.8.3.2.1) and then counts in a loop that must never run.
; The wake stub, entered in real mode at (vector >> 4):(vector & 0Fh) as Table 5.14 says for IA-PC,
; records CS and IP, enters protected mode with this kernel's own GDT (RAM kept) and comes back here.
; Checks, each a PASS or FAIL line on COM1: the entry CS:IP, nothing ran after the sleep request, a
; marker written before the sleep survived, and PM1 status has WAK_STS (set on the wake) and RTC_STS
; (the RTC alarm, the wake event), Table 4.16. With "wake=host" on its command line it neither
; enables RTC_EN nor arms the alarm, waits for the host to wake it (QMP system_wakeup), and checks
; that RTC_STS is clear. With "wake=x32" it also sets the FACS's X_Firmware_Waking_Vector, which
; then takes precedence, to a 32-bit stub in this kernel: Table 5.14 says firmware enters it in 32-bit
; protected mode with paging off, interrupts off and flat 4 GiB segments (64BIT_WAKE_F clear), and
; the entry CS:IP checks become "protected mode, paging off" and "interrupts off". Exits through the debug-exit port 0xf4: value 0 (emu
; status 1) when every check passed, 1 (status 3) otherwise.
;
; Build: nasm -f bin -o s3wake.bin s3wake.asm   (Roms/build.sh does this and checks the result)

LOAD_ADDR   equ 0x00100000
COM1        equ 0x3F8
%include "com1.inc"
DEBUG_EXIT  equ 0xF4
MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ (1 << 16)               ; address fields
BOOT_MAGIC  equ 0x2BADB002
WAKE_VECTOR equ 0x8000                  ; where the stub goes: conventional memory nobody else uses
MARKER      equ 0x5A17E5A3
CODE_SEL    equ 0x08
DATA_SEL    equ 0x10
SLP_EN      equ 1 << 13
WAK_STS     equ 1 << 15
RTC_STS     equ 1 << 10
RTC_EN      equ 1 << 10
SPIN_LIMIT  equ 300000000               ; the loop after the sleep request gives up here (no S3)

            bits 32
            org LOAD_ADDR

header:     dd MB_MAGIC
            dd MB_FLAGS
            dd -(MB_MAGIC + MB_FLAGS)
            dd header                   ; header_addr
            dd LOAD_ADDR                ; load_addr
            dd load_end                 ; load_end_addr
            dd bss_end                  ; bss_end_addr
            dd start                    ; entry_addr

start:
            mov esp, stack_top
            ; "wake=host" anywhere in the multiboot command line (information flag 2, cmdline at +16)
            cmp eax, BOOT_MAGIC
            jne .no_cmdline
            test dword [ebx], 1 << 2
            jz .no_cmdline
            mov esi, [ebx + 16]
.scan:      cmp byte [esi], 0
            je .no_cmdline
            mov edi, opt_host
            mov ecx, opt_host_len
            push esi
            repe cmpsb
            pop esi
            je .host
            mov edi, opt_x32
            mov ecx, opt_x32_len
            push esi
            repe cmpsb
            pop esi
            je .x32
            inc esi
            jmp .scan
.host:      mov dword [host_wake], 1
            inc esi
            jmp .scan
.x32:       mov dword [x32_wake], 1
            inc esi
            jmp .scan
.no_cmdline:
            lgdt [gdtr]
            jmp CODE_SEL:.flat
.flat:      mov ax, DATA_SEL
            mov ds, ax
            mov es, ax
            mov ss, ax
            cld
            call uart_init
            mov esi, msg_hello
            call puts

            call find_acpi
            jc fatal

            ; the wake stub below 1 MiB, and its address in the FACS
            mov esi, stub
            mov edi, WAKE_VECTOR
            mov ecx, stub_end - stub
            rep movsb
            mov eax, [facs]
            mov dword [eax + 12], WAKE_VECTOR   ; Firmware_Waking_Vector
            mov dword [eax + 24], 0             ; X_Firmware_Waking_Vector: none
            mov dword [eax + 28], 0
            cmp dword [x32_wake], 0
            je .vectors_set
            mov dword [eax + 24], pm_stub       ; X_Firmware_Waking_Vector: the 32-bit stub
.vectors_set:
            mov dword [marker], MARKER

            ; PM1: every status cleared (write 1s), RTC_EN the only enable (none when the host wakes us)
            mov dx, [pm1a_evt]
            mov ax, 0xFFFF
            out dx, ax
            add dx, 2
            xor ax, ax
            cmp dword [host_wake], 0
            jne .enable
            mov ax, RTC_EN
.enable:    out dx, ax
            mov esi, msg_sleeping_host
            jne .sleep

            ; the RTC alarm at the next update: wait for an update to end, then AIE with "don't care" bytes
.uip_rise:  mov al, 0x0A
            call rtc_read
            test al, 0x80
            jz .uip_rise
.uip_fall:  mov al, 0x0A
            call rtc_read
            test al, 0x80
            jnz .uip_fall
            mov al, 0x0C
            call rtc_read
            mov ah, 0xC0
            mov al, 0x01
            call rtc_write
            mov al, 0x03
            call rtc_write
            mov al, 0x05
            call rtc_write
            mov al, 0x0B
            call rtc_read
            or al, 0x20                 ; AIE
            mov ah, al
            mov al, 0x0B
            call rtc_write

            mov esi, msg_sleeping
.sleep:     call puts
            call drain

            mov dword [after_sleep], 0
            mov dx, [pm1a_cnt]
            mov ax, [slp_typ]
            shl ax, 10
            or ax, SLP_EN
            out dx, ax
.spin:      inc dword [after_sleep]
            cmp dword [after_sleep], SPIN_LIMIT
            jb .spin
            mov esi, msg_no_sleep
            call puts
            jmp fatal

; Back from the stub in protected mode: BX = CS and CX = the IP of stub_ip at the stub's entry.
resumed:    mov ax, DATA_SEL
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov esp, stack_top
            mov [wake_cs], ebx
            mov [wake_ip], ecx
            call uart_init              ; the UART was reset with the rest of the machine
            mov esi, msg_resumed
            call puts

            cmp dword [x32_wake], 0
            jne .x32_entry
            movzx eax, word [wake_cs]
            cmp eax, WAKE_VECTOR >> 4
            mov esi, msg_cs
            call check
            movzx eax, word [wake_ip]
            cmp eax, (WAKE_VECTOR & 0x0F) + stub_ip - stub
            mov esi, msg_ip
            call check
            jmp .entry_checked
.x32_entry: mov eax, [wake_cr0]
            and eax, 0x80000001         ; PG, PE
            cmp eax, 1
            mov esi, msg_x32_mode
            call check
            test dword [wake_eflags], 0x200
            mov esi, msg_x32_if
            call check
.entry_checked:
            cmp dword [after_sleep], 0
            mov esi, msg_stopped
            call check
            cmp dword [marker], MARKER
            mov esi, msg_ram
            call check

            mov dx, [pm1a_evt]
            in ax, dx
            mov [pm1_sts], ax
            test ax, WAK_STS
            setz al
            cmp al, 0
            mov esi, msg_wak_sts
            call check
            cmp dword [host_wake], 0
            jne .host_woke
            test word [pm1_sts], RTC_STS
            setz al
            cmp al, 0
            mov esi, msg_rtc_sts
            call check
            jmp .status
.host_woke: test word [pm1_sts], RTC_STS
            mov esi, msg_no_rtc_sts
            call check
.status:

            mov esi, msg_pm1_sts
            call puts
            movzx eax, word [pm1_sts]
            call puthex
            call newline

            cmp dword [failures], 0
            mov esi, msg_all_passed
            je .report
            mov esi, msg_some_failed
.report:    call puts
            call drain
            cmp dword [failures], 0
            setne al                    ; 0 when every check passed
            mov dx, DEBUG_EXIT
            out dx, al
            hlt

fatal:      call drain
            mov al, 1
            mov dx, DEBUG_EXIT
            out dx, al
            hlt

; Finds the FADT through the RSDP in E0000-FFFFF (5.2.5.1) and its RSDT, then the FACS (FIRMWARE_CTRL,
; else X_FIRMWARE_CTRL), PM1a_EVT_BLK, PM1a_CNT_BLK and, in the DSDT, \_S3's SLP_TYPa. CF on failure.
find_acpi:  mov esi, 0xE0000
.rsdp:      cmp dword [esi], 'RSD '
            jne .next_rsdp
            cmp dword [esi + 4], 'PTR '
            je .found_rsdp
.next_rsdp: add esi, 16
            cmp esi, 0x100000
            jb .rsdp
            mov esi, msg_no_rsdp
            jmp .fail
.found_rsdp:
            mov ebx, [esi + 16]         ; RsdtAddress
            mov ecx, [ebx + 4]
            sub ecx, 36
            shr ecx, 2
            lea edi, [ebx + 36]
.entry:     mov edx, [edi]
            cmp dword [edx], 'FACP'
            je .found_fadt
            add edi, 4
            loop .entry
            mov esi, msg_no_fadt
            jmp .fail
.found_fadt:
            mov eax, [edx + 36]         ; FIRMWARE_CTRL
            test eax, eax
            jnz .facs
            mov eax, [edx + 132]        ; X_FIRMWARE_CTRL (low half)
.facs:      cmp dword [eax], 'FACS'
            mov esi, msg_no_facs
            jne .fail
            mov [facs], eax
            mov eax, [edx + 56]
            mov [pm1a_evt], eax
            mov eax, [edx + 64]
            mov [pm1a_cnt], eax
            ; \_S3 in the DSDT: NameSeg "_S3_", PackageOp, PkgLength, NumElements, then SLP_TYPa
            mov ebx, [edx + 40]         ; DSDT
            mov ecx, [ebx + 4]
            lea edi, [ebx + 36]
            add ecx, ebx
            sub ecx, 8
.s3:        cmp dword [edi], '_S3_'
            jne .next_s3
            cmp byte [edi + 4], 0x12
            je .found_s3
.next_s3:   inc edi
            cmp edi, ecx
            jb .s3
            mov esi, msg_no_s3
            jmp .fail
.found_s3:  movzx eax, byte [edi + 7]   ; ZeroOp, OneOp, or BytePrefix and a byte
            cmp eax, 0x0A
            jne .small
            movzx eax, byte [edi + 8]
.small:     mov [slp_typ], eax
            clc
            ret
.fail:      call puts
            stc
            ret

; al = index -> al = CMOS/RTC register (NMI left enabled)
rtc_read:   out 0x70, al
            in al, 0x71
            ret

; al = index, ah = value
rtc_write:  out 0x70, al
            mov al, ah
            out 0x71, al
            ret

check:      pushfd
            push esi
            mov esi, msg_pass
            jz .ok
            mov esi, msg_fail
            inc dword [failures]
.ok:        call puts
            pop esi
            call puts
            call newline
            popfd
            ret

uart_init:  COM1_115200_8N1
            ret

; waits until the transmitter is empty (nothing is lost in a sleep or an exit)
drain:      push edx
            push eax
            mov dx, COM1 + 5
.wait:      in al, dx
            test al, 0x40
            jz .wait
            pop eax
            pop edx
            ret

newline:    push eax
            mov al, 10
            call putc32
            pop eax
            ret

; puts32 (Roms/common/puts32.inc) keeping EAX and ESI
puts:       push eax
            push esi
            call puts32
            pop esi
            pop eax
            ret

%include "puts32.inc"

; eax as 4 hex digits
puthex:     push eax
            push ecx
            push edx
            mov edx, eax
            shl edx, 16
            mov ecx, 4
.digit:     rol edx, 4
            mov al, dl
            and al, 0x0F
            add al, '0'
            cmp al, '9'
            jbe .put
            add al, 'a' - '9' - 1
.put:       call putc32
            loop .digit
            pop edx
            pop ecx
            pop eax
            ret

; The X_Firmware_Waking_Vector stub ("wake=x32"), entered as Table 5.14 says in 32-bit protected mode
; with flat segments and no stack of its own: records CR0 and EFLAGS, then goes on with this kernel's
; own GDT.
pm_stub:    mov eax, cr0
            mov [wake_cr0], eax
            mov esp, stack_top
            pushfd
            pop eax
            mov [wake_eflags], eax
            lgdt [gdtr]
            jmp CODE_SEL:resumed

; The wake stub, copied to WAKE_VECTOR: position-independent 16-bit code (only relative calls and
; offsets from its start, which is offset (WAKE_VECTOR & 0Fh) of CS).
            bits 16
stub:       cli
            mov bx, cs
            mov ax, cs
            mov ss, ax
            mov sp, stub_stack_top - stub + (WAKE_VECTOR & 0x0F)
            call stub_ip
stub_ip:    pop cx
            o32 lgdt [cs:stub_gdtr - stub + (WAKE_VECTOR & 0x0F)]
            mov eax, cr0
            or al, 1
            mov cr0, eax
            jmp dword CODE_SEL:resumed
stub_gdtr:  dw gdt_end - gdt - 1
            dd gdt
            times 32 db 0
stub_stack_top:
stub_end:
            bits 32

            align 8
gdt:        dq 0
            dq 0x00CF9B000000FFFF       ; 0x08: flat 32-bit code
            dq 0x00CF93000000FFFF       ; 0x10: flat data
gdt_end:
gdtr:       dw gdt_end - gdt - 1
            dd gdt

msg_hello:       db "s3 test kernel", 10, 0
msg_sleeping:    db "sleeping in S3 until the RTC alarm", 10, 0
msg_sleeping_host: db "sleeping in S3 until the host wakes the machine", 10, 0
msg_no_rtc_sts:  db "PM1 status: RTC_STS clear (no alarm was armed)", 0
opt_host:        db "wake=host"
opt_host_len     equ $ - opt_host
opt_x32:         db "wake=x32"
opt_x32_len      equ $ - opt_x32
msg_x32_mode:    db "woke at X_Firmware_Waking_Vector in 32-bit protected mode, paging off", 0
msg_x32_if:      db "with interrupts off", 0
msg_no_sleep:    db "FAIL the machine did not sleep", 10, 0
msg_resumed:     db "resumed", 10, 0
msg_no_rsdp:     db "FAIL no RSDP in E0000-FFFFF", 10, 0
msg_no_fadt:     db "FAIL no FADT in the RSDT", 10, 0
msg_no_facs:     db "FAIL no FACS", 10, 0
msg_no_s3:       db "FAIL no \_S3 package in the DSDT", 10, 0
msg_pass:        db "PASS ", 0
msg_fail:        db "FAIL ", 0
msg_cs:          db "woke in real mode with CS = waking vector >> 4", 0
msg_ip:          db "and IP = waking vector & 0Fh", 0
msg_stopped:     db "no instruction ran after the sleep request", 0
msg_ram:         db "memory kept its contents", 0
msg_wak_sts:     db "PM1 status: WAK_STS set", 0
msg_rtc_sts:     db "PM1 status: RTC_STS set (the RTC alarm woke the machine)", 0
msg_pm1_sts:     db "PM1 status: ", 0
msg_all_passed:  db "all checks passed", 10, 0
msg_some_failed: db "some checks failed", 10, 0

            align 4
load_end:
            absolute load_end
facs:       resd 1
pm1a_evt:   resd 1
pm1a_cnt:   resd 1
slp_typ:    resd 1
marker:     resd 1
after_sleep: resd 1
wake_cs:    resd 1
wake_ip:    resd 1
pm1_sts:    resd 1
failures:   resd 1
host_wake:  resd 1
x32_wake:   resd 1
wake_cr0:   resd 1
wake_eflags: resd 1
            resb 4096
stack_top:
bss_end:
