import X86

extension Workload {
    static let callReturnRepetitions: UInt64 = 8
    static let fibonacciArgument: UInt64 = 25

    /// Naive recursive Fibonacci, repeated: CALL/RET/PUSH/POP-heavy code that exercises
    /// block chaining across calls and returns and the stack path.
    static let callReturn = Workload(
        name: "call-return",
        code: [
            0x45, 0x31, 0xE4,  //                    xor   r12d, r12d
            // again:
            0x51,  //                                push  rcx
            0xBF, 0x19, 0x00, 0x00, 0x00,  //        mov   edi, 25
            0xE8, 0x0A, 0x00, 0x00, 0x00,  //        call  fib
            0x49, 0x01, 0xC4,  //                    add   r12, rax
            0x59,  //                                pop   rcx
            0x48, 0xFF, 0xC9,  //                    dec   rcx
            0x75, 0xEC,  //                          jnz   again
            0xF4,  //                                hlt
            // fib:                                  rax = fib(rdi)
            0x48, 0x83, 0xFF, 0x02,  //              cmp   rdi, 2
            0x72, 0x1C,  //                          jb    leaf
            0x53,  //                                push  rbx
            0x57,  //                                push  rdi
            0x48, 0xFF, 0xCF,  //                    dec   rdi
            0xE8, 0xF0, 0xFF, 0xFF, 0xFF,  //        call  fib
            0x48, 0x89, 0xC3,  //                    mov   rbx, rax
            0x5F,  //                                pop   rdi
            0x48, 0x83, 0xEF, 0x02,  //              sub   rdi, 2
            0xE8, 0xE3, 0xFF, 0xFF, 0xFF,  //        call  fib
            0x48, 0x01, 0xD8,  //                    add   rax, rbx
            0x5B,  //                                pop   rbx
            0xC3,  //                                ret
            // leaf:
            0x48, 0x89, 0xF8,  //                    mov   rax, rdi
            0xC3,  //                                ret
        ],
        registers: [(.rcx, callReturnRepetitions)],
        usesBuffer: false,
        expected: [
            (.r12, callReturnRepetitions &* fibonacci(fibonacciArgument)),
            (.rax, fibonacci(fibonacciArgument)), (.rcx, 0), (.rbx, 0),
            (.rsp, BenchMachine.stackTop),
        ])

    static func fibonacci(_ n: UInt64) -> UInt64 {
        var (a, b): (UInt64, UInt64) = (0, 1)
        for _ in 0..<n { (a, b) = (b, a &+ b) }
        return a
    }
}
