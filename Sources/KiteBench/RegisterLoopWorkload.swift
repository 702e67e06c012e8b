import X86

extension Workload {
    static let registerLoopIterations: UInt64 = 2_000_000

    /// A tight loop of dependent register ALU operations: the decode-free fast path
    /// (11 instructions per iteration).
    static let registerLoop = Workload(
        name: "register-loop",
        code: [
            0x31, 0xC0,  //                    xor   eax, eax
            0xBA, 0x01, 0x00, 0x00, 0x00,  //  mov   edx, 1
            0x41, 0xB8, 0x03, 0x00, 0x00, 0x00,  // mov r8d, 3
            // loop:
            0x48, 0x01, 0xD0,  //              add   rax, rdx
            0x48, 0x31, 0xC2,  //              xor   rdx, rax
            0x49, 0x29, 0xD0,  //              sub   r8, rdx
            0x48, 0xFF, 0xC2,  //              inc   rdx
            0x4C, 0x01, 0xC0,  //              add   rax, r8
            0x4C, 0x8D, 0x4C, 0x50, 0x07,  //  lea   r9, [rax + rdx*2 + 7]
            0x4C, 0x31, 0xC8,  //              xor   rax, r9
            0x48, 0x39, 0xD0,  //              cmp   rax, rdx
            0x74, 0x05,  //                    je    done
            0x48, 0xFF, 0xC9,  //              dec   rcx
            0x75, 0xDF,  //                    jnz   loop
            // done:
            0xF4,  //                          hlt
        ],
        registers: [(.rcx, registerLoopIterations)],
        usesBuffer: false,
        expected: registerLoopExpected(iterations: registerLoopIterations))

    /// The same computation on the host.
    static func registerLoopExpected(iterations: UInt64) -> [(GPR, UInt64)] {
        var rax: UInt64 = 0, rdx: UInt64 = 1, r8: UInt64 = 3, r9: UInt64 = 0, rcx = iterations
        while true {
            rax &+= rdx
            rdx ^= rax
            r8 &-= rdx
            rdx &+= 1
            rax &+= r8
            r9 = rax &+ rdx &* 2 &+ 7
            rax ^= r9
            if rax == rdx { break }
            rcx &-= 1
            if rcx == 0 { break }
        }
        return [(.rax, rax), (.rcx, rcx), (.rdx, rdx), (.r8, r8), (.r9, r9)]
    }
}
