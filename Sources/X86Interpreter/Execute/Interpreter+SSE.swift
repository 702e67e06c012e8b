import X86

/// SSE/SSE2 data movement, logic and packed-integer instructions (see `SSEOperation`).
extension Interpreter {
    func executeSSE(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        // SSE needs CR4.OSFXSR and CR0.EM clear (#UD); CR0.TS defers to the OS (#NM).
        guard arch.cr4.contains(.osfxsr), !arch.cr0.contains(.emulation) else { throw .undefinedOpcode }
        if arch.cr0.contains(.taskSwitched) { throw .fault(.deviceNotAvailable) }
        let d = p.pointee
        guard let op = SSEOperation(rawValue: d.sub) else { throw .undefinedOpcode }
        if try executeSSEFloat(p, op) { return }
        let r = Int(d.reg & 15)
        let m = Int(d.rm & 15)
        let memory = d.flags.contains(.memory)
        switch op {
        case .maskmovdqu:
            try maskedStore(p)
        case .movups, .movaps, .movdqu, .movdqa:
            arch.fpu.xmm[r] = try sseSource(p)
        case .movupsStore, .movapsStore, .movdquStore, .movdqaStore, .movntps, .movntdq:
            try sseStore(p, arch.fpu.xmm[r])
        case .movss, .movsd:
            let bits: UInt64 = op == .movss ? 0xFFFF_FFFF : ~0
            if memory {
                arch.fpu.xmm[r] = XMMRegister(low: try read(effectiveAddress(p), d.size))
            } else {
                arch.fpu.xmm[r].low = (arch.fpu.xmm[r].low & ~bits) | (arch.fpu.xmm[m].low & bits)
            }
        case .movssStore, .movsdStore:
            let bits: UInt64 = op == .movssStore ? 0xFFFF_FFFF : ~0
            if memory {
                try write(effectiveAddress(p), d.size, arch.fpu.xmm[r].low)
            } else {
                arch.fpu.xmm[m].low = (arch.fpu.xmm[m].low & ~bits) | (arch.fpu.xmm[r].low & bits)
            }
        case .movdToXMM:
            arch.fpu.xmm[r] = XMMRegister(low: try readE(p, size: d.size))
        case .movdFromXMM:
            try writeE(p, arch.fpu.xmm[r].low & sizeMask(d.size))
        case .movqToXMM:
            arch.fpu.xmm[r] = XMMRegister(low: memory ? try read(effectiveAddress(p), 8) : arch.fpu.xmm[m].low)
        case .movqStore:
            if memory { try write(effectiveAddress(p), 8, arch.fpu.xmm[r].low) } else { arch.fpu.xmm[m] = XMMRegister(low: arch.fpu.xmm[r].low) }
        case .movlps:  // register form: MOVHLPS
            arch.fpu.xmm[r].low = memory ? try read(effectiveAddress(p), 8) : arch.fpu.xmm[m].high
        case .movhps:  // register form: MOVLHPS
            arch.fpu.xmm[r].high = memory ? try read(effectiveAddress(p), 8) : arch.fpu.xmm[m].low
        case .movlpsStore:
            try write(effectiveAddress(p), 8, arch.fpu.xmm[r].low)
        case .movhpsStore:
            try write(effectiveAddress(p), 8, arch.fpu.xmm[r].high)
        case .movmskps, .movmskpd, .pmovmskb:
            let v = arch.fpu.xmm[m]
            let mask: UInt64 = switch op {
            case .movmskps: (0..<4).reduce(0) { $0 | UInt64(v.dwords[$1] >> 31) << UInt64($1) }
            case .movmskpd: (v.low >> 63) | (v.high >> 63) << 1
            default: (0..<16).reduce(0) { $0 | UInt64(v.bytes[$1] >> 7) << UInt64($1) }
            }
            setReg(d.reg, 4, mask)
        case .pextrw:
            setReg(d.reg, 4, UInt64(arch.fpu.xmm[m].words[Int(d.immediate & 7)]))
        case .pinsrw:
            let value = memory ? try read(effectiveAddress(p), 2) : reg(d.rm, 2)
            arch.fpu.xmm[r].words[Int(d.immediate & 7)] = UInt16(truncatingIfNeeded: value)
        case .psrlwImm, .psrldImm, .psrlqImm, .psrawImm, .psradImm, .psllwImm, .pslldImm, .psllqImm, .psrldq, .pslldq:
            arch.fpu.xmm[m] = Self.sseShift(op, arch.fpu.xmm[m], count: d.immediate & 0xFF)
        default:
            let b = try sseSource(p)
            arch.fpu.xmm[r] = Self.ssePacked(op, arch.fpu.xmm[r], b, immediate: UInt8(truncatingIfNeeded: d.immediate))
        }
    }

    /// The XMM or m128 source (r/m): a misaligned memory operand of an aligned form is #GP(0).
    func sseSource(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) -> XMMRegister {
        let d = p.pointee
        guard d.flags.contains(.memory) else { return arch.fpu.xmm[Int(d.rm & 15)] }
        let linear = effectiveAddress(p)
        if d.flags.contains(.aligned16) && linear & 15 != 0 { throw .generalProtection(0) }
        if d.size != 16 { return XMMRegister(low: try read(linear, d.size)) }
        return XMMRegister(low: try read(linear, 8), high: try read(linear &+ 8, 8))
    }

    /// Writes the r/m XMM register or m128 (both halves checked writable first).
    func sseStore(_ p: UnsafePointer<DecodedInstruction>, _ v: XMMRegister) throws(CPUEvent) {
        let d = p.pointee
        guard d.flags.contains(.memory) else {
            arch.fpu.xmm[Int(d.rm & 15)] = v
            return
        }
        let linear = effectiveAddress(p)
        if d.flags.contains(.aligned16) && linear & 15 != 0 { throw .generalProtection(0) }
        try probeWrite(linear, 16, user: cpl == 3)
        try write(linear, 8, v.low)
        try write(linear &+ 8, 8, v.high)
    }
}
