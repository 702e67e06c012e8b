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
            try probeWrite(la, 10, user: cpl == 3)  // 2-byte limit and 8-byte base
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
            guard isCanonical(s.base) else { throw .generalProtection(UInt32(selector & ~3)) }
            arch.ldtr = s
        default:  // .ltr
            try requireCPL0()
            let selector = UInt16(truncatingIfNeeded: try readE(p, size: 2))
            guard selector & ~3 != 0, selector & 4 == 0, let low = try readDescriptor(selector),
                let high = try readDescriptorHigh(selector), low.isSystem, low.type == 9
            else { throw .generalProtection(UInt32(selector & ~3)) }
            guard low.present else { throw .fault(X86Exception(vector: 11, errorCode: UInt32(selector & ~3))) }
            var s = Descriptor(raw: low.raw | (2 << 40)).segment(selector: selector)
            s.base |= (high & 0xFFFF_FFFF) << 32
            guard isCanonical(s.base) else { throw .generalProtection(UInt32(selector & ~3)) }
            // Mark the TSS busy in the GDT, as the CPU does.
            try writeSystem(arch.gdtr.base &+ UInt64(selector & ~7), 8, low.raw | (2 << 40))
            arch.tr = s
        }
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
                // In 64-bit mode: LDT, 64-bit TSS (available or busy) and 64-bit call gate.
                ok = visible && (!desc.isSystem || [2, 9, 11, 12].contains(desc.type))
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
}
