import X86

extension Interpreter {
    /// Bits of CR4 this CPU lets software set.
    static let supportedCR4: UInt64 = CR4.debuggingExtensions.rawValue | CR4.pageSizeExtensions.rawValue
        | CR4.physicalAddressExtension.rawValue | CR4.machineCheck.rawValue | CR4.pageGlobalEnable.rawValue
        | CR4.performanceCounter.rawValue | CR4.osfxsr.rawValue | CR4.osxmmexcpt.rawValue | CR4.umip.rawValue
        | CR4.fsgsbase.rawValue | CR4.osxsave.rawValue | CR4.timeStampDisable.rawValue

    /// MOV to/from CR0/CR2/CR3/CR4/CR8 and DR0-DR7, CLTS, LMSW, SMSW.
    func executeControlRegister(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let n = d.reg & 15
        switch d.op {
        case .smsw:
            // Allowed at any CPL unless CR4.UMIP (one of the classic non-virtualizable reads).
            if arch.cr4.contains(.umip) && cpl > 0 { throw .generalProtection(0) }
            try writeE(p, arch.cr0.rawValue & sizeMask(d.size))
            return
        case .movFromCR:
            // A register that does not exist is #UD before the privilege check (#GP).
            guard Self.isControlRegister(n) else { throw .undefinedOpcode }
            try requireCPL0()
            setReg(d.rm, 8, try controlRegister(n))
            return
        case .movFromDR, .movToDR:
            var index = Int(n)
            guard index < 8 else { throw .undefinedOpcode }
            if index == 4 || index == 5 {
                guard !arch.cr4.contains(.debuggingExtensions) else { throw .undefinedOpcode }
                index += 2
            }
            try requireCPL0()
            if arch.debugRegisters.count < 8 {
                // A state set from outside with a short array: give it the reset values.
                arch.debugRegisters = CPUState().debugRegisters
            }
            if d.op == .movFromDR {
                setReg(d.rm, 8, arch.debugRegisters[index])
            } else {
                let v = reg(d.rm, 8)
                if index >= 6 && v >> 32 != 0 { throw .generalProtection(0) }
                arch.debugRegisters[index] = index == 6 ? (v | 0xFFFF_0FF0) : (index == 7 ? (v | 0x400) & ~0x1000 : v)
                if index != 6 { reloadBreakpoints() }
            }
            return
        case .movToCR:
            guard Self.isControlRegister(n) else { throw .undefinedOpcode }
        default:
            break
        }
        try requireCPL0()
        let value: UInt64
        let target: UInt8
        switch d.op {
        case .clts:
            target = 0
            value = arch.cr0.rawValue & ~CR0.taskSwitched.rawValue
        case .lmsw:
            // LMSW changes PE, MP, EM and TS only and can set but not clear PE.
            let source = try readE(p, size: 2)
            target = 0
            value = (arch.cr0.rawValue & ~0xE) | (source & 0xF) | (arch.cr0.rawValue & 1)
        default:
            target = n
            value = reg(d.rm, 8)
        }
        if intercepts.controlRegisterWrites & (1 << UInt16(target & 15)) != 0 {
            throw .exit(.controlRegisterWrite(register: target, value: value, length: d.length))
        }
        try writeControlRegister(target, value)
    }

    static func isControlRegister(_ n: UInt8) -> Bool { n == 0 || n == 2 || n == 3 || n == 4 || n == 8 }

    /// CR0 bits that exist; software writes of the other bits of the low half are ignored.
    static let definedCR0: UInt64 = CR0.protectionEnable.rawValue | CR0.monitorCoprocessor.rawValue
        | CR0.emulation.rawValue | CR0.taskSwitched.rawValue | CR0.extensionType.rawValue | CR0.numericError.rawValue
        | CR0.writeProtect.rawValue | CR0.alignmentMask.rawValue | CR0.notWriteThrough.rawValue
        | CR0.cacheDisable.rawValue | CR0.paging.rawValue

    func controlRegister(_ n: UInt8) throws(CPUEvent) -> UInt64 {
        switch n {
        case 0: return arch.cr0.rawValue
        case 2: return arch.cr2
        case 3: return arch.cr3
        case 4: return arch.cr4.rawValue
        case 8: return arch.cr8
        default: throw .undefinedOpcode
        }
    }

    /// Writes a control register with the architectural checks and TLB effects.
    func writeControlRegister(_ n: UInt8, _ value: UInt64) throws(CPUEvent) {
        switch n {
        case 0:
            guard value >> 32 == 0 else { throw .generalProtection(0) }
            let new = CR0(rawValue: (value & Self.definedCR0) | CR0.extensionType.rawValue)
            // Paging without protection, or leaving paging in long mode, is invalid here.
            if new.contains(.paging) && !new.contains(.protectionEnable) { throw .generalProtection(0) }
            if !new.contains(.paging) && arch.efer.contains(.longModeActive) { throw .generalProtection(0) }
            if new.contains(.notWriteThrough) && !new.contains(.cacheDisable) { throw .generalProtection(0) }
            let changed = (new.rawValue ^ arch.cr0.rawValue) & (CR0.paging.rawValue | CR0.writeProtect.rawValue | CR0.protectionEnable.rawValue)
            arch.cr0 = new
            if changed != 0 {
                tlb.flushAll()
                walkCache = WalkCache()
            }
        case 2:
            arch.cr2 = value
        case 3:
            // Bits above the physical-address width are reserved; the low flag bits are ignored.
            guard value >> PTE.physicalAddressBits == 0 else { throw .generalProtection(0) }
            arch.cr3 = value
            tlb.flushNonGlobal()
            walkCache = WalkCache()
        case 4:
            guard value & ~Self.supportedCR4 == 0 else { throw .generalProtection(0) }
            // PAE may not be cleared in long mode.
            if arch.efer.contains(.longModeActive) && value & CR4.physicalAddressExtension.rawValue == 0 {
                throw .generalProtection(0)
            }
            let old = arch.cr4.rawValue
            arch.cr4 = CR4(rawValue: value)
            if (old ^ value) & (CR4.pageGlobalEnable.rawValue | CR4.physicalAddressExtension.rawValue | CR4.pageSizeExtensions.rawValue) != 0 {
                tlb.flushAll()
                walkCache = WalkCache()
            }
        case 8:
            guard value >> 4 == 0 else { throw .generalProtection(0) }
            arch.cr8 = value
        default:
            throw .undefinedOpcode
        }
    }
}
