import X86

/// Where an event delivered through the IDT comes from; it decides the gate-DPL check and
/// the EXT bit of error codes for faults met while delivering it.
enum EventSource {
    /// INT n / INT3 / an injected software interrupt: the gate's DPL must be at least CPL.
    case software
    /// Exceptions, NMI, external interrupts, INT1.
    case hardware
}

extension Interpreter {
    /// `interruptShadowEnd` while STI or MOV SS is executing: the run loop turns it into
    /// "one more instruction" when it retires them (see `retireInstructions`).
    static let shadowOpening: UInt64 = .max

    /// Called by STI (when IF was 0) and MOV SS: external interrupts stay blocked until the
    /// instruction after this one has completed.
    @inline(__always) func openInterruptShadow() { interruptShadowEnd = Self.shadowOpening }

    /// Handles an exception raised by an instruction: returns the exit when the vector is
    /// intercepted, else delivers it through the guest IDT (escalating to #DF and to a
    /// triple-fault exit as the CPU does) and returns nil.
    func raise(_ e: X86Exception) -> VCPUExit? {
        if intercepts.intercepts(exception: e.vector) { return .exception(e) }
        return deliverException(e)
    }

    /// Delivers an exception through the IDT. A fault while delivering it is handled as
    /// SDM vol. 3 table 6-5 says: benign pairs deliver the second exception, contributory
    /// or page-fault pairs become #DF, and a fault while delivering #DF shuts the CPU down.
    /// A second exception the hypervisor intercepts exits instead (the first one is then
    /// lost: VT-x would report it only in the IDT-vectoring information).
    func deliverException(_ first: X86Exception) -> VCPUExit? {
        var e = first
        // Each round delivers, exits, or moves on: the longest chain is a benign exception,
        // a contributory fault delivering it, a page fault delivering that, then #DF.
        for _ in 0..<4 {
            if e.vector == ExceptionVector.pageFault.rawValue, let a = e.faultAddress { arch.cr2 = a }
            do throws(CPUEvent) {
                try deliver(vector: e.vector, errorCode: e.errorCode, source: .hardware,
                            returnRIP: rip, isFault: Self.isFaultClass(e.vector))
                // The handler starts a new instruction stream: an STI or MOV SS shadow that
                // covered the excepting instruction is over.
                interruptShadowEnd = 0
                return nil
            } catch {
                switch error {
                case .exit(let exit): return exit
                case .fault(let second):
                    // An intercepted second exception exits before it could escalate (as a
                    // VM exit would, with the first event in the IDT-vectoring information).
                    if intercepts.intercepts(exception: second.vector) { return .exception(second) }
                    if e.vector == ExceptionVector.doubleFault.rawValue { return .tripleFault }
                    if Self.isDoubleFaultPair(first: e.vector, second: second.vector) {
                        // CR2 reports the page fault that was detected, even when it escalates.
                        if second.vector == ExceptionVector.pageFault.rawValue, let a = second.faultAddress { arch.cr2 = a }
                        e = X86Exception(vector: ExceptionVector.doubleFault.rawValue, errorCode: 0)
                        if intercepts.intercepts(exception: e.vector) { return .exception(e) }
                    } else {
                        e = second
                    }
                }
            }
        }
        return .tripleFault
    }

    /// SDM vol. 3, table 6-5: contributory exceptions and page faults.
    static func isDoubleFaultPair(first: UInt8, second: UInt8) -> Bool {
        func contributory(_ v: UInt8) -> Bool { v == 0 || (10...13).contains(v) }
        if contributory(first) { return contributory(second) }
        if first == ExceptionVector.pageFault.rawValue { return contributory(second) || second == 14 }
        return false
    }

    /// Fault-class exceptions (restartable, RIP at the instruction): the RFLAGS image pushed
    /// for them has RF set so that a return does not re-trigger an instruction breakpoint
    /// (SDM vol. 3, 18.3.1.1). #DB is left out: as a trap it must not set RF.
    static func isFaultClass(_ vector: UInt8) -> Bool {
        switch vector {
        case 0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19, 20, 21: true
        default: false
        }
    }

    /// Delivers the first queued injected event that can be delivered now: exceptions, NMIs
    /// and software interrupts at once; external interrupts when IF=1 and no STI/MOV SS
    /// shadow is active (they stay queued, in order, until then).
    func deliverPendingEvent() throws(CPUEvent) {
        let interruptible = flagsBase & Self.IF != 0 && retiredInstructions >= interruptShadowEnd
        guard let index = pendingEvents.firstIndex(where: { interruptible || $0.kind != .externalInterrupt }) else { return }
        let event = pendingEvents.remove(at: index)
        interruptShadowEnd = 0
        switch event.kind {
        case .externalInterrupt:
            try deliver(vector: event.vector, errorCode: nil, source: .hardware, returnRIP: rip)
        case .nmi:
            try deliver(vector: ExceptionVector.nmi.rawValue, errorCode: nil, source: .hardware, returnRIP: rip)
        case .hardwareException:
            // Injected exceptions escalate like the CPU's own (VT-x event injection does).
            let e = X86Exception(vector: event.vector, errorCode: event.errorCode, faultAddress: event.faultAddress)
            if let exit = deliverException(e) { throw .exit(exit) }
        case .softwareInterrupt(let length):
            try deliver(vector: event.vector, errorCode: nil, source: .software, returnRIP: rip &+ UInt64(length))
        }
    }

