import X86

/// x87 instructions (escape opcodes D8-DF) and FWAIT. The decoder stores the opcode's low
/// three bits and ModRM.reg in `sub`, ST(i) in `rm` for register forms, and FOP in
/// `immediate`, and has already turned the undefined encodings into #UD.
extension Interpreter {
    func executeX87(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let group = Int(d.sub >> 3)
        let reg = Int(d.sub & 7)
        if d.flags.contains(.memory) {
            switch group {
            case 0, 2, 4, 6: try x87ArithmeticWithMemory(p, group: group, reg: reg)
            case 1: try x87Group1Memory(p, reg: reg)
            case 3: try x87Group3Memory(p, reg: reg)
            case 5: try x87Group5Memory(p, reg: reg)
            default: try x87Group7Memory(p, reg: reg)
            }
        } else {
            try executeX87Register(p, group: group, reg: reg, i: Int(d.rm & 7))
        }
    }

    /// FWAIT: #NM only when CR0.MP and CR0.TS are both set; #MF for a pending exception.
    func executeFwait() throws(CPUEvent) {
        if arch.cr0.contains(.monitorCoprocessor) && arch.cr0.contains(.taskSwitched) { throw .fault(.deviceNotAvailable) }
        if arch.fpu.statusWord & X87Status.errorSummary != 0 && arch.cr0.contains(.numericError) { throw .fault(Self.mathFault) }
    }

    static let arithmeticOperations: [X87Arithmetic.Operation?] = [.add, .multiply, nil, nil, .subtract, .subtract, .divide, .divide]

    /// D8/DA/DC/DE with memory: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR on ST(0) and a
    /// single, 32-bit integer, double or 16-bit integer.
    func x87ArithmeticWithMemory(_ p: UnsafePointer<DecodedInstruction>, group: Int, reg: Int) throws(CPUEvent) {
        try x87Prologue(waiting: true)
        let (linear, offset) = x87Operand(p)
        let source: X87Conversion.Widened
        switch group {
        case 0: source = X87Conversion.widen(single: UInt32(truncatingIfNeeded: try read(linear, 4)))
        case 4: source = X87Conversion.widen(double: try read(linear, 8))
        case 2: source = .init(value: X87Conversion.fromInteger(Int64(Int32(truncatingIfNeeded: try read(linear, 4)))))
        default: source = .init(value: X87Conversion.fromInteger(Int64(Int16(truncatingIfNeeded: try read(linear, 2)))))
        }
        x87Remember(p, operand: offset)
        if reg == 2 || reg == 3 {
            x87Compare(with: source.value, pops: reg == 3 ? 1 : 0, ordered: true, denormalSource: source.denormal)
        } else {
            x87Arithmetic(reg: reg, destination: 0, source: source.value, reversed: reg == 5 || reg == 7, denormalSource: source.denormal)
        }
    }

    /// `ST(destination) ← ST(destination) op source` (or `source op ST(destination)` when
    /// reversed), popping afterwards when asked.
    func x87Arithmetic(reg: Int, destination: Int, source: X87Register?, reversed: Bool, denormalSource: Bool = false, pop: Bool = false) {
        guard let source, !x87IsEmpty(destination), let op = Self.arithmeticOperations[reg] else {
            if x87StackUnderflow() {
                x87Set(destination, .indefinite)
                if pop { x87Pop() }
            }
            return
        }
        let a = x87Get(destination)
        let control = x87Control
        let outcome = reversed
            ? X87Arithmetic.binary(op, source, a, control: control, denormalSource: denormalSource)
            : X87Arithmetic.binary(op, a, source, control: control, denormalSource: denormalSource)
        x87Commit(outcome, to: destination, pop: pop)
    }

    /// FCOM/FCOMP/FCOMPP/FUCOM*/FICOM*/FTST: C3 C2 C0 from comparing ST(0) with `source`
    /// (nil: an empty register), C1 cleared; then `pops` pops.
    func x87Compare(with source: X87Register?, pops: Int, ordered: Bool, denormalSource: Bool = false) {
        var flags: X87Exceptions = []
        var order = X87Order.unordered
        // The condition codes are set even when an unmasked exception (an empty operand
        // included) then keeps the stack from being popped.
        var pop = true
        if let source, !x87IsEmpty(0) {
            (order, flags) = X87Arithmetic.compare(x87Get(0), source, quietNaNIsInvalid: ordered, denormalSource: denormalSource)
            pop = !x87Suppresses(flags)
        } else {
            pop = x87StackUnderflow()
        }
        arch.fpu.statusWord = (arch.fpu.statusWord & ~(X87Status.c0 | X87Status.c2 | X87Status.c3)) | order.conditionCodes
        x87Signal(flags, c1: false)
        if pop { for _ in 0..<pops { x87Pop() } }
    }

