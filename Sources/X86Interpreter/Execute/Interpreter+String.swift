import X86

/// Where one execution of a string instruction stopped.
enum StringProgress {
    /// The instruction is finished (one element, or the REP loop ended).
    case done
    /// The per-execution iteration cap was reached; RIP stays at the instruction.
    case more
}

extension Interpreter {
    /// Work units one execution of a REP string instruction may spend before it yields
    /// (RIP left at the instruction, registers describing the progress) so that the run loop
    /// can deliver interrupts and honour its budget. A bulk-copied element costs 1, an
    /// element done one at a time costs 16.
    static let stringWorkCap = 1 << 16

    /// MOVS CMPS STOS LODS SCAS INS OUTS, with REP/REPE/REPNE.
    ///
    /// Each element is architecturally one iteration: RSI/RDI/RCX are updated after every
    /// element that completes, so a fault leaves them at the faulting element with RIP at the
    /// instruction, as on hardware. The segment override applies to the RSI source only;
    /// ES:RDI has base 0 in 64-bit mode. With a 32-bit address size ESI/EDI/ECX are used.
    func executeString(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let repeated = d.flags.contains(.rep) || d.flags.contains(.repne)
        let progress: StringProgress
        switch d.op {
        case .ins, .outs: progress = try executeStringIO(p, repeated: repeated)
        default: progress = try executeStringMemory(p, repeated: repeated)
        }
        // RIP stays at a paused REP instruction so the next execution resumes it. (Only REP
        // forms pause; they end their decoded block, and the dispatcher leaves RIP to us.)
        if progress == .done { rip = nextRIP(p) }
    }

    private func executeStringMemory(_ p: UnsafePointer<DecodedInstruction>, repeated: Bool) throws(CPUEvent) -> StringProgress {
        let d = p.pointee
        let size = d.size
        let asz = d.addressSize
        let amask = sizeMask(asz)
        let sourceBase = d.segment == DecodedInstruction.noRegister ? 0 : segmentBase(d.segment)
        let backward = flagsBase & Self.DF != 0
        let step = backward ? 0 &- UInt64(size) : UInt64(size)
        let usesSource = d.op == .movs || d.op == .cmps || d.op == .lods
        let usesDestination = d.op != .lods
        // REPE/REPNE matter only to CMPS and SCAS; elsewhere F2 and F3 both mean REP.
        let conditional = d.op == .cmps || d.op == .scas
        let stopWhenEqual = d.flags.contains(.repne)

        var work = 0
        while true {
            var count: UInt64 = 0
            if repeated {
                count = reg(1, asz)
                if count == 0 {
                    if asz == 4 { zeroExtendIdleRepRegisters(d.op) }
                    return .done
                }
                if work >= stringWorkLimit { return .more }
            }
            let rsi = reg(6, asz)
            let rdi = reg(7, asz)
            // Bulk path: forward MOVS/STOS within one page of each operand, in host memory.
            if repeated && !backward && asz == 8 && (d.op == .movs || d.op == .stos),
                let n = try bulkMoveOrStore(d, count: count, source: sourceBase &+ rsi, destination: rdi,
                    limit: UInt64(stringWorkLimit - work))
            {
                let bytes = n &* UInt64(size)
                if d.op == .movs { setReg(6, asz, rsi &+ bytes) }
                setReg(7, asz, rdi &+ bytes)
                setReg(1, asz, count &- n)
                work += Int(n)
                continue
            }
            var value: UInt64 = 0
            if usesSource { value = try read(sourceBase &+ rsi, size) }
            switch d.op {
            case .movs:
                try write(rdi, size, value)
            case .stos:
                try write(rdi, size, reg(0, size))
            case .lods:
                setReg(0, size, value)
            case .cmps:
                let other = try read(rdi, size)
                setLazy(.sub, size: size, result: (value &- other) & sizeMask(size), a: value, b: other)
            default:  // .scas
                let other = try read(rdi, size)
                let a = reg(0, size)
                setLazy(.sub, size: size, result: (a &- other) & sizeMask(size), a: a, b: other)
            }
            if usesSource { setReg(6, asz, (rsi &+ step) & amask) }
            if usesDestination { setReg(7, asz, (rdi &+ step) & amask) }
            guard repeated else { return .done }
            setReg(1, asz, count &- 1)
            if count == 1 { return .done }
            if conditional && zeroFlag == stopWhenEqual { return .done }
            work += 16
        }
    }

