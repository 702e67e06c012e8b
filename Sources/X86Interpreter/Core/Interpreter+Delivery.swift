import X86

/// Where an event delivered through the IDT comes from; it decides the gate-DPL check and
/// how a fault during delivery is treated.
enum EventSource {
    /// INT n / INT3: the gate's DPL must be at least CPL.
    case software
    /// Exceptions, NMI, external interrupts, INT1.
    case hardware
}

extension Interpreter {
    /// Handles an exception raised by an instruction: returns the exit when the vector is
    /// intercepted, else delivers it through the guest IDT (escalating to #DF and to a
    /// triple-fault exit as the CPU does) and returns nil.
    func raise(_ e: X86Exception) -> VCPUExit? {
        if intercepts.intercepts(exception: e.vector) { return .exception(e) }
        return deliverException(e, nesting: 0)
    }

    private func deliverException(_ e: X86Exception, nesting: Int) -> VCPUExit? {
        if e.vector == ExceptionVector.pageFault.rawValue, let a = e.faultAddress { arch.cr2 = a }
        do throws(CPUEvent) {
            try deliver(vector: e.vector, errorCode: e.errorCode, source: .hardware, returnRIP: rip)
            return nil
        } catch {
            switch error {
            case .exit(let exit): return exit
            case .fault(let second):
                // A fault while delivering: benign pairs deliver the second; contributory
                // or page-fault pairs become #DF; a fault delivering #DF shuts the CPU down.
                if e.vector == ExceptionVector.doubleFault.rawValue || nesting >= 2 { return .tripleFault }
                let escalate = Self.isDoubleFaultPair(first: e.vector, second: second.vector)
                let next = escalate ? X86Exception(vector: ExceptionVector.doubleFault.rawValue, errorCode: 0) : second
                if intercepts.intercepts(exception: next.vector) { return .exception(next) }
                return deliverException(next, nesting: nesting + 1)
            }
        }
    }

    /// SDM vol. 3, table 6-5.
    static func isDoubleFaultPair(first: UInt8, second: UInt8) -> Bool {
        let contributory: Set<UInt8> = [0, 10, 11, 12, 13]
        if contributory.contains(first) { return contributory.contains(second) }
        if first == ExceptionVector.pageFault.rawValue { return contributory.contains(second) || second == 14 }
        return false
    }

    /// Delivers the first queued injected event that can be delivered now. External
    /// interrupts wait for IF=1 and the end of an interrupt shadow.
    func deliverPendingEvent() throws(CPUEvent) {
        guard let event = pendingEvents.first else { return }
        switch event.kind {
        case .externalInterrupt:
            guard flagsBase & Self.IF != 0, retiredInstructions >= interruptShadowEnd else { return }
            pendingEvents.removeFirst()
            try deliver(vector: event.vector, errorCode: nil, source: .hardware, returnRIP: rip)
        case .nmi:
            pendingEvents.removeFirst()
            try deliver(vector: 2, errorCode: nil, source: .hardware, returnRIP: rip)
        case .hardwareException:
            pendingEvents.removeFirst()
            if let a = event.faultAddress { arch.cr2 = a }
            try deliver(vector: event.vector, errorCode: event.errorCode, source: .hardware, returnRIP: rip)
        case .softwareInterrupt(let length):
            pendingEvents.removeFirst()
            try deliver(vector: event.vector, errorCode: nil, source: .software, returnRIP: rip &+ UInt64(length))
        }
    }

    /// Delivers `vector` through the 64-bit IDT (SDM vol. 3, 6.14): gate checks, the
    /// privilege-changing stack switch through TSS.RSPn or an IST stack, the 16-byte-aligned
    /// frame SS, RSP, RFLAGS, CS, RIP [, error code], and the RFLAGS changes of the gate type.
    func deliver(vector: UInt8, errorCode: UInt32?, source: EventSource, returnRIP: UInt64) throws(CPUEvent) {
        let ext: UInt32 = source == .hardware ? 1 : 0
        let gateError = UInt32(vector) * 8 + 2 + ext
        let offset = UInt64(vector) * 16
        guard offset + 15 <= UInt64(arch.idtr.limit) else { throw .generalProtection(gateError) }
        let low = try readSystem(arch.idtr.base &+ offset, 8)
        let high = try readSystem(arch.idtr.base &+ offset &+ 8, 8)
        let type = UInt8((low >> 40) & 0xF)
        guard type == 0xE || type == 0xF else { throw .generalProtection(gateError) }
        let gateDPL = UInt8((low >> 45) & 3)
        if source == .software && cpl > gateDPL { throw .generalProtection(gateError) }
        guard low & (1 << 47) != 0 else { throw .fault(X86Exception(vector: 11, errorCode: gateError)) }
        let target = (low & 0xFFFF) | ((low >> 32) & 0xFFFF_0000) | ((high & 0xFFFF_FFFF) << 32)
        let selector = UInt16(truncatingIfNeeded: low >> 16)
        let ist = Int((low >> 32) & 7)

        guard selector & ~3 != 0, let desc = try readDescriptor(selector), desc.isLongCode, desc.dpl <= cpl else {
            throw .generalProtection(UInt32(selector & ~3) + ext)
        }
        guard desc.present else { throw .fault(X86Exception(vector: 11, errorCode: UInt32(selector & ~3) + ext)) }
        let newCPL = desc.isConforming ? cpl : desc.dpl
        guard isCanonical(target) else { throw .generalProtection(ext) }

        var rsp = regs[GPR.rsp.rawValue]
        if ist != 0 {
            rsp = try readSystem(arch.tr.base &+ 0x24 &+ UInt64(ist - 1) * 8, 8)
        } else if newCPL < cpl {
            rsp = try readSystem(arch.tr.base &+ 4 &+ UInt64(newCPL) * 8, 8)
        }
        guard isCanonical(rsp) else { throw .fault(.stackFault(ext)) }
        rsp &= ~0xF
        let frame: [UInt64] = [
            UInt64(arch[.ss].selector), regs[GPR.rsp.rawValue], rflags, UInt64(arch[.cs].selector), returnRIP,
        ] + (errorCode.map { [UInt64($0)] } ?? [])
        // Every slot is checked writable (as the new privilege) before anything is pushed.
        let frameBase = rsp &- UInt64(frame.count) * 8
        try probeSystemWrite(frameBase, count: frame.count)
        for (i, v) in frame.enumerated() {
            try writeSystem(rsp &- UInt64(i + 1) * 8, 8, v)
        }
        if newCPL < cpl {
            arch[.ss] = .null(selector: UInt16(newCPL))
        }
        regs[GPR.rsp.rawValue] = frameBase
        loadCodeSegment(desc.segment(selector: (selector & ~3) | UInt16(newCPL)))
        materializeFlags()
        flagsBase &= ~(Self.TF | RFlags.nestedTask.rawValue | RFlags.resume.rawValue | RFlags.virtual8086.rawValue)
        if type == 0xE { flagsBase &= ~Self.IF }
        rip = target
    }

    private func probeSystemWrite(_ base: UInt64, count: Int) throws(CPUEvent) {
        var a = base
        let end = base &+ UInt64(count) * 8
        while a < end {
            try fill(a, access: .write, user: false)
            a = (a | 0xFFF) &+ 1
        }
        try fill(end &- 1, access: .write, user: false)
    }
}
