import X86

/// SSE/SSE2 floating point: arithmetic, comparisons and conversions by lane, MXCSR's
/// rounding, DAZ and FTZ and its sticky flags. An unmasked exception in any lane stores
/// nothing (the flags detected are recorded) and raises #XM, or #UD without
/// CR4.OSXMMEXCPT; which flags hardware records then is not cross-checked (the host would
/// trap).
extension Interpreter {
    /// Executes `op` if it is a floating-point instruction; false otherwise.
    func executeSSEFloat(_ p: UnsafePointer<DecodedInstruction>, _ op: SSEOperation) throws(CPUEvent) -> Bool {
        // The floating-point operations come last in `SSEOperation`.
        guard op.rawValue >= SSEOperation.addps.rawValue else { return false }
        let d = p.pointee
        let r = Int(d.reg & 15)
        let mxcsr = MXCSRControl(raw: arch.fpu.mxcsr)
        let a = arch.fpu.xmm[r]
        var flags: X87Exceptions = []
        var result = a
        func map(_ b: XMMRegister, packed: Bool, double: Bool, _ f: (UInt64, UInt64) -> (UInt64, X87Exceptions)) -> XMMRegister {
            var out = a
            let count = packed ? (double ? 2 : 4) : 1
            for i in 0..<count {
                let (bits, more) = f(Self.lane(a, i, double), Self.lane(b, i, double))
                Self.setLane(&out, i, double, bits)
                flags.formUnion(more)
            }
            return out
        }
        if let (kind, packed, double) = op.arithmeticShape {
            result = map(try sseSource(p), packed: packed, double: double) { SSEFloat.arithmetic(kind, $0, $1, double: double, mxcsr: mxcsr) }
            try sseCommit(result, to: r, flags: flags)
            return true
        }
        switch op {
        case .cmpps, .cmpss, .cmppd, .cmpsd:
            let double = op == .cmppd || op == .cmpsd
            let predicate = UInt8(truncatingIfNeeded: d.immediate)
            result = map(try sseSource(p), packed: op == .cmpps || op == .cmppd, double: double) {
                let (yes, f) = SSEFloat.compare($0, $1, predicate: predicate, double: double, mxcsr: mxcsr)
                return (yes ? ~0 : 0, f)
            }
        case .comiss, .ucomiss, .comisd, .ucomisd:
            let double = op == .comisd || op == .ucomisd
            let b = try sseSource(p)
            let (order, f) = SSEFloat.compareFlags(Self.lane(a, 0, double), Self.lane(b, 0, double),
                                                   ordered: op == .comiss || op == .comisd, double: double, mxcsr: mxcsr)
            try sseCommit(a, to: r, flags: f)
            setStatusFlags(order.eflags, mask: Self.statusMask)
            return true
        case .cvtsi2ss, .cvtsi2sd:
            let double = op == .cvtsi2sd
            let value = try readE(p, size: d.size)
            let integer = d.size == 8 ? Int64(bitPattern: value) : Int64(Int32(truncatingIfNeeded: value))
            let (bits, f) = SSEFloat.fromInteger(integer, double: double, mxcsr: mxcsr)
            Self.setLane(&result, 0, double, bits)
            flags = f
        case .cvttss2si, .cvtss2si, .cvttsd2si, .cvtsd2si:
            let double = op == .cvttsd2si || op == .cvtsd2si
            let bytes = d.flags.contains(.rexW) ? 8 : 4
            let (value, f) = SSEFloat.toInteger(Self.lane(try sseSource(p), 0, double), double: double, bytes: bytes,
                                                truncate: op == .cvttss2si || op == .cvttsd2si, mxcsr: mxcsr)
            try sseCommit(a, to: r, flags: f)
            setReg(d.reg, UInt8(bytes), value)
            return true
        case .cvtss2sd, .cvtsd2ss, .cvtps2pd, .cvtpd2ps:
            let fromDouble = op == .cvtsd2ss || op == .cvtpd2ps
            let b = try sseSource(p)
            let count = op == .cvtss2sd || op == .cvtsd2ss ? 1 : 2
            if op == .cvtpd2ps { result = XMMRegister() }
            for i in 0..<count {
                let (bits, f) = SSEFloat.convert(Self.lane(b, i, fromDouble), fromDouble: fromDouble, mxcsr: mxcsr)
                Self.setLane(&result, i, !fromDouble, bits)
                flags.formUnion(f)
            }
        case .cvtdq2ps, .cvtdq2pd:
            let double = op == .cvtdq2pd
            let b = try sseSource(p)
            for i in 0..<(double ? 2 : 4) {
                let (bits, f) = SSEFloat.fromInteger(Int64(Int32(truncatingIfNeeded: Self.lane(b, i, false))), double: double, mxcsr: mxcsr)
                Self.setLane(&result, i, double, bits)
                flags.formUnion(f)
            }
        case .rcpps, .rcpss, .rsqrtps, .rsqrtss:
            // No exceptions and no flags (see SSEApproximation).
            let b = try sseSource(p)
            let f = op == .rcpps || op == .rcpss ? SSEApproximation.reciprocal : SSEApproximation.reciprocalSquareRoot
            for i in 0..<(op == .rcpps || op == .rsqrtps ? 4 : 1) { result.dwords[i] = f(b.dwords[i]) }
        default:  // .cvtps2dq, .cvttps2dq, .cvtpd2dq, .cvttpd2dq
            let double = op == .cvtpd2dq || op == .cvttpd2dq
            let b = try sseSource(p)
            if double { result = XMMRegister() }
            for i in 0..<(double ? 2 : 4) {
                let (value, f) = SSEFloat.toInteger(Self.lane(b, i, double), double: double, bytes: 4,
                                                    truncate: op == .cvttps2dq || op == .cvttpd2dq, mxcsr: mxcsr)
                Self.setLane(&result, i, false, value & 0xFFFF_FFFF)
                flags.formUnion(f)
            }
        }
        try sseCommit(result, to: r, flags: flags)
        return true
    }

