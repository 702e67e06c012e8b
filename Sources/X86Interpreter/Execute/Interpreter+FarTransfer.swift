import X86

extension Interpreter {
    /// Far JMP/CALL through a memory pointer and far RET, to code segments at the same
    /// privilege (and RET to an outer one). Call gates and task switches are not offered:
    /// they raise #GP as an absent gate would.
    func executeFarTransfer(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let next = nextRIP(p)
        let offsetSize: UInt8 = d.size == 8 ? 8 : (d.size == 2 ? 2 : 4)
        if d.op == .retFar {
            let popSize = d.size
            let target = try peek(size: popSize)
            let selector = UInt16(truncatingIfNeeded: try peek(size: popSize, offset: UInt64(popSize)))
            let rpl = UInt8(selector & 3)
            guard rpl >= cpl else { throw .generalProtection(UInt32(selector & ~3)) }
            let cs = try checkedCodeSegment(selector, newCPL: rpl)
            guard isCanonical(target) else { throw .generalProtection(0) }
            var sp = regs[GPR.rsp.rawValue] &+ 2 &* UInt64(popSize) &+ (d.immediate & 0xFFFF)
            if rpl > cpl {
                let newRSP = try peek(size: popSize, offset: 2 &* UInt64(popSize) &+ (d.immediate & 0xFFFF))
                let ssSel = UInt16(truncatingIfNeeded: try peek(size: popSize, offset: 3 &* UInt64(popSize) &+ (d.immediate & 0xFFFF)))
                try switchCodeAndStack(to: cs, stackSelector: ssSel)
                nullifyPrivilegedDataSegments()
                sp = newRSP &+ (d.immediate & 0xFFFF)
            } else {
                loadCodeSegment(cs)
            }
            regs[GPR.rsp.rawValue] = sp
            rip = target
            return
        }
        let la = effectiveAddress(p)
        let target = try read(la, offsetSize)
        let selector = UInt16(truncatingIfNeeded: try read(la &+ UInt64(offsetSize), 2))
        // A non-conforming target must be at CPL and not named with a weaker RPL.
        let cs = try checkedCodeSegment(selector, newCPL: cpl)
        if cs.type & 4 == 0 && UInt8(selector & 3) > cpl { throw .generalProtection(UInt32(selector & ~3)) }
        guard isCanonical(target) else { throw .generalProtection(0) }
        if d.op == .callFar {
            // CS and the return address are pushed at the operand size (4 bytes each for
            // m16:32, measured on the host CPU).
            let size = offsetSize
            try push(UInt64(arch[.cs].selector), size: size)
            do throws(CPUEvent) {
                try push(next, size: size)
            } catch {
                regs[GPR.rsp.rawValue] &+= UInt64(size)
                throw error
            }
        }
        var loaded = cs
        loaded.selector = (selector & ~3) | UInt16(cpl)
        loadCodeSegment(loaded)
        rip = target
    }

    /// Validates a code-segment selector for a transfer that ends at `newCPL`.
    func checkedCodeSegment(_ selector: UInt16, newCPL: UInt8) throws(CPUEvent) -> Segment {
        let code = UInt32(selector & ~3)
        guard selector & ~3 != 0, let desc = try readDescriptor(selector), desc.isCode else {
            throw .generalProtection(code)
        }
        if desc.isConforming {
            guard desc.dpl <= newCPL else { throw .generalProtection(code) }
        } else {
            guard desc.dpl == newCPL else { throw .generalProtection(code) }
        }
        guard desc.present else { throw .fault(X86Exception(vector: 11, errorCode: code)) }
        return desc.segment(selector: (selector & ~3) | UInt16(newCPL))
    }
}
