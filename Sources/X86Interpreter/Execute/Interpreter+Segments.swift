import X86

extension Interpreter {
    /// MOV Sreg, r/m; MOV r/m, Sreg; PUSH/POP FS/GS.
    func executeSegmentMove(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        switch d.op {
        case .movFromSegment:
            let selector = UInt64(arch.segments[Int(d.reg & 7) % 6].selector)
            // A register destination takes the operand size (zero-extended); memory is 16 bits.
            if d.flags.contains(.memory) { try write(effectiveAddress(p), 2, selector) } else { setReg(d.rm, d.size, selector) }
        case .pushSegment:
            let s = d.sub == 4 ? SegmentRegister.fs : .gs
            try push(UInt64(arch[s].selector), size: d.size)
        case .popSegment:
            let s = d.sub == 4 ? SegmentRegister.fs : .gs
            let selector = UInt16(truncatingIfNeeded: try peek(size: d.size))
            try loadSegment(s, selector: selector)
            regs[GPR.rsp.rawValue] &+= UInt64(d.size)
        default:  // .movToSegment
            guard let s = SegmentRegister(rawValue: Int(d.reg & 7)), s != .cs else { throw .undefinedOpcode }
            try loadSegment(s, selector: UInt16(truncatingIfNeeded: try readE(p, size: 2)))
            // MOV SS holds interrupts off for one instruction (so that MOV SS; MOV RSP is safe).
            if s == .ss { openInterruptShadow() }
        }
    }

    /// Loads a data or stack segment register with the protected-mode checks (SDM vol. 3,
    /// 5.5-5.7). In 64-bit mode a null selector is allowed except in SS at CPL 3.
    func loadSegment(_ s: SegmentRegister, selector: UInt16) throws(CPUEvent) {
        let rpl = UInt8(selector & 3)
        let code = UInt32(selector & ~3)
        if selector & ~3 == 0 {
            if s == .ss && (cpl == 3 || rpl != cpl) { throw .generalProtection(0) }
            arch[s] = .null(selector: selector)
        } else {
            guard let desc = try readDescriptor(selector) else { throw .generalProtection(code) }
            if s == .ss {
                guard rpl == cpl, desc.dpl == cpl, desc.isWritableData else { throw .generalProtection(code) }
                guard desc.present else { throw .fault(.stackFault(code)) }
            } else {
                guard desc.isReadable else { throw .generalProtection(code) }
                if !desc.isConforming && max(cpl, rpl) > desc.dpl { throw .generalProtection(code) }
                guard desc.present else { throw .fault(X86Exception(vector: 11, errorCode: code)) }
            }
            arch[s] = desc.segment(selector: selector)
        }
        if s == .fs { fsBase = arch[s].base }
        if s == .gs { gsBase = arch[s].base }
    }

    /// After a return to an outer privilege level, ES/DS/FS/GS holding data or non-conforming
    /// code segments more privileged than the new CPL become null (SDM vol. 2, IRET and RET),
    /// so the outer level cannot use them. FS/GS keep their bases: in 64-bit mode those
    /// usually come from the MSRs, not from the descriptor.
    func nullifyPrivilegedDataSegments() {
        for s in [SegmentRegister.es, .ds, .fs, .gs] {
            let seg = arch[s]
            guard seg.usable, seg.attributes & 0x10 != 0 else { continue }
            let conformingCode = seg.type & 0xC == 0xC
            if !conformingCode && seg.dpl < cpl {
                var n = Segment.null()
                n.base = seg.base
                arch[s] = n
            }
        }
    }
}
