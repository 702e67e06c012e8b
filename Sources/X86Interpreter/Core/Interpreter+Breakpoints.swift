import X86

/// Hardware breakpoints DR0-DR3 (SDM vol. 3, 17.2-17.3.1).
///
/// Zero cost while none is enabled: nothing on the per-instruction or per-access fast paths
/// looks at them. Enabling one (MOV DR, or a state set by the hypervisor) flushes the TLBs and
/// sends the run loop to `runSingleStep`, which checks instruction breakpoints before each
/// instruction and raises the data-breakpoint trap after it. Pages holding a data breakpoint
/// get no TLB entry for the accesses it watches, so every such access reaches `readSlow` or
/// `writeSlow`, which record the hits (`noteDataAccess`).
extension Interpreter {
    /// Re-decodes DR0-DR3/DR7 after they may have changed.
    func reloadBreakpoints() {
        guard breakpoints.reload(from: arch.debugRegisters) else { return }
        // Drops TLB entries of newly watched pages; the generation bump also kills block
        // links, so a running block chain returns to the run loop (`runBlocks`).
        tlb.flushAll()
        endBlock()
    }

    /// After `fill` while armed: a page holding a data breakpoint keeps no TLB entry for the
    /// accesses it watches, so they all reach `readSlow`/`writeSlow`.
    @inline(never)
    func dropWatchedEntries(slot i: Int, linear: UInt64) {
        if breakpoints.watchesPage(linear, write: false) { tlb.read[i] = TLBEntry() }
        if breakpoints.watchesPage(linear, write: true) { tlb.write[i] = TLBEntry() }
    }

    /// Records the data breakpoints an access hits (called only while armed).
    @inline(never)
    func noteDataAccess(_ linear: UInt64, _ size: UInt8, write: Bool) {
        breakpoints.pendingDataHits |= breakpoints.dataHits(linear, Int(size), write: write)
    }

    /// Before an instruction while armed: its instruction breakpoints, a fault-class #DB with
    /// RIP at the instruction, unless RF is set.
    func checkInstructionBreakpoints() throws(CPUEvent) {
        if flagsBase & RFlags.resume.rawValue != 0 { return }
        let hits = breakpoints.instructionHits(at: rip)
        guard hits != 0 else { return }
        setDebugStatus(hits)
        throw .fault(X86Exception(vector: ExceptionVector.debug.rawValue))
    }

    /// After an instruction completed while armed: RF clears (IRET loads it instead), and the
    /// data breakpoints hit are returned as the DR6 bits of the trap to raise now. A REP
    /// instruction stopped between iterations sets RF instead: a trap or interrupt taken there
    /// pushes RF = 1 (SDM vol. 3, 17.3.1.1), and continuing it does not check its instruction
    /// breakpoint again. MOV SS holds the hits until after the next instruction; INT n
    /// discards them, as it does the single-step trap (its delivery already left the
    /// instruction).
    func completeBreakpointStep(_ d: DecodedInstruction, startedAt start: UInt64) -> UInt64 {
        if rip == start && Self.isString(d.op) {
            flagsBase |= RFlags.resume.rawValue
        } else if d.op != .iret {
            flagsBase &= ~RFlags.resume.rawValue
        }
        switch d.op {
        case .movToSegment where d.reg & 7 == UInt8(SegmentRegister.ss.rawValue):
            breakpoints.holdDataHits = true
            return 0
        case .int, .int3, .int1:
            breakpoints.pendingDataHits = 0
            return 0
        default:
            let hits = breakpoints.pendingDataHits
            breakpoints.pendingDataHits = 0
            return hits
        }
    }

    static func isString(_ op: Op) -> Bool {
        switch op {
        case .movs, .cmps, .stos, .lods, .scas, .ins, .outs: true
        default: false
        }
    }
}
