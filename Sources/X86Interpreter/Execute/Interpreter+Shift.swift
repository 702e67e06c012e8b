import X86

extension Interpreter {
    /// ROL ROR RCL RCR SHL/SAL SHR SAR by 1 (D0/D1), CL (D2/D3) or imm8 (C0/C1).
    ///
    /// The count is masked to 5 bits (6 for 64-bit operands). A masked count of 0 changes no
    /// flags, but the destination is still written (a 32-bit register is zero-extended, as on
    /// hardware). The flags the SDM leaves undefined are set the way Intel processors set them.
    func executeShift(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let raw: UInt64
        if d.flags.contains(.countCL) {
            raw = reg(1, 1)
        } else if d.flags.contains(.sourceImmediate) {
            raw = d.immediate
        } else {
            raw = 1
        }
        let count = raw & (d.size == 8 ? 63 : 31)
        if count == 0 {
            _ = try modifyE(p) { $0 }
            return
        }
        let kind = d.sub & 7
        let size = d.size
        let carry: UInt64 = kind == ShiftKind.rcl.rawValue || kind == ShiftKind.rcr.rawValue ? (carryFlag ? 1 : 0) : 0
        let immediate = d.flags.contains(.sourceImmediate)
        var flags: UInt64 = 0
        var mask: UInt64 = 0
        _ = try modifyE(p) { v in
            let r = Self.shift(kind, v & sizeMask(size), count: count, carry: carry, size: size, immediate: immediate)
            flags = r.flags
            mask = r.mask
            return r.result
        }
        setStatusFlags(flags, mask: mask)
    }

    /// The result of a shift or rotate by a masked, nonzero `count`, with the status flags it
    /// writes (`flags`) and which of them it writes (`mask`).
    ///
    /// OF, defined by the SDM for 1-bit shifts only, is what a 1-bit shift of the original
    /// operand would give, whatever the count: that is what Intel processors produce
    /// (measured on the host, a family 6 Xeon) — except that ROL/ROR by an immediate other
    /// than 1 leave OF unchanged there. AF is cleared by shifts.
    static func shift(_ kind: UInt8, _ v: UInt64, count: UInt64, carry: UInt64, size: UInt8, immediate: Bool = false) -> (result: UInt64, flags: UInt64, mask: UInt64) {
        let m = sizeMask(size)
        let bits = UInt64(size) &* 8
        let msb = bits &- 1
        var r: UInt64
        var cf: UInt64
        var of: UInt64
        switch ShiftKind(rawValue: kind) ?? .shl {
        case .rol, .ror:
            let n = count & msb
            if kind == ShiftKind.rol.rawValue {
                r = n == 0 ? v : ((v << n) | (v >> (bits &- n))) & m
                cf = r & 1
                of = ((v >> msb) ^ (v >> (msb &- 1))) & 1
            } else {
                r = n == 0 ? v : ((v >> n) | (v << (bits &- n))) & m
                cf = (r >> msb) & 1
                of = ((v >> msb) ^ v) & 1
            }
            // Rotates leave SF, ZF, AF and PF alone.
            return (r, (cf != 0 ? CF : 0) | (of != 0 ? OF : 0), immediate && count != 1 ? CF : CF | OF)
        case .rcl, .rcr:
            // Rotation through CF: a (bits+1)-bit rotate, so 8- and 16-bit counts wrap there.
            let n = size == 1 ? count % 9 : (size == 2 ? count % 17 : count)
            // A count that wraps to 0 changes no flags either (measured).
            if n == 0 { return (v, 0, 0) }
            r = v
            cf = carry
            if kind == ShiftKind.rcl.rawValue {
                for _ in 0..<n {
                    let out = (r >> msb) & 1
                    r = ((r << 1) | cf) & m
                    cf = out
                }
                of = ((v >> msb) ^ (v >> (msb &- 1))) & 1
            } else {
                for _ in 0..<n {
                    let out = r & 1
                    r = (r >> 1) | (cf << msb)
                    cf = out
                }
                of = ((v >> msb) ^ carry) & 1
            }
            return (r, (cf != 0 ? CF : 0) | (of != 0 ? OF : 0), CF | OF)
        case .shl, .sal:
            r = count < bits ? (v << count) & m : 0
            cf = count <= bits ? (v >> (bits &- count)) & 1 : 0
            of = ((v >> msb) ^ (v >> (msb &- 1))) & 1
        case .shr:
            r = count < bits ? v >> count : 0
            cf = count <= bits ? (v >> (count &- 1)) & 1 : 0
            of = (v >> msb) & 1
        case .sar:
            let s = Int64(bitPattern: signExtend(v, from: size))
            r = UInt64(bitPattern: s >> Int64(min(count, 63))) & m
            cf = UInt64(bitPattern: s >> Int64(min(count &- 1, 63))) & 1
            of = 0
        }
        var f = szp(r, size: size)
        if cf != 0 { f |= CF }
        if of != 0 { f |= OF }
        return (r, f, statusMask)
    }

