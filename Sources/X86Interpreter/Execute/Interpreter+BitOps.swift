import X86

extension Interpreter {
    /// BT BTS BTR BTC (sub 0...3). CF receives the selected bit; ZF is unchanged and the
    /// other status flags, undefined by the SDM, are left as they were.
    /// With a register bit offset and a memory operand the offset is a signed index that may
    /// reach outside the operand: the accessed unit moves by `offset >> log2(bits)` units.
    func executeBitTest(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let bits = UInt64(d.size) * 8
        let rawOffset = d.flags.contains(.sourceImmediate) ? d.immediate : reg(d.reg, d.size)
        let kind = d.sub & 3
        var bit = rawOffset & (bits - 1)
        let transform: (UInt64) -> UInt64 = { v in
            switch kind {
            case 1: v | (1 << bit)
            case 2: v & ~(1 << bit)
            case 3: v ^ (1 << bit)
            default: v
            }
        }
        let old: UInt64
        if !d.flags.contains(.memory) {
            old = reg(d.rm, d.size)
            if kind != 0 { setReg(d.rm, d.size, transform(old)) }
        } else {
            var la = effectiveAddress(p)
            if !d.flags.contains(.sourceImmediate) {
                let signed = Int64(bitPattern: signExtend(rawOffset, from: d.size))
                let shift = Int64(bits.trailingZeroBitCount)
                la &+= UInt64(bitPattern: (signed >> shift) &* Int64(d.size))
                bit = UInt64(bitPattern: signed) & (bits - 1)
            }
            if kind == 0 {
                old = try read(la, d.size)
            } else {
                old = try modifyMemory(la, d.size, atomic: d.flags.contains(.lock), transform).old
            }
        }
        setStatusFlags((old >> bit) & 1 != 0 ? Self.CF : 0, mask: Self.CF)
    }

    /// BSF BSR TZCNT LZCNT POPCNT.
    func executeBitScan(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let bits = UInt64(d.size) * 8
        let v = try readE(p)
        switch d.op {
        case .bsf, .bsr:
            // A zero source sets ZF and leaves the whole destination register unchanged
            // (documented by AMD, done by Intel processors).
            guard v != 0 else {
                setStatusFlags(Self.ZF, mask: Self.ZF)
                return
            }
            let index = d.op == .bsf ? UInt64(v.trailingZeroBitCount) : 63 - UInt64(v.leadingZeroBitCount)
            setReg(d.reg, d.size, index)
            setStatusFlags(0, mask: Self.ZF)
        case .tzcnt, .lzcnt:
            let count = v == 0 ? bits
                : (d.op == .tzcnt ? UInt64(v.trailingZeroBitCount) : UInt64(v.leadingZeroBitCount) - (64 - bits))
            setReg(d.reg, d.size, count)
            setStatusFlags((v == 0 ? Self.CF : 0) | (count == 0 ? Self.ZF : 0), mask: Self.CF | Self.ZF)
        default:  // POPCNT
            setReg(d.reg, d.size, UInt64(v.nonzeroBitCount))
            setStatusFlags(v == 0 ? Self.ZF : 0, mask: Self.statusMask)
        }
    }
}
