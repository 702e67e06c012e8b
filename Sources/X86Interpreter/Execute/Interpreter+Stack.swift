import X86

extension Interpreter {
    /// Pushes `size` bytes. A non-canonical stack address is #SS(0); RSP changes only after
    /// the store succeeded.
    @inline(__always)
    func push(_ value: UInt64, size: UInt8) throws(CPUEvent) {
        let sp = regs[GPR.rsp.rawValue] &- UInt64(size)
        guard isCanonical(sp) else { throw .fault(.stackFault(0)) }
        try write(sp, size, value)
        regs[GPR.rsp.rawValue] = sp
    }

    /// Pops `size` bytes (RSP is updated by the caller via `commitPop` so that a fault in a
    /// later step leaves it unchanged).
    @inline(__always)
    func peek(size: UInt8, offset: UInt64 = 0) throws(CPUEvent) -> UInt64 {
        let sp = regs[GPR.rsp.rawValue] &+ offset
        guard isCanonical(sp) else { throw .fault(.stackFault(0)) }
        return try read(sp, size)
    }

    @inline(__always)
    func pop(size: UInt8) throws(CPUEvent) -> UInt64 {
        let v = try peek(size: size)
        regs[GPR.rsp.rawValue] &+= UInt64(size)
        return v
    }

    func executePush(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let v: UInt64
        if d.flags.contains(.sourceImmediate) {
            v = d.immediate & sizeMask(d.size)
        } else {
            v = try readE(p)  // PUSH RSP pushes the value before the decrement
        }
        try push(v, size: d.size)
    }

    func executePop(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let v = try peek(size: d.size)
        if d.flags.contains(.memory) {
            // POP m computes its address with RSP already incremented.
            let saved = regs[GPR.rsp.rawValue]
            regs[GPR.rsp.rawValue] = saved &+ UInt64(d.size)
            do throws(CPUEvent) {
                try writeE(p, v)
            } catch {
                regs[GPR.rsp.rawValue] = saved
                throw error
            }
        } else {
            regs[GPR.rsp.rawValue] &+= UInt64(d.size)
            setReg(d.rm, d.size, v)  // POP RSP loads the popped value
        }
    }

    func executeEnter(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let allocation = d.immediate & 0xFFFF
        let level = d.displacement & 31
        let savedRSP = regs[GPR.rsp.rawValue]
        let savedRBP = regs[GPR.rbp.rawValue]
        do throws(CPUEvent) {
            try push(reg(GPR.rbp.rawValue.asUInt8, size), size: size)
            let frameTemp = regs[GPR.rsp.rawValue]
            if level > 0 {
                var rbp = savedRBP
                for _ in 1..<level {
                    rbp &-= UInt64(size)
                    try push(try read(rbp, size), size: size)
                }
                try push(frameTemp, size: size)
            }
            let newRSP = regs[GPR.rsp.rawValue] &- allocation
            // The new stack top must be writable, as the CPU checks it.
            guard isCanonical(newRSP) else { throw CPUEvent.fault(.stackFault(0)) }
            setReg(GPR.rbp.rawValue.asUInt8, size, frameTemp)
            regs[GPR.rsp.rawValue] = newRSP
        } catch {
            regs[GPR.rsp.rawValue] = savedRSP
            regs[GPR.rbp.rawValue] = savedRBP
            throw error
        }
    }

    func executeLeave(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let size = p.pointee.size
        let rbp = regs[GPR.rbp.rawValue]
        guard isCanonical(rbp) else { throw .fault(.stackFault(0)) }
        let v = try read(rbp, size)
        regs[GPR.rsp.rawValue] = rbp &+ UInt64(size)
        setReg(GPR.rbp.rawValue.asUInt8, size, v)
    }
}

extension Int {
    var asUInt8: UInt8 { UInt8(truncatingIfNeeded: self) }
}
