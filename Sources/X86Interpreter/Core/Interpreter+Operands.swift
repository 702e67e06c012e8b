import X86

extension Interpreter {
    /// Reads register `r` at `size` bytes; 16...19 are AH, CH, DH, BH.
    @inline(__always)
    func reg(_ r: UInt8, _ size: UInt8) -> UInt64 {
        if size == 8 { return regs[Int(r & 15)] }
        if size == 1 && r >= 16 { return (regs[Int(r & 3)] >> 8) & 0xFF }
        return regs[Int(r & 15)] & sizeMask(size)
    }

    /// Writes register `r` with x86-64 semantics: 32-bit writes zero the upper half, 8- and
    /// 16-bit writes merge.
    @inline(__always)
    func setReg(_ r: UInt8, _ size: UInt8, _ v: UInt64) {
        switch size {
        case 8: regs[Int(r & 15)] = v
        case 4: regs[Int(r & 15)] = v & 0xFFFF_FFFF
        case 2: regs[Int(r & 15)] = (regs[Int(r & 15)] & ~0xFFFF) | (v & 0xFFFF)
        default:
            if r >= 16 {
                let i = Int(r & 3)
                regs[i] = (regs[i] & ~0xFF00) | ((v & 0xFF) << 8)
            } else {
                regs[Int(r & 15)] = (regs[Int(r & 15)] & ~0xFF) | (v & 0xFF)
            }
        }
    }

    @inline(__always) func gpr(_ r: GPR) -> UInt64 { regs[r.rawValue] }
    @inline(__always) func setGPR(_ r: GPR, _ v: UInt64) { regs[r.rawValue] = v }

    /// The linear address of the memory operand: segment base (FS/GS only in 64-bit mode)
    /// plus the effective address truncated to the address size.
    @inline(__always)
    func effectiveAddress(_ p: UnsafePointer<DecodedInstruction>) -> UInt64 {
        let d = p.pointee
        // Absent registers read the zero slots 30 and 31 (see `regs`).
        var ea = d.displacement &+ regs[Int(d.base & 31)] &+ (regs[Int(d.index & 31)] &<< UInt64(d.scale & 3))
        if d.base == DecodedInstruction.ripBase { ea &+= rip &+ UInt64(d.length) }
        if d.addressSize != 8 { ea &= d.addressSize == 4 ? 0xFFFF_FFFF : 0xFFFF }
        if d.segment != DecodedInstruction.noRegister { ea &+= segmentBase(d.segment) }
        return ea
    }

    @inline(__always)
    func segmentBase(_ s: UInt8) -> UInt64 {
        if s == UInt8(SegmentRegister.fs.rawValue) { return fsBase }
        if s == UInt8(SegmentRegister.gs.rawValue) { return gsBase }
        return 0
    }

    /// Reads the E operand (register or memory) at the instruction's operand size.
    @inline(__always)
    func readE(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) -> UInt64 {
        let d = p.pointee
        if d.flags.contains(.memory) { return try read(effectiveAddress(p), d.size) }
        return reg(d.rm, d.size)
    }

    @inline(__always)
    func readE(_ p: UnsafePointer<DecodedInstruction>, size: UInt8) throws(CPUEvent) -> UInt64 {
        let d = p.pointee
        if d.flags.contains(.memory) { return try read(effectiveAddress(p), size) }
        return reg(d.rm, size)
    }

    @inline(__always)
    func writeE(_ p: UnsafePointer<DecodedInstruction>, _ v: UInt64) throws(CPUEvent) {
        let d = p.pointee
        if d.flags.contains(.memory) { try write(effectiveAddress(p), d.size, v) } else { setReg(d.rm, d.size, v) }
    }

    /// The source operand of a two-operand instruction: the immediate, G, or E.
    @inline(__always)
    func source(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) -> UInt64 {
        let d = p.pointee
        if d.flags.contains(.sourceImmediate) { return d.immediate & sizeMask(d.size) }
        if d.flags.contains(.regIsDestination) { return try readE(p) }
        return reg(d.reg, d.size)
    }

    /// The address after this instruction.
    @inline(__always) func nextRIP(_ p: UnsafePointer<DecodedInstruction>) -> UInt64 {
        rip &+ UInt64(p.pointee.length)
    }

    /// Applies `transform` to the E operand as one read-modify-write; atomically when the
    /// instruction has LOCK (or is XCHG with memory) and the operand does not cross a page.
    @inline(__always)
    func modifyE(_ p: UnsafePointer<DecodedInstruction>, atomic: Bool = false, _ transform: (UInt64) -> UInt64) throws(CPUEvent) -> (old: UInt64, new: UInt64) {
        let d = p.pointee
        if !d.flags.contains(.memory) {
            let old = reg(d.rm, d.size)
            let new = transform(old)
            setReg(d.rm, d.size, new)
            return (old, new)
        }
        return try modifyMemory(effectiveAddress(p), d.size, atomic: atomic || d.flags.contains(.lock), transform)
    }

    /// One read-modify-write of `size` bytes at linear `la`, translated for writing first (so
    /// a read-only page faults as a write); atomic when asked and within one page.
    @inline(__always)
    func modifyMemory(_ la: UInt64, _ size: UInt8, atomic: Bool, _ transform: (UInt64) -> UInt64) throws(CPUEvent) -> (old: UInt64, new: UInt64) {
        if let ptr = try writablePointer(la, size) {
            if atomic { return Self.atomicModify(ptr, size, transform) }
            let old = Self.load(ptr, size)
            let new = transform(old)
            Self.store(ptr, size, new)
            return (old, new)
        }
        let old = try read(la, size)
        let new = transform(old)
        try write(la, size, new)
        return (old, new)
    }
}
