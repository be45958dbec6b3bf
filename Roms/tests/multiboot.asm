; emu multiboot test kernel: a Multiboot 0.6.96 kernel in the a.out kludge format (a flat binary
; whose header gives its load addresses), for `emu run --kernel multiboot.bin --append ... --initrd ...`.
; It checks the machine state the specification promises at entry (3.2), prints the information
; structure it was given (3.3) over COM1 with a PASS or FAIL line per check, and exits through the
; debug-exit port 0xf4: value 0 (emu status 1) when every check passed, 1 (status 3) otherwise.
;
; Build: nasm -f bin -o multiboot.bin multiboot.asm   (Roms/build.sh does this and checks the result)

%ifndef LOAD_ADDR
%define LOAD_ADDR 0x00100000            ; multiboot_low.asm links it below 1 MiB instead
%endif
COM1        equ 0x3F8
%include "com1.inc"
DEBUG_EXIT  equ 0xF4
MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ (1 << 0) | (1 << 1) | (1 << 16)   ; page-aligned modules, memory info, address fields
BOOT_MAGIC  equ 0x2BADB002
INFO_WANTED equ (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9)  ; mem, cmdline, mods, mmap, loader name

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
            mov [boot_eax], eax
            mov [boot_ebx], ebx
            mov esp, stack_top          ; ESP is undefined at entry (3.2): set it before PUSHFD
            pushfd
            pop dword [boot_eflags]
            cld
            call uart_init

            mov esi, msg_hello
            call puts

            ; EAX holds the magic (3.2)
            mov eax, [boot_eax]
            cmp eax, BOOT_MAGIC
            mov esi, msg_magic
            call check

            ; CR0: PE set, PG clear; EFLAGS: IF and VM clear (3.2)
            mov eax, cr0
            and eax, 0x80000001
            cmp eax, 1
            mov esi, msg_cr0
            call check
            test dword [boot_eflags], (1 << 9) | (1 << 17)
            mov esi, msg_if
            call check

            ; the information structure
            mov ebx, [boot_ebx]
            mov eax, [ebx]
            and eax, INFO_WANTED
            cmp eax, INFO_WANTED
            mov esi, msg_flags
            call check

            cmp dword [ebx + 4], 639
            mov esi, msg_mem_lower
            call check

            mov esi, msg_mem_upper
            call puts
            mov eax, [ebx + 8]
            call putdec
            mov esi, msg_kib
            call puts

            mov esi, msg_cmdline
            call puts
            mov esi, [ebx + 16]
            call puts
            call newline

            mov esi, msg_loader
            call puts
            mov esi, [ebx + 64]
            call puts
            call newline

            ; modules: count, then each one's string, size and first line
            mov esi, msg_mods
            call puts
            mov eax, [ebx + 20]
            call putdec
            call newline
            mov ecx, [ebx + 20]
            mov edi, [ebx + 24]
            xor edx, edx                ; modules not page-aligned
.module:    test ecx, ecx
            jz .modules_done
            mov esi, msg_module
            call puts
            mov esi, [edi + 8]
            call puts
            mov al, ' '
            call putc
            mov eax, [edi + 4]
            sub eax, [edi]
            call putdec
            mov esi, msg_bytes
            call puts
            mov esi, [edi]
            mov eax, [edi + 4]
            call putline
            call newline
            test dword [edi], 0xFFF
            jz .aligned
            inc edx
.aligned:   add edi, 16
            dec ecx
            jmp .module
.modules_done:
            test edx, edx
            mov esi, msg_aligned
            call check

            ; memory map: size, base (64), length (64), type per entry; size excludes itself
            mov edi, [ebx + 48]
            mov ecx, [ebx + 44]
            add ecx, edi
.mmap:      cmp edi, ecx
            jae .mmap_done
            mov esi, msg_mmap
            call puts
            mov eax, [edi + 8]
            call puthex
            mov eax, [edi + 4]
            call puthex
            mov al, ' '
            call putc
            mov eax, [edi + 16]
            call puthex
            mov eax, [edi + 12]
            call puthex
            mov esi, msg_type
            call puts
            mov eax, [edi + 20]
            call putdec
            call newline
            mov eax, [edi]
            lea edi, [edi + eax + 4]
            jmp .mmap
