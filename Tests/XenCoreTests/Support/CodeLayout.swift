/// Places code fragments at fixed offsets of the test code page (handlers at known addresses).
struct CodeLayout {
    private(set) var bytes: [UInt8] = []

    /// Appends `code` at `offset` (padding with int3 up to it).
    mutating func place(_ code: [UInt8], at offset: Int) {
        precondition(offset >= bytes.count, "fragments overlap")
        bytes += Array(repeating: 0xCC, count: offset - bytes.count)
        bytes += code
    }

    static func address(_ offset: Int) -> UInt64 { PVTestMachine.code + UInt64(offset) }
}

extension Asm {
    /// push imm32 (sign-extended)
    static func push(_ v: UInt32) -> [UInt8] { [0x68] + le(UInt64(v), 4) }
    /// mov r12, rsp
    static let movR12RSP: [UInt8] = [0x49, 0x89, 0xE4]
    /// mov r13, rax
    static let movR13RAX: [UInt8] = [0x49, 0x89, 0xC5]
    /// mov byte [rdi], imm8
    static func storeByteAtRDI(_ v: UInt8) -> [UInt8] { [0xC6, 0x07, v] }
    /// A trap_info entry {vector, flags, cs 0, address}.
    static func trapInfo(vector: UInt8, flags: UInt8, address: UInt64) -> [UInt8] {
        [vector, flags, 0, 0, 0, 0, 0, 0] + le(address, 8)
    }
    /// The iret hypercall with a frame pushed from immediates (values below 2^31).
    static func iret(rip: UInt32, cs: UInt32, rflags: UInt32, rsp: UInt32, ss: UInt32, flags: UInt32 = 0, rax: UInt32 = 0) -> [UInt8] {
        push(ss) + push(rsp) + push(rflags) + push(cs) + push(rip) + push(flags) + push(0) + push(0) + push(rax)
            + movRAX(23) + syscall
    }
}
