import X86

/// The x87 register stack, status word and exception bookkeeping (SDM vol. 1, 8.1 and 8.5).
extension Interpreter {
    static let mathFault = X86Exception(vector: ExceptionVector.x87FloatingPoint.rawValue)

    /// The checks every x87 instruction makes first: #NM when CR0.EM or CR0.TS is set, then,
    /// for waiting instructions, #MF when an unmasked exception is pending and CR0.NE is set.
    /// (With CR0.NE clear a PC would signal FERR# to an interrupt controller this CPU does
    /// not have; the exception then stays pending as if IGNNE# were asserted.)
    func x87Prologue(waiting: Bool) throws(CPUEvent) {
        if arch.cr0.contains(.emulation) || arch.cr0.contains(.taskSwitched) { throw .fault(.deviceNotAvailable) }
        if waiting && arch.fpu.statusWord & X87Status.errorSummary != 0 && arch.cr0.contains(.numericError) {
            throw .fault(Self.mathFault)
        }
    }

    var x87Control: X87Control { X87Control(word: arch.fpu.controlWord) }

    /// Control-word bits that exist: the masks, PC, RC and the (ignored) infinity control;
    /// bit 6 reads as one and the others as zero, as the processor keeps them.
    func x87LoadControlWord(_ word: UInt16) {
        arch.fpu.controlWord = word & 0x1F3F | 0x40
        x87UpdateErrorSummary()
    }

    @inline(__always) func x87Physical(_ i: Int) -> Int { (arch.fpu.top + i) & 7 }
    func x87IsEmpty(_ i: Int) -> Bool { arch.fpu.abridgedTags & (1 << UInt8(x87Physical(i))) == 0 }
    func x87Get(_ i: Int) -> X87Register { arch.fpu.registers[x87Physical(i)] }

    func x87Set(_ i: Int, _ v: X87Register) {
        let r = x87Physical(i)
        arch.fpu.registers[r] = v
        arch.fpu.abridgedTags |= 1 << UInt8(r)
    }

    func x87SetTop(_ top: Int) {
        arch.fpu.statusWord = (arch.fpu.statusWord & ~X87Status.topMask) | UInt16((top & 7) << 11)
    }

    func x87Push(_ v: X87Register) {
        x87SetTop(arch.fpu.top - 1)
        x87Set(0, v)
    }

    func x87Pop() {
        arch.fpu.abridgedTags &= ~(1 << UInt8(arch.fpu.top))
        x87SetTop(arch.fpu.top + 1)
    }

    /// Records exception flags (sticky) and C1 (nil leaves it), and updates ES and B. An
    /// unmasked exception also records the instruction's FOP and FDP.
    func x87Signal(_ flags: X87Exceptions, c1: Bool? = nil) {
        if x87Control.unmasked(flags) {
            arch.fpu.lastOpcode = x87Pending.opcode
            if let operand = x87Pending.operand { arch.fpu.lastDataPointer = operand }
        }
        var sw = arch.fpu.statusWord | (flags.rawValue & 0x7F)
        if let c1 { sw = c1 ? sw | X87Status.c1 : sw & ~X87Status.c1 }
        arch.fpu.statusWord = sw
        x87UpdateErrorSummary()
    }

    /// ES (and B, its copy) are set exactly while an unmasked exception flag is set.
    func x87UpdateErrorSummary() {
        let pending = arch.fpu.statusWord & ~arch.fpu.controlWord & 0x3F != 0
        arch.fpu.statusWord = pending
            ? arch.fpu.statusWord | X87Status.errorSummary | X87Status.busy
            : arch.fpu.statusWord & ~(X87Status.errorSummary | X87Status.busy)
    }

    /// Whether `flags` include an unmasked exception that leaves the destination unchanged.
    func x87Suppresses(_ flags: X87Exceptions) -> Bool {
        x87Control.unmasked(flags.intersection(.preComputation))
    }

    /// Stack underflow (an empty register read): IE and SF with C1 = 0. Returns whether the
    /// masked response (the QNaN indefinite as the result) applies.
    func x87StackUnderflow() -> Bool {
        x87Signal([.invalid, .stackFault], c1: false)
        return !x87Control.unmasked(.invalid)
    }

    /// Stack overflow (a push onto a full register): IE and SF with C1 = 1.
    func x87StackOverflow() -> Bool {
        x87Signal([.invalid, .stackFault], c1: true)
        return !x87Control.unmasked(.invalid)
    }

    /// Remembers a non-control instruction for FSTENV/FSAVE/FXSAVE. As on recent Intel
    /// processors, FIP records every one, FOP and FDP (its memory operand's offset) only one
    /// that raises an unmasked exception; FCS and FDS are deprecated and read as zero.
    func x87Remember(_ p: UnsafePointer<DecodedInstruction>, operand: UInt64? = nil) {
        arch.fpu.lastInstructionPointer = rip
        x87Pending = (UInt16(truncatingIfNeeded: p.pointee.immediate) & 0x7FF, operand)
    }

    /// The linear address of the memory operand and its offset within the segment (FDP).
    func x87Operand(_ p: UnsafePointer<DecodedInstruction>) -> (linear: UInt64, offset: UInt64) {
        let linear = effectiveAddress(p)
        let segment = p.pointee.segment
        return (linear, segment == DecodedInstruction.noRegister ? linear : linear &- segmentBase(segment))
    }

    /// Commits an arithmetic result to ST(`destination`), popping when asked: nothing but the
    /// flags changes when an unmasked invalid, denormal or zero-divide exception occurred.
    func x87Commit(_ outcome: X87Outcome, to destination: Int, pop: Bool = false) {
        if x87Suppresses(outcome.flags) {
            x87Signal(outcome.flags, c1: false)
            return
        }
        if let v = outcome.value { x87Set(destination, v) }
        x87Signal(outcome.flags, c1: outcome.roundedUp)
        if pop { x87Pop() }
    }

    /// FNINIT: the control word 037FH, empty registers, cleared status and pointers.
    func x87Initialize() {
        arch.fpu.controlWord = 0x037F
        arch.fpu.statusWord = 0
        arch.fpu.abridgedTags = 0
        arch.fpu.lastOpcode = 0
        arch.fpu.lastInstructionPointer = 0
        arch.fpu.lastDataPointer = 0
    }

    /// The two-bit tag of physical register `r` as FSTENV and FSAVE store it: 00 valid,
    /// 01 zero, 10 special (NaN, infinity, denormal, unsupported), 11 empty.
    func x87FullTag(_ r: Int) -> UInt16 {
        guard arch.fpu.abridgedTags & (1 << UInt8(r)) != 0 else { return 3 }
        switch arch.fpu.registers[r].kind {
        case .normal: return 0
        case .zero: return 1
        default: return 2
        }
    }

    var x87TagWord: UInt16 {
        (0..<8).reduce(0) { $0 | x87FullTag($1) << UInt16(2 * $1) }
    }
}
