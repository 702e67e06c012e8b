import X86

extension Interpreter {
    /// RDMSR/WRMSR at CPL 0. Intercepted MSRs exit; the engine keeps the architectural ones
    /// it implements and raises #GP(0) for the rest (and for invalid values).
    func executeMSR(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        try requireCPL0()
        let msr = UInt32(truncatingIfNeeded: gpr(.rcx))
        let isWrite = d.op == .wrmsr
        let value = (gpr(.rdx) & 0xFFFF_FFFF) << 32 | (gpr(.rax) & 0xFFFF_FFFF)
        if intercepts.intercepts(msr: msr) {
            throw .exit(isWrite ? .wrmsr(msr: msr, value: value, length: d.length) : .rdmsr(msr: msr, length: d.length))
        }
        if isWrite {
            try writeMSR(msr, value)
        } else {
            let v = try readMSR(msr)
            setReg(0, 4, v & 0xFFFF_FFFF)
            setReg(2, 4, v >> 32)
        }
    }

    func readMSR(_ msr: UInt32) throws(CPUEvent) -> UInt64 {
        switch msr {
        case MSR.efer: return arch.efer.rawValue
        case MSR.star: return arch.star
        case MSR.lstar: return arch.lstar
        case MSR.cstar: return arch.cstar
        case MSR.sfmask: return arch.sfmask
        case MSR.fsBase: return fsBase
        case MSR.gsBase: return gsBase
        case MSR.kernelGSBase: return arch.kernelGSBase
        case MSR.tscAux: return arch.tscAux
        case MSR.pat: return arch.pat
        case MSR.tsc: return Self.hostTimeStamp() &+ arch.tscOffset
        case MSR.sysenterCS: return arch.sysenterCS
        case MSR.sysenterESP: return arch.sysenterESP
        case MSR.sysenterEIP: return arch.sysenterEIP
        case MSR.apicBase: return 0xFEE0_0000 | (1 << 11) | (1 << 8)  // enabled, BSP
        default: throw .generalProtection(0)
        }
    }

    func writeMSR(_ msr: UInt32, _ value: UInt64) throws(CPUEvent) {
        func canonical(_ v: UInt64) throws(CPUEvent) -> UInt64 {
            guard isCanonical(v) else { throw .generalProtection(0) }
            return v
        }
        switch msr {
        case MSR.efer:
            // SCE, LME, LMA (read-only: kept), NXE are the bits this CPU has.
            let writable: UInt64 = EFER.syscallEnable.rawValue | EFER.longModeEnable.rawValue | EFER.noExecuteEnable.rawValue
            guard value & ~(writable | EFER.longModeActive.rawValue) == 0 else { throw .generalProtection(0) }
            // LME may not change while paging is on.
            if arch.cr0.contains(.paging) && (value ^ arch.efer.rawValue) & EFER.longModeEnable.rawValue != 0 {
                throw .generalProtection(0)
            }
            arch.efer = EFER(rawValue: (value & writable) | (arch.efer.rawValue & EFER.longModeActive.rawValue))
            tlb.flushAll()
        case MSR.star: arch.star = value
        case MSR.lstar: arch.lstar = try canonical(value)
        case MSR.cstar: arch.cstar = try canonical(value)
        case MSR.sfmask: arch.sfmask = value & 0xFFFF_FFFF
        case MSR.fsBase: fsBase = try canonical(value)
        case MSR.gsBase: gsBase = try canonical(value)
        case MSR.kernelGSBase: arch.kernelGSBase = try canonical(value)
        case MSR.tscAux:
            guard value >> 32 == 0 else { throw .generalProtection(0) }
            arch.tscAux = value
        case MSR.pat:
            // Each of the eight entries must be a valid memory type (0, 1, 4, 5, 6, 7).
            for i in 0..<8 where [2, 3].contains((value >> (8 * UInt64(i))) & 0xFF) || (value >> (8 * UInt64(i))) & 0xF8 != 0 {
                throw .generalProtection(0)
            }
            arch.pat = value
        case MSR.tsc: arch.tscOffset = value &- Self.hostTimeStamp()
        case MSR.sysenterCS: arch.sysenterCS = value & 0xFFFF
        case MSR.sysenterESP: arch.sysenterESP = try canonical(value)
        case MSR.sysenterEIP: arch.sysenterEIP = try canonical(value)
        default: throw .generalProtection(0)
        }
    }
}
