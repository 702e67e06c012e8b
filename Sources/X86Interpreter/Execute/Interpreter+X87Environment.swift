import X86

/// FNSTENV, FLDENV, FNSAVE and FRSTOR (SDM vol. 1, 8.1.10 and figures 8-9 to 8-12): the
/// protected-mode environment, 28 bytes (14 with a 16-bit operand size), then for
/// FNSAVE/FRSTOR the eight registers ST(0)-ST(7), 10 bytes each. FCS and FDS are stored as
/// zero (deprecated). Everything is read, or checked writable, before anything changes.
extension Interpreter {
    /// The environment's 16-bit-format size in bytes, or the 32-bit one.
    func x87EnvironmentSize(_ p: UnsafePointer<DecodedInstruction>) -> UInt64 { p.pointee.size == 2 ? 14 : 28 }

    func x87StoreEnvironment(_ p: UnsafePointer<DecodedInstruction>, at linear: UInt64) throws(CPUEvent) {
        let size = x87EnvironmentSize(p)
        try probeWrite(linear, UInt8(size), user: cpl == 3)
        try x87WriteEnvironment(linear, small: size == 14)
    }

    private func x87WriteEnvironment(_ linear: UInt64, small: Bool) throws(CPUEvent) {
        let f = arch.fpu
        if small {
            let words: [UInt16] = [f.controlWord, f.statusWord, x87TagWord, UInt16(truncatingIfNeeded: f.lastInstructionPointer), 0,
                                   UInt16(truncatingIfNeeded: f.lastDataPointer), 0]
            for (i, w) in words.enumerated() { try write(linear &+ UInt64(2 * i), 2, UInt64(w)) }
            return
        }
        // The unused upper halves of the first three doublewords read as ones on Intel.
        let dwords: [UInt32] = [
            0xFFFF_0000 | UInt32(f.controlWord), 0xFFFF_0000 | UInt32(f.statusWord), 0xFFFF_0000 | UInt32(x87TagWord),
            UInt32(truncatingIfNeeded: f.lastInstructionPointer), UInt32(f.lastOpcode & 0x7FF) << 16,
            UInt32(truncatingIfNeeded: f.lastDataPointer), 0xFFFF_0000,
        ]
        for (i, w) in dwords.enumerated() { try write(linear &+ UInt64(4 * i), 4, UInt64(w)) }
    }

    func x87LoadEnvironment(_ p: UnsafePointer<DecodedInstruction>, at linear: UInt64) throws(CPUEvent) {
        let env = try x87ReadEnvironment(linear, small: x87EnvironmentSize(p) == 14)
        x87Apply(env)
    }

    /// The fields of an environment image.
    struct X87Environment {
        var control: UInt16, status: UInt16, tags: UInt16, opcode: UInt16
        var instruction: UInt64, data: UInt64
    }

    private func x87ReadEnvironment(_ linear: UInt64, small: Bool) throws(CPUEvent) -> X87Environment {
        let step: UInt64 = small ? 2 : 4
        func field(_ i: UInt64) throws(CPUEvent) -> UInt64 { try read(linear &+ i &* step, UInt8(step)) }
        let control = UInt16(truncatingIfNeeded: try field(0))
        let status = UInt16(truncatingIfNeeded: try field(1))
        let tags = UInt16(truncatingIfNeeded: try field(2))
        let instruction = try field(3)
        let opcode = small ? 0 : UInt16(truncatingIfNeeded: try field(4) >> 16) & 0x7FF
        let data = try field(5)
        return X87Environment(control: control, status: status, tags: tags, opcode: opcode, instruction: instruction, data: data)
    }

    private func x87Apply(_ env: X87Environment) {
        arch.fpu.statusWord = env.status
        var abridged: UInt8 = 0
        for r in 0..<8 where (env.tags >> UInt16(2 * r)) & 3 != 3 { abridged |= 1 << UInt8(r) }
        arch.fpu.abridgedTags = abridged
        arch.fpu.lastOpcode = env.opcode
        arch.fpu.lastInstructionPointer = env.instruction
        arch.fpu.lastDataPointer = env.data
        x87LoadControlWord(env.control)
    }

    /// FNSAVE: the environment and registers, then FNINIT.
    func x87Save(_ p: UnsafePointer<DecodedInstruction>, at linear: UInt64) throws(CPUEvent) {
        let envSize = x87EnvironmentSize(p)
        try probeWrite(linear, UInt8(envSize + 80), user: cpl == 3)
        try x87WriteEnvironment(linear, small: envSize == 14)
        for i in 0..<8 { try writeExtended(linear &+ envSize &+ UInt64(10 * i), x87Get(i)) }
        x87Initialize()
    }

    /// FRSTOR: the environment and registers.
    func x87Restore(_ p: UnsafePointer<DecodedInstruction>, at linear: UInt64) throws(CPUEvent) {
        let envSize = x87EnvironmentSize(p)
        let env = try x87ReadEnvironment(linear, small: envSize == 14)
        var values: [8 of X87Register] = .init(repeating: .zero)
        for i in 0..<8 { values[i] = try readExtended(linear &+ envSize &+ UInt64(10 * i)) }
        x87Apply(env)
        for i in 0..<8 { arch.fpu.registers[x87Physical(i)] = values[i] }
    }
}
