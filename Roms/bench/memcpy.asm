; Benchmark guest: copy 64 KiB dword by dword while summing it, forever (32-bit, loaded at 0x10000).
            bits 32
            org 0x10000
start:      xor ebx, ebx
outer:      mov esi, 0x100000
            mov edi, 0x200000
            mov ecx, 16384
.loop:      mov eax, [esi]
            mov [edi], eax
            add ebx, eax
            add esi, 4
            add edi, 4
            dec ecx
            jnz .loop
            jmp outer
