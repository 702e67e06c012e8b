import X86

extension Interpreter {
    @inline(__always)
    func executeMov(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        if d.flags.contains(.sourceImmediate) {
            try writeE(p, d.immediate & sizeMask(d.size))
        } else if d.flags.contains(.regIsDestination) {
            setReg(d.reg, d.size, try readE(p))
        } else {
            try writeE(p, reg(d.reg, d.size))
        }
    }

    /// MOVZX/MOVSX (sub = source size 1 or 2) and MOVSXD.
    func executeMovExtend(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let srcSize: UInt8 = d.op == .movsxd ? (d.size == 8 ? 4 : d.size) : d.sub
        let v = try readE(p, size: srcSize)
        let signed = d.op == .movsxd || d.flags.contains(.signExtend)
        setReg(d.reg, d.size, signed ? signExtend(v, from: srcSize) : v)
    }

    /// XCHG: with a memory operand it is always locked.
    func executeXchg(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let g = reg(d.reg, d.size)
        let (old, _) = try modifyE(p, atomic: true) { _ in g }
        setReg(d.reg, d.size, old)
    }

    func executeBswap(_ p: UnsafePointer<DecodedInstruction>) {
        let d = p.pointee
        let v = reg(d.rm, d.size)
        switch d.size {
        case 8: setReg(d.rm, 8, v.byteSwapped)
        case 4: setReg(d.rm, 4, UInt64(UInt32(truncatingIfNeeded: v).byteSwapped))
        default: setReg(d.rm, 2, 0)  // BSWAP r16 is undefined; Intel and AMD CPUs zero it
        }
    }

    func executeCmov(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let v = try readE(p)  // the source is read (and may fault) whatever the condition
        if condition(d.sub) { setReg(d.reg, d.size, v) } else if d.size == 4 { setReg(d.reg, 4, reg(d.reg, 4)) }
    }

    /// CBW/CWDE/CDQE and CWD/CDQ/CQO.
    func executeSignExtendAccumulator(_ p: UnsafePointer<DecodedInstruction>) {
        let d = p.pointee
        let a = gpr(.rax)
        if d.op == .signExtendAccumulator {
            setReg(0, d.size, signExtend(a, from: d.size / 2))
        } else {
            let negative = a & signBit(d.size) != 0
            setReg(2, d.size, negative ? ~0 : 0)
        }
    }

    func executeLahfSahf(_ p: UnsafePointer<DecodedInstruction>) {
        if p.pointee.op == .lahf {
            setReg(16, 1, (rflags & 0xD5) | 2)  // AH
        } else {
            let ah = reg(16, 1)
            setStatusFlags(ah, mask: Self.SF | Self.ZF | Self.AF | Self.PF | Self.CF)
        }
    }

    func executeFlagOp(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        switch FlagInstruction(rawValue: p.pointee.sub) {
        case .clc: setStatusFlags(0, mask: Self.CF)
        case .stc: setStatusFlags(Self.CF, mask: Self.CF)
        case .cmc: setStatusFlags(carryFlag ? 0 : Self.CF, mask: Self.CF)
        case .cld: flagsBase &= ~Self.DF
        case .std: flagsBase |= Self.DF
        case .cli, .sti:
            // IF may change only when CPL <= IOPL; otherwise #GP(0) (no VME/PVI in long mode).
            guard cpl <= UInt8((flagsBase >> 12) & 3) else { throw .generalProtection(0) }
            if p.pointee.sub == FlagInstruction.cli.rawValue {
                flagsBase &= ~Self.IF
            } else {
                if flagsBase & Self.IF == 0 { openInterruptShadow() }
                flagsBase |= Self.IF
            }
        case nil: throw .undefinedOpcode
        }
    }

    func executeXlat(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        var address = gpr(.rbx) &+ (gpr(.rax) & 0xFF)
        if d.addressSize == 4 { address &= 0xFFFF_FFFF }
        if d.segment != DecodedInstruction.noRegister { address &+= segmentBase(d.segment) }
        setReg(0, 1, try read(address, 1))
    }

    func executeMovbe(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        func swap(_ v: UInt64) -> UInt64 {
            switch d.size {
            case 8: v.byteSwapped
            case 4: UInt64(UInt32(truncatingIfNeeded: v).byteSwapped)
            default: UInt64(UInt16(truncatingIfNeeded: v).byteSwapped)
            }
        }
        if d.flags.contains(.regIsDestination) {
            setReg(d.reg, d.size, swap(try readE(p)))
        } else {
            try writeE(p, swap(reg(d.reg, d.size)))
        }
    }
}
