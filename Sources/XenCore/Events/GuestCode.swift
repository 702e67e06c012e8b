import XenABI

/// A tiny x86-64 emitter for Kite's hand-written PV test guests (benchmarks, tests): just
/// the instructions those guests use, each spelled as its assembly in the method name.
struct GuestCode {
    private(set) var bytes: [UInt8] = []
    var count: Int { bytes.count }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }

    mutating func raw(_ b: [UInt8]) { bytes += b }

    /// mov r64, imm64 for rax…rdi (0–7) and r8…r15 (8–15)
    mutating func movImm(_ reg: Int, _ value: UInt64) {
        bytes += [reg >= 8 ? 0x49 : 0x48, UInt8(0xB8 + (reg & 7))] + Self.le(value, 8)
    }

    /// A 64-bit PV hypercall: rax = number, rdi, rsi, rdx, r10, r8 = arguments; syscall.
    mutating func hypercall(_ number: Hypercall, _ args: UInt64...) {
        movImm(0, number.rawValue)
        for (i, a) in args.enumerated() where i < 5 { movImm([7, 6, 2, 10, 8][i], a) }
        bytes += [0x0F, 0x05]
    }

    /// sched_op_compat(SCHEDOP_shutdown, reason)
    mutating func shutdown(_ reason: UInt64 = 0) { hypercall(.schedOpCompat, SchedOp.shutdown.rawValue, reason) }

    /// mov byte [abs32], imm8
    mutating func storeByte(_ value: UInt8, at address: UInt32) {
        bytes += [0xC6, 0x04, 0x25] + Self.le(UInt64(address), 4) + [value]
    }

    /// mov qword [abs32], imm32 (sign-extended)
    mutating func storeQword(_ value: UInt32, at address: UInt32) {
        bytes += [0x48, 0xC7, 0x04, 0x25] + Self.le(UInt64(address), 4) + Self.le(UInt64(value), 4)
    }

    /// lock btr qword [abs32], bit — CF = the bit's old value.
    mutating func lockBitTestAndReset(at address: UInt32, bit: UInt8) {
        bytes += [0xF0, 0x48, 0x0F, 0xBA, 0x34, 0x25] + Self.le(UInt64(address), 4) + [bit]
    }

    /// A backward or forward jump target: the current offset.
    var here: Int { bytes.count }

    /// jmp rel32 / jcc rel32 to `target` (an offset in this code).
    mutating func jump(to target: Int, condition: UInt8? = nil) {
        let length = condition == nil ? 5 : 6
        let rel = Int64(target) - Int64(bytes.count + length)
        if let condition { bytes += [0x0F, 0x80 | condition] } else { bytes += [0xE9] }
        bytes += Self.le(UInt64(bitPattern: rel), 4)
    }

    static let conditionNotZero: UInt8 = 0x5
    static let conditionNotCarry: UInt8 = 0x3

    /// dec r15
    mutating func decR15() { bytes += [0x49, 0xFF, 0xCF] }
    /// pop rcx; pop r11 — the registers a bounce frame saves first.
    mutating func popRCXR11() { bytes += [0x59, 0x41, 0x5B] }
    /// mov r12, rcx; mov r13, r11
    mutating func saveRCXR11() { bytes += [0x49, 0x89, 0xCC, 0x4D, 0x89, 0xDD] }
    /// push 0 (flags); push r12 (rcx); push r13 (r11); push rax; then the iret hypercall.
    mutating func iretFromEvent() {
        bytes += [0x6A, 0x00, 0x41, 0x54, 0x41, 0x55, 0x50]
        hypercall(.iret)
    }
    /// rdtsc; shl rdx, 32; or rax, rdx — Kite's TSC is system time in ns.
    mutating func readTSC() { bytes += [0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0] }
    /// mov [abs64], rax
    mutating func storeRAX(at address: UInt64) { bytes += [0x48, 0xA3] + Self.le(address, 8) }
}
