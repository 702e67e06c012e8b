import X86

extension Workload {
    static let memoryRMWIterations: UInt64 = 1_000_000
    /// 4 KiB + 64 bytes in quadwords: every access lands on a new page, and the 16 MiB the
    /// loop sweeps is eight times the reach of a 512-entry TLB, so most accesses miss.
    static let memoryRMWStride: UInt64 = 520
    static let memoryRMWQuadwords: UInt64 = BenchMachine.bufferSize / 8

    /// A read-modify-write, a load and a store per iteration, striding over the buffer
    /// (RDI = its base): TLB fills and the memory paths (10 instructions per iteration).
    static let memoryRMW = Workload(
        name: "memory-rmw",
        code: [
            0x31, 0xC0,  //                          xor   eax, eax
            0xBA, 0x01, 0x00, 0x00, 0x00,  //        mov   edx, 1
            0x45, 0x31, 0xC9,  //                    xor   r9d, r9d
            // loop:
            0x48, 0x01, 0x14, 0xC7,  //              add   qword [rdi + rax*8], rdx
            0x4C, 0x8B, 0x44, 0xC7, 0x08,  //        mov   r8, qword [rdi + rax*8 + 8]
            0x4D, 0x01, 0xC1,  //                    add   r9, r8
            0x49, 0x01, 0xD0,  //                    add   r8, rdx
            0x4C, 0x89, 0x44, 0xC7, 0x10,  //        mov   qword [rdi + rax*8 + 16], r8
            0x48, 0xFF, 0xC2,  //                    inc   rdx
            0x48, 0x05, 0x08, 0x02, 0x00, 0x00,  //  add   rax, 520
            0x48, 0x25, 0xFF, 0xFF, 0x1F, 0x00,  //  and   rax, 0x1FFFFF
            0x48, 0xFF, 0xC9,  //                    dec   rcx
            0x75, 0xD8,  //                          jnz   loop
            0xF4,  //                                hlt
        ],
        registers: [(.rcx, memoryRMWIterations), (.rdi, BenchMachine.bufferBase)],
        usesBuffer: true,
        expected: memoryRMWExpected(iterations: memoryRMWIterations))

    /// The same computation on the host, over a zeroed copy of the buffer.
    static func memoryRMWExpected(iterations: UInt64) -> [(GPR, UInt64)] {
        precondition(memoryRMWQuadwords == 0x20_0000, "the AND mask in the code assumes a 16 MiB buffer")
        var buffer = [UInt64](repeating: 0, count: Int(memoryRMWQuadwords))
        var rax: UInt64 = 0, rdx: UInt64 = 1, r8: UInt64 = 0, r9: UInt64 = 0
        for _ in 0..<iterations {
            let i = Int(rax)
            buffer[i] &+= rdx
            r8 = buffer[i + 1]
            r9 &+= r8
            r8 &+= rdx
            buffer[i + 2] = r8
            rdx &+= 1
            rax = (rax &+ memoryRMWStride) & (memoryRMWQuadwords - 1)
        }
        return [(.rax, rax), (.rcx, 0), (.rdx, rdx), (.r8, r8), (.r9, r9)]
    }
}