    /// FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF PF CF from comparing ST(0) with ST(i); OF SF AF clear;
    /// C1 is left alone but for a stack underflow.
    func x87CompareIntoEFlags(_ i: Int, ordered: Bool, pop: Bool) {
        var flags: X87Exceptions = []
        var order = X87Order.unordered
        var popAllowed = true
        if !x87IsEmpty(0) && !x87IsEmpty(i) {
            (order, flags) = X87Arithmetic.compare(x87Get(0), x87Get(i), quietNaNIsInvalid: ordered)
            popAllowed = !x87Suppresses(flags)
        } else {
            popAllowed = x87StackUnderflow()
        }
        setStatusFlags(order.eflags, mask: Self.statusMask)
        x87Signal(flags)
        if pop && popAllowed { x87Pop() }
    }

    /// Pushes a loaded value: a stack overflow (ST(7) in use) pushes the QNaN indefinite when
    /// masked and nothing otherwise; an unmasked #IA from the load pushes nothing (a denormal
    /// is loaded even with #D unmasked: the conversion is exact).
    func x87Load(_ value: X87Register, flags: X87Exceptions = []) {
        guard x87IsEmpty(7) else {
            if x87StackOverflow() { x87Push(.indefinite) }
            return
        }
        if x87Control.unmasked(flags.intersection(.invalid)) {
            x87Signal(flags, c1: false)
            return
        }
        x87Push(value)
        x87Signal(flags, c1: false)
    }

    /// FLD m32/m64: SNaNs are invalid and loaded quiet, denormals raise #D.
    func x87Load(_ w: X87Conversion.Widened) {
        let signaling = w.value.kind == .signalingNaN
        var flags: X87Exceptions = signaling ? .invalid : []
        if w.denormal { flags.insert(.denormal) }
        x87Load(signaling ? w.value.quieted : w.value, flags: flags)
    }

    /// The value ST(0) stores: nil (after an underflow's flags) when ST(0) is empty and the
    /// invalid exception unmasked; the QNaN indefinite when masked.
    func x87StoreSource() -> X87Register? {
        guard x87IsEmpty(0) else { return x87Get(0) }
        return x87StackUnderflow() ? .indefinite : nil
    }

    /// Commits a store to memory of `bits` (nil: nothing stored) and its flags, then pops.
    /// The memory write comes first so that a fault there leaves the FPU as it was.
    func x87FinishStore(_ p: UnsafePointer<DecodedInstruction>, linear: UInt64, size: UInt8, bits: UInt64?, flags: X87Exceptions, roundedUp: Bool, pop: Bool) throws(CPUEvent) {
        if let bits { try write(linear, size, bits) }
        x87Remember(p, operand: x87Operand(p).offset)
        if bits == nil && x87Control.unmasked(flags) {
            x87Signal(flags, c1: false)
            return
        }
        x87Signal(flags, c1: roundedUp)
        if pop { x87Pop() }
    }

    /// FST/FSTP m32/m64 (`bits` 32 or 64).
    func x87StoreFloat(_ p: UnsafePointer<DecodedInstruction>, bits: Int, pop: Bool) throws(CPUEvent) {
        let linear = x87Operand(p).linear
        let size = UInt8(bits / 8)
        guard !x87IsEmpty(0) else {
            let masked = !x87Control.unmasked(.invalid)
            let indefinite: UInt64 = bits == 32 ? 0xFFC0_0000 : 0xFFF8_0000_0000_0000
            if masked { try write(linear, size, indefinite) }
            x87Remember(p, operand: x87Operand(p).offset)
            if x87StackUnderflow() && pop { x87Pop() }
            return
        }
        let r = X87Conversion.narrow(x87Get(0), toBits: bits, control: x87Control)
        try x87FinishStore(p, linear: linear, size: size, bits: r.bits, flags: r.flags, roundedUp: r.roundedUp, pop: pop)
    }

    /// FIST/FISTP/FISTTP to a `bytes`-byte integer.
    func x87StoreInteger(_ p: UnsafePointer<DecodedInstruction>, bytes: Int, truncate: Bool, pop: Bool) throws(CPUEvent) {
        let linear = x87Operand(p).linear
        let size = UInt8(bytes)
        guard !x87IsEmpty(0) else {
            if !x87Control.unmasked(.invalid) { try write(linear, size, 1 << UInt64(bytes * 8 - 1)) }
            x87Remember(p, operand: x87Operand(p).offset)
            if x87StackUnderflow() && pop { x87Pop() }
            return
        }
        let control = x87Control
        let r = X87Conversion.toInteger(x87Get(0), bytes: bytes, rounding: truncate ? .towardZero : control.rounding, control: control)
        try x87FinishStore(p, linear: linear, size: size, bits: r.bits, flags: r.flags, roundedUp: r.roundedUp, pop: pop)
    }
}
