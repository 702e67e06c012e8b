import X86

extension Interpreter {
    /// Near JMP/CALL/RET and LOOP/JRCXZ. A target that is not canonical raises #GP(0) with
    /// RIP still at the branch (the CPU checks before committing).
    @inline(__always)
    func executeBranch(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let next = nextRIP(p)
        var target: UInt64
        switch d.op {
        case .jmpRel:
            target = next &+ d.immediate
        case .callRel:
            target = next &+ d.immediate
            if d.size == 2 { target &= 0xFFFF }
            guard isCanonical(target) else { throw .generalProtection(0) }
            try push(next, size: d.size)
            rip = target
            return
        case .jmpIndirect:
            target = try readE(p)
        case .callIndirect:
            target = try readE(p)
            guard isCanonical(target) else { throw .generalProtection(0) }
            try push(next, size: d.size)
            rip = target
            return
        case .ret:
            target = try peek(size: d.size)
            if d.size == 2 { target &= 0xFFFF }
            guard isCanonical(target) else { throw .generalProtection(0) }
            regs[GPR.rsp.rawValue] &+= UInt64(d.size) &+ (d.immediate & 0xFFFF)
            rip = target
            return
        default:  // .loop
            let counterSize: UInt8 = d.addressSize
            var count = reg(1, counterSize)
            let taken: Bool
            if d.sub == 3 {
                taken = count == 0
            } else {
                count = (count &- 1) & sizeMask(counterSize)
                setReg(1, counterSize, count)
                switch d.sub {
                case 0: taken = count != 0 && !zeroFlag
                case 1: taken = count != 0 && zeroFlag
                default: taken = count != 0
                }
            }
            target = taken ? next &+ d.immediate : next
        }
        if d.size == 2 { target &= 0xFFFF }
        guard isCanonical(target) else { throw .generalProtection(0) }
        rip = target
    }

    func executePushf(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        // VM and RF are never pushed (they read as 0 in the image).
        try push(rflags & ~(RFlags.resume.rawValue | RFlags.virtual8086.rawValue) & sizeMask(p.pointee.size), size: p.pointee.size)
    }

    /// POPF: which bits change depends on CPL and IOPL — at CPL > 0 IOPL is silently kept, and
    /// at CPL > IOPL IF is silently kept (the classic non-virtualizable behaviour).
    func executePopf(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let size = p.pointee.size
        let v = try peek(size: size)
        regs[GPR.rsp.rawValue] &+= UInt64(size)
        var changeable: UInt64 = Self.statusMask | Self.TF | Self.DF | RFlags.nestedTask.rawValue
            | RFlags.alignmentCheck.rawValue | RFlags.id.rawValue
        let iopl = UInt8((flagsBase >> 12) & 3)
        if cpl == 0 { changeable |= RFlags.iopl.rawValue }
        if cpl <= iopl { changeable |= Self.IF }
        if size == 2 { changeable &= 0xFFFF }
        materializeFlags()
        flagsBase = ((flagsBase & ~changeable) | (v & changeable)) | 2
    }
}