    /// A REP with a 32-bit address size and ECX = 0 still writes ECX, and MOVS/STOS also
    /// the pointers they use, zero-extending them (measured on the host's Intel CPU).
    private func zeroExtendIdleRepRegisters(_ op: Op) {
        setReg(1, 4, 0)
        if op == .movs { setReg(6, 4, reg(6, 4)) }
        if op == .movs || op == .stos { setReg(7, 4, reg(7, 4)) }
    }

    /// Copies or stores up to `count` elements forward between host pointers while both
    /// operands stay within their current pages. Returns how many, or nil when the next
    /// element must go the slow way (it straddles a page, or its page holds decoded code).
    private func bulkMoveOrStore(_ d: DecodedInstruction, count: UInt64, source: UInt64, destination: UInt64, limit: UInt64) throws(CPUEvent) -> UInt64? {
        let size = UInt64(d.size)
        var n = min(count, limit, (4096 &- (destination & 0xFFF)) / size)
        if d.op == .movs { n = min(n, (4096 &- (source & 0xFFF)) / size) }
        guard n > 1 else { return nil }
        let bytes = Int(n &* size)
        if d.op == .stos {
            guard let dst = try writablePointer(destination, d.size) else { return nil }
            let value = reg(0, d.size)
            switch d.size {
            case 1: dst.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: value), count: bytes)
            default:
                for i in 0..<Int(n) { Self.store(dst + i &* Int(size), d.size, value) }
            }
            return n
        }
        // The source is read (and may fault) before the destination is checked.
        let src = try readablePointer(source)
        guard let dst = try writablePointer(destination, d.size) else { return nil }
        if dst > src && dst < src + bytes {
            // Overlap with the destination ahead: element order is visible, copy forward.
            for i in 0..<Int(n) {
                let offset = i &* Int(size)
                Self.store(dst + offset, d.size, Self.load(src + offset, d.size))
            }
        } else {
            dst.copyMemory(from: src, byteCount: bytes)
        }
        return n
    }

    /// A host pointer for reading at `linear`, valid to the end of its page.
    private func readablePointer(_ linear: UInt64) throws(CPUEvent) -> UnsafeMutableRawPointer {
        let e = tlb.read + SoftTLB.slot(linear)
        if e.pointee.tag == (linear & ~0xFFF) | userTag, let h = e.pointee.host {
            return h + Int(linear & 0xFFF)
        }
        return try fill(linear, access: .read, user: cpl == 3).host + Int(linear & 0xFFF)
    }

    /// INS/OUTS. The I/O privilege check comes first (#GP(0)); an intercepted port exits with
    /// RIP at the instruction and nothing done (the hypervisor emulates the whole
    /// instruction, REP included); otherwise reads from the port see all-ones and writes are
    /// dropped, element by element.
    private func executeStringIO(_ p: UnsafePointer<DecodedInstruction>, repeated: Bool) throws(CPUEvent) -> StringProgress {
        let d = p.pointee
        let size = min(d.size, 4)
        let port = UInt16(truncatingIfNeeded: gpr(.rdx))
        let isWrite = d.op == .outs
        try checkIOPrivilege(port: port, size: size)
        if intercepts.ioPorts.any(from: port, size: size) {
            let access = IOAccess(port: port, size: size, isWrite: isWrite, isString: true, hasRepPrefix: repeated)
            throw .exit(.io(access, length: d.length))
        }
        let asz = d.addressSize
        let amask = sizeMask(asz)
        let sourceBase = d.segment == DecodedInstruction.noRegister ? 0 : segmentBase(d.segment)
        let step = flagsBase & Self.DF != 0 ? 0 &- UInt64(size) : UInt64(size)
        var work = 0
        while true {
            var count: UInt64 = 0
            if repeated {
                count = reg(1, asz)
                if count == 0 { return .done }
                if work >= stringWorkLimit { return .more }
            }
            if isWrite {
                let rsi = reg(6, asz)
                _ = try read(sourceBase &+ rsi, size)  // the value goes to a port nobody decodes
                setReg(6, asz, (rsi &+ step) & amask)
            } else {
                let rdi = reg(7, asz)
                try write(rdi, size, sizeMask(size))
                setReg(7, asz, (rdi &+ step) & amask)
            }
            guard repeated else { return .done }
            setReg(1, asz, count &- 1)
            if count == 1 { return .done }
            work += 16
        }
    }

    /// The protected-mode I/O permission check: at CPL > IOPL the access needs the TSS I/O
    /// permission bitmap, which Kite does not consult yet, so it is refused with #GP(0).
}
