import X86

extension Interpreter {
    /// The shift count: CL, the immediate, or 1, masked to 5 bits (6 for 64-bit operands).
    @inline(__always)
    private func shiftCount(_ d: DecodedInstruction) -> UInt64 {
        let raw = d.flags.contains(.countCL) ? gpr(.rcx) : (d.flags.contains(.sourceImmediate) ? d.immediate : 1)
        return raw & (d.size == 8 ? 63 : 31)
    }

    /// ROL ROR RCL RCR SHL SHR SAL SAR. A masked count of 0 changes nothing (no flags, and the
    /// destination is not written, so a read-only page does not fault on the write).
    func executeShift(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let count = shiftCount(d)
        guard count != 0 else {
            _ = try readE(p)  // the operand is still read
            if !d.flags.contains(.memory) && d.size == 4 { setReg(d.rm, 4, reg(d.rm, 4)) }  // 32-bit writes zero-extend
            return
        }
        let size = d.size
        let m = sizeMask(size)
        let bits = UInt64(size) * 8
        let msb = signBit(size)
        let kind = ShiftKind(rawValue: d.sub) ?? .shl
        let carryIn: UInt64 = carryFlag ? 1 : 0
        var flags: UInt64 = 0
        var flagMask: UInt64 = Self.CF | Self.OF
        let (_, _) = try modifyE(p) { v in
            var r: UInt64
            var cf: UInt64
            var of: Bool
            switch kind {
            case .rol:
                let c = count % bits
                r = c == 0 ? v : ((v << c) | (v >> (bits - c))) & m
                cf = r & 1
                of = (r & msb != 0) != (cf != 0)
            case .ror:
                let c = count % bits
                r = c == 0 ? v : ((v >> c) | (v << (bits - c))) & m
                cf = r & msb != 0 ? 1 : 0
                of = (r & msb != 0) != (r & (msb >> 1) != 0)
            case .rcl:
                let c = size <= 2 ? count % (bits + 1) : count
                r = v
                cf = carryIn
                for _ in 0..<c {
                    let out = r & msb != 0 ? UInt64(1) : 0
                    r = ((r << 1) | cf) & m
                    cf = out
                }
                of = (r & msb != 0) != (cf != 0)
            case .rcr:
                let c = size <= 2 ? count % (bits + 1) : count
                r = v
                cf = carryIn
                of = (v & msb != 0) != (carryIn != 0)
                for _ in 0..<c {
                    let out = r & 1
                    r = (r >> 1) | (cf != 0 ? msb : 0)
                    cf = out
                }
            case .shl, .sal:
                r = (v << count) & m
                cf = count <= bits ? (v >> (bits - count)) & 1 : 0
                of = (r & msb != 0) != (cf != 0)
            case .shr:
                r = v >> count
                cf = (v >> (count - 1)) & 1
                of = v & msb != 0
            case .sar:
                let sv = Int64(bitPattern: signExtend(v, from: size))
                r = UInt64(bitPattern: sv >> Int64(count)) & m
                cf = UInt64(bitPattern: sv >> Int64(count - 1)) & 1
                of = false
            }
            flags = (cf != 0 ? Self.CF : 0) | (of ? Self.OF : 0)
            if kind.rawValue >= ShiftKind.shl.rawValue {
                // Shifts also set SF, ZF, PF from the result; AF is undefined and cleared.
                flags |= szpBits(r, size: size)
                flagMask = Self.statusMask
            }
            return r
        }
        setStatusFlags(flags, mask: flagMask)
    }

    /// SHLD (sub 0) and SHRD (sub 1): shift E, filling from G. Count from imm8 or CL.
    func executeShiftDouble(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let raw = d.flags.contains(.countCL) ? gpr(.rcx) : d.immediate
        let count = raw & (d.size == 8 ? 63 : 31)
        guard count != 0 else {
            _ = try readE(p)
            if !d.flags.contains(.memory) && d.size == 4 { setReg(d.rm, 4, reg(d.rm, 4)) }
            return
        }
        let size = d.size
        let m = sizeMask(size)
        let bits = UInt64(size) * 8
        let src = reg(d.reg, size)
        let left = d.sub == 0
        var flags: UInt64 = 0
        _ = try modifyE(p) { v in
            let r: UInt64
            let cf: UInt64
            if left {
                // For 16-bit operands a count above 16 is undefined; this shifts the 32-bit
                // concatenation, as Intel processors do.
                r = ((v << count) | (src >> (bits &- count)) | (count > bits ? v << (count - bits) : 0)) & m
                cf = count <= bits ? (v >> (bits - count)) & 1 : (src >> (2 * bits - count)) & 1
            } else {
                r = ((v >> count) | (src << (bits &- count)) | (count > bits ? src >> (count - bits) : 0)) & m
                cf = count <= bits ? (v >> (count - 1)) & 1 : (src >> (count - bits - 1)) & 1
            }
            let of = (r & signBit(size)) != (v & signBit(size))
            flags = (cf != 0 ? Self.CF : 0) | (of ? Self.OF : 0) | szpBits(r, size: size)
            return r
        }
        setStatusFlags(flags, mask: Self.statusMask)
    }
}
