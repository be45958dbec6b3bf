; Benchmark guest: branchy code with calls and returns (32-bit, loaded at 0x10000, stack at 0x90000).
            bits 32
            org 0x10000
start:      mov esp, 0x90000
            xor eax, eax
outer:      mov ecx, 100000
.loop:      mov edx, ecx
            and edx, 3
            call classify
            add eax, ebx
            dec ecx
            jnz .loop
            jmp outer

classify:   cmp edx, 1
            jb .zero
            je .one
            cmp edx, 2
            je .two
            mov ebx, 7
            ret
.zero:      xor ebx, ebx
            ret
.one:       mov ebx, 1
            ret
.two:       call helper
            ret
helper:     mov ebx, 2
            ret