    /// Delivers `vector` through the 64-bit IDT (SDM vol. 3, 6.14): gate checks, the
    /// privilege-changing stack switch through TSS.RSPn or an IST stack, the 16-byte-aligned
    /// frame SS, RSP, RFLAGS, CS, RIP [, error code], and the RFLAGS changes of the gate type.
    /// Nothing changes unless the whole frame could be written.
    func deliver(vector: UInt8, errorCode: UInt32?, source: EventSource, returnRIP: UInt64, isFault: Bool = false) throws(CPUEvent) {
        let ext: UInt32 = source == .hardware ? 1 : 0
        let gateError = UInt32(vector) * 8 + 2 + ext
        let offset = UInt64(vector) * 16
        guard offset + 15 <= UInt64(arch.idtr.limit) else { throw .generalProtection(gateError) }
        let low = try readSystem(arch.idtr.base &+ offset, 8)
        let high = try readSystem(arch.idtr.base &+ offset &+ 8, 8)
        let type = UInt8((low >> 40) & 0xF)
        // Only 64-bit interrupt and trap gates exist in long mode (the upper half's type
        // field must be zero too).
        guard type == 0xE || type == 0xF, (high >> 40) & 0x1F == 0 else { throw .generalProtection(gateError) }
        let gateDPL = UInt8((low >> 45) & 3)
        if source == .software && cpl > gateDPL { throw .generalProtection(gateError) }
        guard low & (1 << 47) != 0 else { throw .fault(X86Exception(vector: 11, errorCode: gateError)) }
        let target = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | ((high & 0xFFFF_FFFF) << 32)
        let selector = UInt16(truncatingIfNeeded: low >> 16)
        let ist = (low >> 32) & 7

        // The target must be 64-bit code (L=1, D=0) at or above the current privilege.
        let csError = UInt32(selector & ~3) + ext
        guard selector & ~3 != 0, let desc = try readDescriptor(selector), desc.isLongCode,
            desc.raw & (1 << 54) == 0, desc.dpl <= cpl
        else { throw .generalProtection(csError) }
        guard desc.present else { throw .fault(X86Exception(vector: 11, errorCode: csError)) }
        let newCPL = desc.isConforming ? cpl : desc.dpl
        guard isCanonical(target) else { throw .generalProtection(ext) }

        let oldRSP = regs[GPR.rsp.rawValue]
        var rsp = oldRSP
        if ist != 0 {
            rsp = try readTSSStackPointer(0x24 &+ (ist &- 1) &* 8, ext: ext)
        } else if newCPL < cpl {
            rsp = try readTSSStackPointer(4 &+ UInt64(newCPL) &* 8, ext: ext)
        }
        guard isCanonical(rsp) else { throw .fault(.stackFault(ext)) }
        rsp &= ~0xF
        var flagsImage = rflags
        if isFault { flagsImage |= RFlags.resume.rawValue }
        let slots: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
            UInt64(arch[.ss].selector), oldRSP, flagsImage, UInt64(arch[.cs].selector), returnRIP, UInt64(errorCode ?? 0)
        )
        let count = errorCode == nil ? 5 : 6
        // The pushes are made with the new privilege: a handler that stays at CPL 3 writes
        // its frame as user code would. Every slot is checked writable before any is written.
        let user = newCPL == 3
        let frameBase = rsp &- UInt64(count) * 8
        try fill(frameBase, access: .write, user: user)
        if (rsp &- 1) & ~0xFFF != frameBase & ~0xFFF { try fill((rsp &- 1) & ~0xFFF, access: .write, user: user) }
        for i in 0..<count {
            let v = switch i {
            case 0: slots.0
            case 1: slots.1
            case 2: slots.2
            case 3: slots.3
            case 4: slots.4
            default: slots.5
            }
            try writeSlow(rsp &- UInt64(i + 1) * 8, 8, v, user: user)
        }
        if newCPL < cpl {
            // Long mode loads SS with a null selector whose RPL is the new CPL.
            arch[.ss] = .null(selector: UInt16(newCPL))
        }
        regs[GPR.rsp.rawValue] = frameBase
        loadCodeSegment(desc.segment(selector: (selector & ~3) | UInt16(newCPL)))
        materializeFlags()
        flagsBase &= ~(Self.TF | RFlags.nestedTask.rawValue | RFlags.resume.rawValue | RFlags.virtual8086.rawValue)
        if type == 0xE { flagsBase &= ~Self.IF }
        rip = target
    }

    /// An RSPn or ISTn field of the current 64-bit TSS; #TS when it lies beyond TR's limit.
    private func readTSSStackPointer(_ offset: UInt64, ext: UInt32) throws(CPUEvent) -> UInt64 {
        guard offset &+ 7 <= UInt64(arch.tr.limit) else {
            throw .fault(X86Exception(vector: ExceptionVector.invalidTSS.rawValue, errorCode: UInt32(arch.tr.selector & ~3) + ext))
        }
        return try readSystem(arch.tr.base &+ offset, 8)
    }
}

extension VCPUExit {
    /// Exits for an instruction the hypervisor completes (it then advances RIP by `length`):
    /// that instruction counts as executed, so an interrupt shadow covering it ends.
    var completesInstruction: Bool {
        switch self {
        case .softwareInterrupt, .syscall, .hlt, .cpuid, .rdmsr, .wrmsr, .io, .controlRegisterWrite,
            .invlpg, .rdtsc, .rdrand, .xsetbv:
            true
        case .budgetExhausted, .exception, .physicalAccessFault, .tripleFault, .unsupportedMode:
            false
        }
    }
}
