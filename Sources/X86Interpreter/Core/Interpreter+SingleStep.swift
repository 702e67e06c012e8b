import X86

/// Single-stepping (RFLAGS.TF; SDM vol. 3, 18.3.1.4): an instruction that starts with TF
/// set raises a trap-class #DB when it completes, with RIP after it and DR6.BS set.
///
/// The fast path never looks at TF inside a block: only POPF, IRET and SYSRET (each ends its
/// block) and the hypervisor (between runs) can set it, so the run loop checks it between
/// blocks and steps through `runSingleStep` one instruction at a time while it is set (or
/// while hardware breakpoints are armed: `Interpreter+Breakpoints`).
extension Interpreter {
    /// DR6.BS: the #DB was a single step.
    static let dr6SingleStep: UInt64 = 1 << 14

    /// Executes exactly one instruction (one iteration of a REP string instruction) while TF
    /// is set or hardware breakpoints are armed. An instruction breakpoint faults before it;
    /// after it completes, one trap-class #DB reports the single step (if TF was set as it
    /// started) and the data breakpoints it hit. Faults and exits propagate as from
    /// `runBlocks`, without a trap (the instruction did not complete, or the hypervisor
    /// completes it).
    func runSingleStep(_ remaining: inout Int) throws(CPUEvent) {
        stringWorkLimit = 1
        defer { stringWorkLimit = Self.stringWorkCap }
        let stepping = flagsBase & Self.TF != 0
        let start = rip
        let armed = breakpoints.armed
        if armed {
            try checkInstructionBreakpoints()
            if breakpoints.holdDataHits { breakpoints.holdDataHits = false } else { breakpoints.pendingDataHits = 0 }
        }
        let instruction: UnsafePointer<DecodedInstruction>
        if let block = try lookupBlock(&remaining) {
            guard let first = block.pointee.first else { return }
            instruction = UnsafePointer(first)
            // A one-instruction block, as far as the instruction can tell.
            blockEnd = UInt(bitPattern: first + 1)
            try execute(instruction)
            retireInstructions(1)
            remaining -= 1
        } else {
            // An instruction straddling a page was decoded into the scratch slot and has run.
            instruction = UnsafePointer(blocks.scratch)
        }
        var status = armed ? completeBreakpointStep(instruction.pointee, startedAt: start) : 0
        if stepping && singleStepTrapFollows(instruction.pointee) { status |= Self.dr6SingleStep }
        guard status != 0 else { return }
        setDebugStatus(status)
        throw .fault(X86Exception(vector: ExceptionVector.debug.rawValue))
    }

    /// Whether the single-step trap of an instruction that started with TF set and completed
    /// is taken now.
    func singleStepTrapFollows(_ d: DecodedInstruction) -> Bool {
        switch d.op {
        case .int, .int3, .int1:
            // Delivered through the IDT (an intercepted one has left as an exit or #BP/#DB):
            // event delivery clears TF and discards the pending trap; it is taken again only
            // after the handler's IRET restores TF.
            return false
        case .syscall:
            // SYSCALL decides by the TF it leaves: with TF in IA32_FMASK the kernel's first
            // instruction is not trapped (Linux's entry code relies on it).
            return flagsBase & Self.TF != 0
        case .sysret:
            // A SYSRET that leaves TF set has raised the trap itself (`executeSysret`).
            return false
        case .movToSegment where d.reg & 7 == UInt8(SegmentRegister.ss.rawValue):
            // MOV SS holds debug traps until after the next instruction, whose trap (TF is
            // still set) reports both.
            return false
        default:
            return true
        }
    }

    /// ORs status bits into DR6 (the processor never clears DR6 bits itself).
    func setDebugStatus(_ bits: UInt64) {
        if arch.debugRegisters.count < 8 { arch.debugRegisters = CPUState().debugRegisters }
        arch.debugRegisters[6] |= bits
    }
}
