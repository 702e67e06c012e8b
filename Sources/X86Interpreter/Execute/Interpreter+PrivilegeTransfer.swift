import X86

extension Interpreter {
    /// INT n, INT3, INT1: an exit when software interrupts are intercepted (INT n, INT3), a
    /// trap-style exception exit when #BP/#DB is (INT3, INT1), else delivery through the IDT
    /// (INT n and INT3 check the gate's DPL; all return after the instruction).
    func executeSoftwareInterrupt(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let vector: UInt8 = d.op == .int ? UInt8(truncatingIfNeeded: d.immediate) : (d.op == .int3 ? 3 : 1)
        // INT1 (ICEBP) is a debug exception, not a software interrupt: the exception bitmap
        // decides whether it exits, as under VT-x.
        if intercepts.softwareInterrupts && d.op != .int1 {
            throw .exit(.softwareInterrupt(vector: vector, length: d.length))
        }
        if (d.op == .int1 || d.op == .int3) && intercepts.intercepts(exception: vector) {
            // #DB from INT1 and #BP are traps: reported with RIP after the instruction.
            rip = nextRIP(p)
            throw .fault(X86Exception(vector: vector))
        }
        try deliver(vector: vector, errorCode: nil, source: d.op == .int1 ? .hardware : .software, returnRIP: nextRIP(p))
    }

    /// SYSCALL (SDM vol. 2): needs EFER.SCE in 64-bit mode; exits when intercepted.
    func executeSyscall(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        guard arch.efer.contains(.syscallEnable) else { throw .undefinedOpcode }
        if intercepts.syscall { throw .exit(.syscall(length: d.length)) }
        setGPR(.rcx, nextRIP(p))
        setGPR(.r11, rflags & ~RFlags.resume.rawValue)
        let selector = UInt16(truncatingIfNeeded: arch.star >> 32) & 0xFFFC
        arch[.ss] = Self.flatSegment(selector: selector &+ 8, code: false, long: false, dpl: 0)
        loadCodeSegment(Self.flatSegment(selector: selector, code: true, long: true, dpl: 0))
        flagsBase &= ~(arch.sfmask | RFlags.resume.rawValue)
        flagsBase |= 2
        rip = arch.lstar
    }

    /// SYSRET: CPL 0 only; with REX.W to 64-bit code at STAR[63:48]+16, else to 32-bit
    /// compatibility-mode code at STAR[63:48]. A non-canonical RCX raises #GP(0) at CPL 0
    /// (Intel's behaviour, the one that made it a security bug on other systems).
    func executeSysret(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        guard arch.efer.contains(.syscallEnable) else { throw .undefinedOpcode }
        try requireCPL0()
        let to64 = d.flags.contains(.rexW)
        let target = to64 ? gpr(.rcx) : gpr(.rcx) & 0xFFFF_FFFF
        guard isCanonical(target) else { throw .generalProtection(0) }
        let base = UInt16(truncatingIfNeeded: arch.star >> 48)
        materializeFlags()
        flagsBase = (gpr(.r11) & 0x3C_7FD7) | 2
        arch[.ss] = Self.flatSegment(selector: (base &+ 8) | 3, code: false, long: false, dpl: 3)
        loadCodeSegment(Self.flatSegment(selector: (to64 ? base &+ 16 : base) | 3, code: true, long: to64, dpl: 3))
        rip = target
        // Unlike IRET, a SYSRET that sets TF traps right after itself, in user mode.
        if flagsBase & Self.TF != 0 {
            setDebugStatus(Self.dr6SingleStep)
            throw .fault(X86Exception(vector: ExceptionVector.debug.rawValue))
        }
    }

    /// IRET in 64-bit mode: pops RIP, CS, RFLAGS, RSP and SS (eight bytes each with REX.W,
    /// four without), returning to the same or an outer privilege level.
    func executeIret(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size: UInt8 = d.flags.contains(.rexW) ? 8 : (d.size == 2 ? 2 : 4)
        let step = UInt64(size)
        let newRIP = try peek(size: size)
        let csSel = UInt16(truncatingIfNeeded: try peek(size: size, offset: step))
        let newFlags = try peek(size: size, offset: 2 &* step)
        let newRSP = try peek(size: size, offset: 3 &* step)
        let ssSel = UInt16(truncatingIfNeeded: try peek(size: size, offset: 4 &* step))
        let newCPL = UInt8(csSel & 3)
        guard newCPL >= cpl else { throw .generalProtection(UInt32(csSel & ~3)) }
        let cs = try checkedCodeSegment(csSel, newCPL: newCPL)
        guard isCanonical(newRIP) else { throw .generalProtection(0) }
        // RFLAGS as POPF would change it, judged at the old CPL.
        var changeable: UInt64 = Self.statusMask | Self.TF | Self.DF | RFlags.nestedTask.rawValue
            | RFlags.alignmentCheck.rawValue | RFlags.id.rawValue
            | RFlags.virtualInterrupt.rawValue | RFlags.virtualInterruptPending.rawValue
        // RF only suppresses an instruction breakpoint and clears after the next instruction:
        // it is restored only while breakpoints are armed, where the stepping loop clears it
        // (the fast path never would).
        if breakpoints.armed { changeable |= RFlags.resume.rawValue }
        let iopl = UInt8((flagsBase >> 12) & 3)
        if cpl == 0 { changeable |= RFlags.iopl.rawValue }
        if cpl <= iopl { changeable |= Self.IF }
        if size == 4 { changeable &= 0xFFFF_FFFF } else if size == 2 { changeable &= 0xFFFF }
        let savedCS = arch[.cs]
        try switchCodeAndStack(to: cs, stackSelector: ssSel)
        if newCPL > UInt8(savedCS.selector & 3) { nullifyPrivilegedDataSegments() }
        materializeFlags()
        flagsBase = ((flagsBase & ~changeable) | (newFlags & changeable)) | 2
        regs[GPR.rsp.rawValue] = size == 8 ? newRSP : newRSP & sizeMask(size)
        rip = newRIP
    }

    /// Loads CS (and with it CPL) and then SS as a return to `cs` does; if SS faults, both are
    /// restored so the fault is reported at the returning instruction with the old privilege.
    func switchCodeAndStack(to cs: Segment, stackSelector: UInt16) throws(CPUEvent) {
        let savedCS = arch[.cs]
        let savedSS = arch[.ss]
        loadCodeSegment(cs)
        do throws(CPUEvent) {
            try loadSegment(.ss, selector: stackSelector)
        } catch {
            arch[.ss] = savedSS
            loadCodeSegment(savedCS)
            throw error
        }
    }
}