.mmap_done:

            ; the bss is zero (the a.out kludge's bss_end_addr)
            mov esi, zero_area
            xor eax, eax
.bss:       cmp esi, zero_area_end
            jae .bss_done
            or eax, [esi]
            add esi, 4
            jmp .bss
.bss_done:  test eax, eax
            mov esi, msg_bss
            call check

            mov eax, [failures]
            test eax, eax
            jnz .failed
            mov esi, msg_all_passed
            call puts
            xor eax, eax
            out DEBUG_EXIT, al
            jmp .halt
.failed:    mov esi, msg_some_failed
            call puts
            mov al, 1
            out DEBUG_EXIT, al
.halt:      hlt
            jmp .halt

; ZF set -> "PASS <esi>", else "FAIL <esi>" and count it
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

; al -> COM1 once the transmitter holding register is empty
putc:       push edx
            push eax
            mov dx, COM1 + 5
.wait:      in al, dx
            test al, 0x20
            jz .wait
            pop eax
            mov dx, COM1
            out dx, al
            pop edx
            ret

newline:    push eax
            mov al, 10
            call putc
            pop eax
            ret

; NUL-terminated string at esi
puts:       push eax
            push esi
.next:      lodsb
            test al, al
            jz .done
            call putc
            jmp .next
.done:      pop esi
            pop eax
            ret

; the bytes from esi up to eax (exclusive), a newline or 40 bytes, whichever comes first
putline:    push ecx
            push esi
            mov ecx, 40
.next:      cmp esi, eax
            jae .done
            push eax
            lodsb
            cmp al, 10
            je .stop
            call putc
            pop eax
            loop .next
            jmp .done
.stop:      pop eax
.done:      pop esi
            pop ecx
            ret

; eax in decimal
putdec:     push eax
            push ecx
            push edx
            push ebx
            mov ebx, 10
            xor ecx, ecx
.divide:    xor edx, edx
            div ebx
            push edx
            inc ecx
            test eax, eax
            jnz .divide
.print:     pop eax
            add al, '0'
            call putc
            loop .print
            pop ebx
            pop edx
            pop ecx
            pop eax
            ret

; eax as 8 hex digits
puthex:     push eax
            push ecx
            push edx
            mov edx, eax
            mov ecx, 8
.digit:     rol edx, 4
            mov al, dl
            and al, 0x0F
            add al, '0'
            cmp al, '9'
            jbe .put
            add al, 'a' - '9' - 1
.put:       call putc
            loop .digit
            pop edx
            pop ecx
            pop eax
            ret

msg_hello:       db "multiboot test kernel", 10, 0
msg_pass:        db "PASS ", 0
msg_fail:        db "FAIL ", 0
msg_magic:       db "eax holds the multiboot magic 0x2badb002", 0
msg_cr0:         db "protected mode, paging off", 0
msg_if:          db "interrupts and virtual-8086 mode off", 0
msg_flags:       db "info flags: mem, cmdline, mods, mmap, boot loader name", 0
msg_mem_lower:   db "mem_lower is 639 KiB", 0
msg_mem_upper:   db "mem_upper: ", 0
msg_kib:         db " KiB", 10, 0
msg_cmdline:     db "cmdline: ", 0
msg_loader:      db "boot loader: ", 0
msg_mods:        db "mods_count: ", 0
msg_module:      db "module ", 0
msg_bytes:       db " bytes: ", 0
msg_aligned:     db "modules are page-aligned", 0
msg_mmap:        db "mmap ", 0
msg_type:        db " type ", 0
msg_bss:         db "bss is zero", 0
msg_all_passed:  db "all checks passed", 10, 0
msg_some_failed: db "some checks failed", 10, 0

            align 4
load_end:

            absolute load_end
zero_area:  resb 4096               ; checked to be zero: nothing writes it
zero_area_end:
boot_eax:   resd 1
boot_ebx:   resd 1
boot_eflags: resd 1
failures:   resd 1
            resb 4096
stack_top:
bss_end:
