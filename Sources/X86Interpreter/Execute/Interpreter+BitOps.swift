import X86

extension Interpreter {
    /// BT BTS BTR BTC (sub 0...3). CF receives the selected bit; ZF is kept and the other
    /// status flags are left as they were (the SDM leaves them undefined).
    ///
    /// An immediate bit offset is taken modulo the operand width. A register offset into a
    /// register operand likewise; into memory it is a signed bit index relative to the
    /// operand, which can reach any address within ±2^63 bits (SDM vol. 2, "BT").
    func executeBitTest(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let bits = UInt64(size) &* 8
        let kind = d.sub & 3
        let old: UInt64
        let bit: UInt64
        if d.flags.contains(.sourceImmediate) || !d.flags.contains(.memory) {
            let offset = d.flags.contains(.sourceImmediate) ? d.immediate : reg(d.reg, size)
            bit = offset & (bits &- 1)
            let mask = UInt64(1) << bit
            if kind == 0 {
                old = try readE(p)
            } else {
                old = try modifyE(p) { v in Self.bitOp(kind, v, mask) }.old
            }
        } else {
            // Signed bit index: the operand-sized unit it falls in, then the bit within it.
            let index = Int64(bitPattern: signExtend(reg(d.reg, size), from: size))
            let unit = index >> Int64(bits.trailingZeroBitCount)
            bit = UInt64(bitPattern: index) & (bits &- 1)
            let address = offsetAddress(p, by: UInt64(bitPattern: unit &* Int64(size)))
            let mask = UInt64(1) << bit
            if kind == 0 {
                old = try read(address, size)
            } else {
                old = try modifyMemory(address, size, atomic: d.flags.contains(.lock)) { v in Self.bitOp(kind, v, mask) }.old
            }
        }
        setStatusFlags((old >> bit) & 1 != 0 ? Self.CF : 0, mask: Self.CF)
    }

    /// The operand after BT (0), BTS (1), BTR (2) or BTC (3) of the bit in `mask`.
    @inline(__always)
    static func bitOp(_ kind: UInt8, _ v: UInt64, _ mask: UInt64) -> UInt64 {
        switch kind {
        case 1: v | mask
        case 2: v & ~mask
        case 3: v ^ mask
        default: v
        }
    }

    /// The memory operand's linear address moved by `delta` bytes, wrapping at the address
    /// size (the segment base is added after the wrap).
    func offsetAddress(_ p: UnsafePointer<DecodedInstruction>, by delta: UInt64) -> UInt64 {
        let d = p.pointee
        let linear = effectiveAddress(p)
        guard d.addressSize == 4 else { return linear &+ delta }
        let base = d.segment == DecodedInstruction.noRegister ? 0 : segmentBase(d.segment)
        return base &+ ((linear &- base &+ delta) & 0xFFFF_FFFF)
    }

    /// BSF BSR TZCNT LZCNT POPCNT. BSF/BSR with a zero source set ZF and leave the whole
    /// destination register unchanged (even a 32-bit one), as Intel and AMD processors do.
    func executeBitScan(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let bits = UInt64(size) &* 8
        let src = try readE(p) & sizeMask(size)
        switch d.op {
        case .bsf, .bsr:
            // The other status flags are undefined; Intel processors clear them and set PF
            // from the index (from 0 for a zero source), as measured.
            if src == 0 {
                setStatusFlags(Self.ZF | Self.PF, mask: Self.statusMask)
                return
            }
            let index = d.op == .bsf ? UInt64(src.trailingZeroBitCount) : 63 &- UInt64(src.leadingZeroBitCount)
            setReg(d.reg, size, index)
            setStatusFlags(parityFlag(index) ? Self.PF : 0, mask: Self.statusMask)
        case .tzcnt, .lzcnt:
            let n: UInt64
            if src == 0 {
                n = bits
            } else if d.op == .tzcnt {
                n = UInt64(src.trailingZeroBitCount)
            } else {
                n = UInt64(src.leadingZeroBitCount) &- (64 &- bits)
            }
            setReg(d.reg, size, n)
            var f: UInt64 = 0
            if src == 0 { f |= Self.CF }
            if n == 0 { f |= Self.ZF }
            // The SDM leaves OF SF AF PF undefined; Intel processors clear them (measured).
            setStatusFlags(f, mask: Self.statusMask)
        default:  // .popcnt
            let n = UInt64(src.nonzeroBitCount)
            setReg(d.reg, size, n)
            setStatusFlags(src == 0 ? Self.ZF : 0, mask: Self.statusMask)
        }
    }
}
