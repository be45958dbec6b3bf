; Benchmark guest: an integer ALU loop (32-bit protected mode, flat segments, loaded at 0x10000).
            bits 32
            org 0x10000
start:      mov ebx, 12345
            mov edx, 1
outer:      mov ebp, 100000
.loop:      add eax, ebx
            xor ecx, eax
            shl edx, 1
            sub esi, ecx
            inc edi
            and ebx, 0x7fff
            or edx, esi
            lea eax, [eax + ebx * 4 + 7]
            dec ebp
            jnz .loop
            jmp outer
