import X86

extension Interpreter {
    /// IN/OUT. The CPU's own permission check comes first (#GP(0) when denied); then an
    /// intercepted port exits with the access, and any other port reads as all ones and
    /// discards writes (nothing is attached to it).
    func executePortIO(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size: UInt8 = d.size == 8 ? 4 : d.size
        let port = d.flags.contains(.sourceImmediate) ? UInt16(truncatingIfNeeded: d.immediate) : UInt16(truncatingIfNeeded: gpr(.rdx))
        let isWrite = d.op == .outPort
        try checkIOPrivilege(port: port, size: size)
        if intercepts.ioPorts.any(from: port, size: size) {
            let value = isWrite ? UInt32(truncatingIfNeeded: reg(0, size)) : 0
            throw .exit(.io(IOAccess(port: port, size: size, isWrite: isWrite, value: value), length: d.length))
        }
        if !isWrite { setReg(0, size, sizeMask(size)) }
    }

    /// The protected-mode I/O permission check (SDM vol. 1, 19.5): when CPL > IOPL every
    /// port of the access must be allowed by the I/O bitmap of the 64-bit TSS (a clear bit).
    /// Bits beyond the TSS limit deny, as does a TSS too short to hold the bitmap base.
    func checkIOPermission(port: UInt16, size: UInt8) throws(CPUEvent) {
        let iopl = UInt8((flagsBase >> 12) & 3)
        guard cpl > iopl else { return }
        let tss = arch.tr
        let limit = UInt64(tss.limit)
        guard tss.present, limit >= 0x67 else { throw .generalProtection(0) }
        let mapBase = try readSystem(tss.base &+ 0x66, 2)
        let firstByte = mapBase &+ UInt64(port >> 3)
        // The check reads two bytes so that accesses spanning a byte boundary are covered.
        guard firstByte &+ 1 <= limit else { throw .generalProtection(0) }
        let bits = try readSystem(tss.base &+ firstByte, 2)
        let mask = ((UInt64(1) << UInt64(size)) - 1) << UInt64(port & 7)
        guard bits & mask == 0 else { throw .generalProtection(0) }
    }

    /// Used by INS/OUTS too.
    func checkIOPrivilege(port: UInt16, size: UInt8) throws(CPUEvent) {
        try checkIOPermission(port: port, size: size)
    }
}
