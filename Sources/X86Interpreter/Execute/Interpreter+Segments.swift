import X86

extension Interpreter {
    /// LGDT LIDT SGDT SIDT LLDT SLDT LTR STR.
    func executeDescriptorTable(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        switch d.op {
        case .sgdt, .sidt:
            // Readable at any CPL unless CR4.UMIP: the classic non-virtualizable instructions.
            if arch.cr4.contains(.umip) && cpl > 0 { throw .generalProtection(0) }
            let t = d.op == .sgdt ? arch.gdtr : arch.idtr
            let la = effectiveAddress(p)
            try probeWrite(la, 8, user: cpl == 3)
            try write(la, 2, UInt64(t.limit))
            try write(la &+ 2, 8, t.base)
        case .lgdt, .lidt:
            try requireCPL0()
            let la = effectiveAddress(p)
            let limit = UInt16(truncatingIfNeeded: try read(la, 2))
            let base = try read(la &+ 2, 8)
            guard isCanonical(base) else { throw .generalProtection(0) }
            if d.op == .lgdt { arch.gdtr = DescriptorTableRegister(base: base, limit: limit) }
            else { arch.idtr = DescriptorTableRegister(base: base, limit: limit) }
        case .sldt, .str:
            if arch.cr4.contains(.umip) && cpl > 0 { throw .generalProtection(0) }
            try writeE(p, UInt64(d.op == .sldt ? arch.ldtr.selector : arch.tr.selector))
        case .lldt:
            try requireCPL0()
            let selector = UInt16(truncatingIfNeeded: try readE(p, size: 2))
            if selector & ~3 == 0 {
                arch.ldtr = .null(selector: selector)
                return
            }
            guard selector & 4 == 0, let low = try readDescriptor(selector), let high = try readDescriptorHigh(selector),
                low.isSystem, low.type == 2
            else { throw .generalProtection(UInt32(selector & ~3)) }
            guard low.present else { throw .fault(X86Exception(vector: 11, errorCode: UInt32(selector & ~3))) }
            var s = low.segment(selector: selector)
            s.base |= (high & 0xFFFF_FFFF) << 32
            arch.ldtr = s
        default:  // .ltr
            try requireCPL0()
            let selector = UInt16(truncatingIfNeeded: try readE(p, size: 2))
            guard selector & ~3 != 0, selector & 4 == 0, let low = try readDescriptor(selector),
                let high = try readDescriptorHigh(selector), low.isSystem, low.type == 9
            else { throw .generalProtection(UInt32(selector & ~3)) }
            guard low.present else { throw .fault(X86Exception(vector: 11, errorCode: UInt32(selector & ~3))) }
            // Mark the TSS busy in the GDT, as the CPU does.
            try writeSystem(arch.gdtr.base &+ UInt64(selector & ~7), 8, low.raw | (2 << 40))
            var s = Descriptor(raw: low.raw | (2 << 40)).segment(selector: selector)
            s.base |= (high & 0xFFFF_FFFF) << 32
            arch.tr = s
        }
    }

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
        if s == .ss { interruptShadowEnd = retiredInstructions &+ 2 }
    }

    /// LAR LSL VERR VERW: ZF reports whether the selector passes the checks.
    func executeDescriptorQuery(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let selector = UInt16(truncatingIfNeeded: try readE(p, size: 2))
        var ok = false
        if selector & ~3 != 0, let desc = try readDescriptor(selector) {
            let rpl = UInt8(selector & 3)
            let visible = desc.isConforming || max(cpl, rpl) <= desc.dpl
            switch d.op {
            case .lar:
                // Code/data, or the system types LAR accepts in 64-bit mode (LDT, TSS).
                ok = visible && (!desc.isSystem || [2, 9, 11].contains(desc.type))
                if ok { setReg(d.reg, d.size, (desc.raw >> 32) & 0x00F0_FF00) }
            case .lsl:
                ok = visible && (!desc.isSystem || [2, 9, 11].contains(desc.type))
                if ok { setReg(d.reg, d.size, UInt64(desc.limit)) }
            case .verr:
                ok = visible && desc.isReadable
            default:
                ok = visible && desc.isWritableData
            }
        }
        setStatusFlags(ok ? Self.ZF : 0, mask: Self.ZF)
    }

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
                loadCodeSegment(cs)
                try loadSegment(.ss, selector: ssSel)
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
        let cs = try checkedCodeSegment(selector, newCPL: cpl)
        guard isCanonical(target) else { throw .generalProtection(0) }
        if d.op == .callFar {
            let size = d.size == 2 ? UInt8(2) : 8
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
