#if canImport(Glibc)
    import Glibc
#endif
import X86

/// Checks the native harness itself on hand-written cases with known results, so that a
/// broken prologue/epilogue cannot pass for agreement with the engine.
enum NativeSelfTest {
    /// Runs the checks; returns one line per problem (empty when the harness is sound).
    static func run(_ native: NativeRunner) -> [String] {
        let l = native.layout
        var problems: [String] = []
        var regs = (0..<16).map { UInt64($0) &* 0x0101_0101_0101_0101 &+ 0x1234 }
        regs[R.rsp] = l.initialRSP
        regs[R.rbx] = l.baseValue
        let buffer = [UInt8](repeating: 0xAA, count: Int(Layout.bufferSize))
        let stack = [UInt8](repeating: 0x55, count: Int(Layout.stackSize))
        let allStatus: UInt64 = 0x202 | FlagBits.status

        func check(_ name: String, _ code: [UInt8], regs input: [UInt64], flags: UInt64 = allStatus,
                   _ verify: (MachineResult) -> String?) {
            do {
                let r = try native.run(test: code, at: native.earliestTestStart, registers: input, rflags: flags,
                                       buffer: buffer, stack: stack)
                if let p = verify(r) { problems.append("\(name): \(p)") }
            } catch {
                problems.append("\(name): \(error)")
            }
        }

        check("empty test keeps every register", [], regs: regs) { r in
            r.registers == regs ? nil : "registers changed"
        }
        check("flags reach the test (pushfq; pop rax)", [0x9C, 0x58], regs: regs, flags: 0x202 | 0x8D5) { r in
            r.registers[R.rax] & 0xFFF == 0xAD7 ? nil : "rax \(hex(r.registers[R.rax])), expected 0xad7 in the low bits"
        }
        var addRegs = regs
        addRegs[R.rax] = 5
        addRegs[R.rbp] = 7
        check("add rax, rbp", [0x48, 0x01, 0xE8], regs: addRegs) { r in
            if r.registers[R.rax] != 12 { return "rax \(hex(r.registers[R.rax])), expected 0xc" }
            return r.rflags & FlagBits.status == FlagBits.pf ? nil : "flags \(hex(r.rflags)), expected only PF of the status flags"
        }
        check("std is captured", [0xFD], regs: regs) { r in
            r.rflags & FlagBits.df != 0 ? nil : "DF not set in \(hex(r.rflags))"
        }
        check("push rax; pop rcx", [0x50, 0x59], regs: regs) { r in
            if r.registers[R.rcx] != regs[R.rax] || r.registers[R.rsp] != regs[R.rsp] { return "rcx/rsp wrong" }
            let at = Int(l.initialRSP - 8 - l.stack)
            return Array(r.stack[at..<at + 8]) == le64(regs[R.rax]) ? nil : "stack not written"
        }
        check("mov [rbx], rax", [0x48, 0x89, 0x03], regs: regs) { r in
            let at = Int(l.baseValue - l.buffer)
            return Array(r.buffer[at..<at + 8]) == le64(regs[R.rax]) ? nil : "buffer not written"
        }
        check("fld1 reaches the captured x87 state", [0xD9, 0xE8], regs: regs) { r in
            var fpu = FPUState()
            fpu.loadFXSAVEImage(r.fpu)
            return fpu.top == 7 && fpu.abridgedTags == 0x80 && fpu.st(0) == X87Register(significand: 1 << 63, signExponent: 0x3FFF)
                ? nil : "FSW \(hex(UInt64(fpu.statusWord))) tags \(hex(UInt64(fpu.abridgedTags)))"
        }
        // Faults end the run with a report instead of the process, with TF, DF or AC set too.
        let faults: [(String, [UInt8], UInt64, Int32)] = [
            ("ud2", [0x0F, 0x0B], 0x202, SIGILL), ("hlt", [0xF4], 0x202, SIGSEGV), ("int3", [0xCC], 0x202, SIGTRAP),
            ("mov rax, [0] with DF set", [0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0], 0x602, SIGSEGV),
            ("popfq with TF", [0x68, 0x02, 0x01, 0, 0, 0x9D, 0x90], 0x202, SIGTRAP),
        ]
        for (name, code, flags, signal) in faults {
            check("\(name) is caught", code, regs: regs, flags: flags) { r in
                r.abnormalExit?.hasPrefix("signal \(signal) ") == true ? nil : "abnormal exit \(r.abnormalExit ?? "none")"
            }
        }
        check("a run after the faults is clean", [0x48, 0x01, 0xE8], regs: addRegs) { r in
            r.abnormalExit == nil && r.registers[R.rax] == 12 && r.rflags & FlagBits.df == 0 ? nil : "not clean: \(r.abnormalExit ?? "wrong result")"
        }
        return problems
    }
}