    /// SHLD (sub 0) / SHRD (sub 1): shifts E, filling from G, by imm8 or CL masked to 5 bits
    /// (6 for 64-bit operands). A masked count of 0 changes no flags.
    func executeShiftDouble(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let raw = d.flags.contains(.countCL) ? reg(1, 1) : d.immediate
        let count = raw & (d.size == 8 ? 63 : 31)
        if count == 0 {
            _ = try modifyE(p) { $0 }
            return
        }
        let src = reg(d.reg, d.size)
        let size = d.size
        let left = d.sub == 0
        var flags: UInt64 = 0
        _ = try modifyE(p) { v in
            let r = Self.shiftDouble(left: left, v & sizeMask(size), src, count: count, size: size)
            flags = r.flags
            return r.result
        }
        setStatusFlags(flags, mask: Self.statusMask)
    }

    /// SHLD/SHRD by a masked, nonzero count. For 16-bit operands with a count above 16 the SDM
    /// leaves result and flags undefined; this shifts the 48-bit pattern dest:src:dest as
    /// P6-family processors do.
    static func shiftDouble(left: Bool, _ dest: UInt64, _ src: UInt64, count: UInt64, size: UInt8) -> (result: UInt64, flags: UInt64) {
        let m = sizeMask(size)
        let bits = UInt64(size) &* 8
        let msb = bits &- 1
        var r: UInt64
        var cf: UInt64
        if size == 2 {
            // 48-bit working value: left shifts dest:src:dest, right shifts dest:src:dest read
            // from the other end.
            if left {
                let wide = (dest << 32) | (src << 16) | dest
                r = (wide >> (32 &- count)) & m
                cf = (wide >> (48 &- count)) & 1
            } else {
                let wide = (dest << 32) | (src << 16) | dest
                r = (wide >> count) & m
                cf = (wide >> (count &- 1)) & 1
            }
        } else if left {
            r = ((dest << count) | (src >> (bits &- count))) & m
            cf = (dest >> (bits &- count)) & 1
        } else {
            r = ((dest >> count) | (src << (bits &- count))) & m
            cf = (dest >> (count &- 1)) & 1
        }
        var f = szp(r, size: size)
        if cf != 0 { f |= CF }
        // OF as for a 1-bit shift, whatever the count (see `shift`).
        let of = left ? (dest >> msb) ^ (dest >> (msb &- 1)) : (dest >> msb) ^ src
        if of & 1 != 0 { f |= OF }
        return (r, f)
    }

    /// SF, ZF and PF of a result (a static twin of `szpBits` for the pure helpers above).
    @inline(__always)
    static func szp(_ r: UInt64, size: UInt8) -> UInt64 {
        var f: UInt64 = 0
        if r & sizeMask(size) == 0 { f |= ZF }
        if r & signBit(size) != 0 { f |= SF }
        if parityFlag(r) { f |= PF }
        return f
    }
}