    /// Records the flags; writes `result` unless an unmasked exception occurred (#XM, or #UD
    /// without CR4.OSXMMEXCPT).
    func sseCommit(_ result: XMMRegister, to r: Int, flags: X87Exceptions) throws(CPUEvent) {
        arch.fpu.mxcsr |= UInt32(flags.rawValue & 0x3F)
        if !flags.intersection(.all).subtracting(MXCSRControl(raw: arch.fpu.mxcsr).masks).isEmpty {
            guard arch.cr4.contains(.osxmmexcpt) else { throw .undefinedOpcode }
            throw .fault(X86Exception(vector: ExceptionVector.simdFloatingPoint.rawValue))
        }
        arch.fpu.xmm[r] = result
    }

    /// Lane `i` of a register as single (32-bit) or double (64-bit) bits.
    static func lane(_ v: XMMRegister, _ i: Int, _ double: Bool) -> UInt64 {
        double ? (i == 0 ? v.low : v.high) : UInt64(v.dwords[i])
    }

    static func setLane(_ v: inout XMMRegister, _ i: Int, _ double: Bool, _ bits: UInt64) {
        if double {
            if i == 0 { v.low = bits } else { v.high = bits }
        } else {
            v.dwords[i] = UInt32(truncatingIfNeeded: bits)
        }
    }

    /// MASKMOVDQU: the bytes of the reg operand whose mask byte (r/m operand) has its top
    /// bit set, stored at RDI (EDI with a 32-bit address size; FS/GS overrides apply).
    func maskedStore(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let data = arch.fpu.xmm[Int(d.reg & 15)].bytes
        let mask = arch.fpu.xmm[Int(d.rm & 15)].bytes
        var address = gpr(.rdi)
        if d.addressSize == 4 { address &= 0xFFFF_FFFF }
        if d.segment != DecodedInstruction.noRegister { address &+= segmentBase(d.segment) }
        for i in 0..<16 where mask[i] & 0x80 != 0 { try write(address &+ UInt64(i), 1, UInt64(data[i])) }
    }
}
