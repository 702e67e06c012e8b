import X86

/// FXSAVE, FXRSTOR, LDMXCSR and STMXCSR (SDM vol. 2): the 512-byte x87/SSE image and MXCSR.
extension Interpreter {
    func executeFXState(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let linear = effectiveAddress(p)
        let sse = arch.cr4.contains(.osfxsr)
        switch d.op {
        case .ldmxcsr, .stmxcsr:
            // SSE instructions: #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS.
            guard sse, !arch.cr0.contains(.emulation) else { throw .undefinedOpcode }
            if arch.cr0.contains(.taskSwitched) { throw .fault(.deviceNotAvailable) }
            if d.op == .stmxcsr {
                try write(linear, 4, UInt64(arch.fpu.mxcsr))
            } else {
                let value = UInt32(truncatingIfNeeded: try read(linear, 4))
                guard value & ~FPUState.mxcsrMask == 0 else { throw .generalProtection(0) }
                arch.fpu.mxcsr = value
            }
        default:
            if arch.cr0.contains(.emulation) || arch.cr0.contains(.taskSwitched) { throw .fault(.deviceNotAvailable) }
            guard linear & 15 == 0 else { throw .generalProtection(0) }
            if d.op == .fxsave {
                try fxsave(at: linear, format64: d.flags.contains(.rexW), sse: sse)
            } else {
                try fxrstor(from: linear, format64: d.flags.contains(.rexW), sse: sse)
            }
        }
    }

    /// Writes bytes 0-415 of the image (the rest is left alone, as on Intel processors);
    /// without CR4.OSFXSR the SSE part (MXCSR, MXCSR_MASK, XMM) is not written.
    private func fxsave(at linear: UInt64, format64: Bool, sse: Bool) throws(CPUEvent) {
        let user = cpl == 3
        try fill(linear, access: .write, user: user)
        try fill((linear &+ 415) & ~0xFFF, access: .write, user: user)
        typealias L = FPUState.FXSAVELayout
        let f = arch.fpu
        try write(linear, 2, UInt64(f.controlWord))
        try write(linear &+ 2, 2, UInt64(f.statusWord))
        try write(linear &+ 4, 2, UInt64(f.abridgedTags))
        try write(linear &+ 6, 2, UInt64(f.lastOpcode & 0x7FF))
        // The 32-bit format keeps 32 bits of each pointer and (zero) FCS and FDS.
        let mask: UInt64 = format64 ? ~0 : 0xFFFF_FFFF
        try write(linear &+ UInt64(L.instructionPointer), 8, f.lastInstructionPointer & mask)
        try write(linear &+ UInt64(L.dataPointer), 8, f.lastDataPointer & mask)
        if sse {
            try write(linear &+ UInt64(L.mxcsr), 4, UInt64(f.mxcsr))
            try write(linear &+ UInt64(L.mxcsrMask), 4, UInt64(FPUState.mxcsrMask))
            for i in 0..<16 {
                try write(linear &+ UInt64(L.xmm + 16 * i), 8, f.xmm[i].low)
                try write(linear &+ UInt64(L.xmm + 16 * i + 8), 8, f.xmm[i].high)
            }
        }
        for i in 0..<8 {
            let slot = linear &+ UInt64(L.registers + 16 * i)
            let r = f.st(i)
            try write(slot, 8, r.significand)
            try write(slot &+ 8, 8, UInt64(r.signExponent))
        }
    }

    /// Reads the whole image first; an MXCSR with reserved bits set is #GP(0) and changes
    /// nothing. The control word is loaded as FLDCW loads it, ES and B follow the flags.
    private func fxrstor(from linear: UInt64, format64: Bool, sse: Bool) throws(CPUEvent) {
        typealias L = FPUState.FXSAVELayout
        var f = arch.fpu
        let control = UInt16(truncatingIfNeeded: try read(linear, 2))
        f.statusWord = UInt16(truncatingIfNeeded: try read(linear &+ 2, 2))
        f.abridgedTags = UInt8(truncatingIfNeeded: try read(linear &+ 4, 1))
        f.lastOpcode = UInt16(truncatingIfNeeded: try read(linear &+ 6, 2)) & 0x7FF
        let mask: UInt64 = format64 ? ~0 : 0xFFFF_FFFF
        f.lastInstructionPointer = try read(linear &+ UInt64(L.instructionPointer), 8) & mask
        f.lastDataPointer = try read(linear &+ UInt64(L.dataPointer), 8) & mask
        for i in 0..<8 {
            let slot = linear &+ UInt64(L.registers + 16 * i)
            f.registers[(f.top + i) & 7] = X87Register(significand: try read(slot, 8), signExponent: UInt16(truncatingIfNeeded: try read(slot &+ 8, 2)))
        }
        if sse {
            let mxcsr = UInt32(truncatingIfNeeded: try read(linear &+ UInt64(L.mxcsr), 4))
            guard mxcsr & ~FPUState.mxcsrMask == 0 else { throw .generalProtection(0) }
            f.mxcsr = mxcsr
            for i in 0..<16 {
                f.xmm[i] = XMMRegister(low: try read(linear &+ UInt64(L.xmm + 16 * i), 8), high: try read(linear &+ UInt64(L.xmm + 16 * i + 8), 8))
            }
        }
        arch.fpu = f
        x87LoadControlWord(control)
    }
}
