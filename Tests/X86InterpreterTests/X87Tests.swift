import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// x87 behaviour beyond single instructions: #NM and #MF, FWAIT, the environment images,
/// rounding control, the masked responses and the decoder's undefined forms. (Each
/// instruction's results are cross-checked against the host in X87CrossCheckTests.)
@Suite struct X87Tests {
    /// Runs `code` + HLT with RSI at the data area holding `memory`.
    func run(_ code: [UInt8], memory: [UInt8] = [], setup: (inout CPUState) -> Void = { _ in }) throws -> (CPUState, VCPUExit, TestMachine) {
        let m = try TestMachine(code: code + [0xF4])
        m.memory.write(memory, at: MachineAddress(TestMachine.dataBase))
        var s = m.state
        s[.rsi] = TestMachine.dataBase
        setup(&s)
        m.state = s
        let exit = m.run()
        return (m.state, exit, m)
    }

    func load64(_ m: TestMachine, _ offset: UInt64 = 0) -> UInt64 { m.load64(TestMachine.dataBase + offset) ?? 0 }

    @Test func addAndStoreADouble() throws {
        // fninit; fld1; fld1; faddp st1, st0 (DE C1); fstp qword [rsi] (DD 1E): 2.0, stack empty.
        let (s, exit, m) = try run([0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xE8, 0xDE, 0xC1, 0xDD, 0x1E])
        #expect(exit == .hlt(length: 1))
        #expect(load64(m) == 0x4000_0000_0000_0000)
        #expect(s.fpu.abridgedTags == 0 && s.fpu.top == 0 && s.fpu.statusWord == 0)
        #expect(s.fpu.controlWord == 0x037F)
    }

    @Test func roundingControlAppliesToIntegerStores() throws {
        // fld qword [rsi] (2.5 or -2.5); fldcw [rsi+8]; fistp dword [rsi+16] (DB 5E 10), per RC.
        for (value, results) in [(2.5, [2, 2, 3, 2]), (-2.5, [-2, -3, -2, -2])] {
            for (rc, expected) in results.enumerated() {
                let memory = X87Samples.bytes(value.bitPattern, 8) + X87Samples.bytes(UInt64(0x037F | rc << 10), 2)
                let (_, exit, m) = try run([0xDD, 0x06, 0xD9, 0x6E, 0x08, 0xDB, 0x5E, 0x10], memory: memory)
                #expect(exit == .hlt(length: 1))
                #expect(Int32(truncatingIfNeeded: load64(m, 16)) == Int32(expected), "\(value) with RC \(rc)")
            }
        }
    }

    @Test func compareAndStoreStatusWordInAX() throws {
        // fld1; fldz; fcompp (DE D9): 0 < 1 sets C0; fnstsw ax (DF E0); both popped.
        let (s, _, _) = try run([0xD9, 0xE8, 0xD9, 0xEE, 0xDE, 0xD9, 0xDF, 0xE0])
        #expect(s[.rax] & 0xFFFF == 0x0100)
        #expect(s.fpu.abridgedTags == 0)
        // fld1; fldz; fcomip st1 (DF F1): CF set, ZF PF clear.
        let (t, _, _) = try run([0xD9, 0xE8, 0xD9, 0xEE, 0xDF, 0xF1])
        #expect(t.rflags.contains(.carry) && !t.rflags.contains(.zero) && !t.rflags.contains(.parity))
    }

    @Test func deviceNotAvailableWithTSOrEM() throws {
        // fnop (D9 D0) with CR0.TS or CR0.EM: #NM at the instruction; FWAIT (9B) faults only
        // with MP and TS both set.
        for bit in [CR0.taskSwitched, .emulation] {
            let (s, exit, _) = try run([0xD9, 0xD0]) { $0.cr0.insert(bit) }
            #expect(exit == .exception(.deviceNotAvailable))
            #expect(s.rip == TestMachine.codeBase)
        }
        let (_, waitTS, _) = try run([0x9B]) { $0.cr0.insert(.taskSwitched) }
        #expect(waitTS == .hlt(length: 1))
        let (_, waitMPTS, _) = try run([0x9B]) { $0.cr0.formUnion([.taskSwitched, .monitorCoprocessor]) }
        #expect(waitMPTS == .exception(.deviceNotAvailable))
        // FNINIT and FNSTSW are x87 instructions too.
        let (_, initExit, _) = try run([0xDB, 0xE3]) { $0.cr0.insert(.taskSwitched) }
        #expect(initExit == .exception(.deviceNotAvailable))
    }

    @Test func unmaskedExceptionIsReportedAtTheNextWaitingInstruction() throws {
        // fldcw [rsi] (ZE unmasked: 037B); fld1; fldz; fdivp st1 (DE F9): 1/0 sets ZE and ES,
        // leaves the stack alone; the #MF comes at the FWAIT after it, with CR0.NE.
        let code: [UInt8] = [0xD9, 0x2E, 0xD9, 0xE8, 0xD9, 0xEE, 0xDE, 0xF9, 0x9B]
        let (s, exit, _) = try run(code, memory: [0x7B, 0x03]) { $0.cr0.insert(.numericError) }
        #expect(exit == .exception(X86Exception(vector: 16)))
        #expect(s.rip == TestMachine.codeBase + 8)
        #expect(s.fpu.statusWord & 0x80FF == 0x8084)  // B, ES, ZE
        #expect(s.fpu.lastInstructionPointer == TestMachine.codeBase + 6)
        #expect(s.fpu.lastOpcode == 0x6F9)
        #expect(s.fpu.abridgedTags.nonzeroBitCount == 2)
        // FNSTSW does not wait; FNCLEX clears the exception, after which FWAIT passes.
        let (t, exit2, _) = try run(code.dropLast() + [0xDF, 0xE0, 0xDB, 0xE2, 0x9B], memory: [0x7B, 0x03]) { $0.cr0.insert(.numericError) }
        #expect(exit2 == .hlt(length: 1))
        #expect(t[.rax] & 0xFFFF == 0xB084)
        #expect(t.fpu.statusWord & 0x80FF == 0)
        // Without CR0.NE the exception stays pending (FERR# has nowhere to go).
        let (_, exit3, _) = try run(code, memory: [0x7B, 0x03])
        #expect(exit3 == .hlt(length: 1))
    }

    @Test func mathFaultIsDeliveredThroughTheIDT() throws {
        // As above with #MF delivered: vector 16 has no error code, RIP at the FWAIT, RF set.
        let m = try TestMachine(code: [0xD9, 0x2E, 0xD9, 0xE8, 0xD9, 0xEE, 0xDE, 0xF9, 0x9B, 0xF4])
        try m.installSystemTables()
        var s = m.state
        s[.rsi] = TestMachine.dataBase
        s.cr0.insert(.numericError)
        m.state = s
        m.memory.write([0x7B, 0x03], at: MachineAddress(TestMachine.dataBase))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(16))
        let frame = m.stackSlots(m.state[.rsp], count: 3)
        #expect(frame[0] == TestMachine.codeBase + 8)
        #expect(frame[2] & RFlags.resume.rawValue != 0)
    }

    @Test func stackOverflowPushesTheIndefinite() throws {
        // Nine fld1: the ninth overflows (IE, SF, C1 = 1) and, masked, pushes the QNaN
        // indefinite over ST(7).
        let (s, _, _) = try run([UInt8](repeating: 0, count: 9).flatMap { _ in [0xD9, 0xE8] })
        #expect(s.fpu.statusWord & 0x2FF == 0x241)
        #expect(s.fpu.st(0) == X87Register.indefinite)
        #expect(s.fpu.st(1) == X87Register(significand: 1 << 63, signExponent: 0x3FFF))
    }

    @Test func environmentImage() throws {
        // fld1; fldpi; fnstenv [rsi] (D9 36): the 28-byte protected-mode image; then every
        // exception is masked. FCW 037F, FSW with TOP 6, tags: R7 valid, R6 valid, the
        // others empty; FIP the FLDPI; FOP and FDP untouched (no unmasked exception).
        let (s, _, m) = try run([0xD9, 0xE8, 0xD9, 0xEB, 0xD9, 0x36]) { $0.fpu.controlWord = 0x0360 }
        let image = (0..<7).map { UInt32(truncatingIfNeeded: load64(m, UInt64(4 * $0))) }
        #expect(image == [0xFFFF_0360, 0xFFFF_3000, 0xFFFF_0FFF, UInt32(TestMachine.codeBase + 2), 0, 0, 0xFFFF_0000])
        #expect(s.fpu.controlWord == 0x037F)
    }

    @Test func saveAndRestoreRoundTrip() throws {
        // fld1; fldpi; fnsave [rsi] (DD 36) leaves the FPU initialized; frstor [rsi] (DD 26)
        // brings both values back: ST(0) = pi, ST(1) = 1.
        let (s, _, m) = try run([0xD9, 0xE8, 0xD9, 0xEB, 0xDD, 0x36])
        #expect(s.fpu.abridgedTags == 0 && s.fpu.statusWord == 0)
        #expect(load64(m, 28) == 0xC90F_DAA2_2168_C235)
        let (t, _, _) = try run([0xD9, 0xE8, 0xD9, 0xEB, 0xDD, 0x36, 0xDD, 0x26])
        #expect(t.fpu.st(0) == X87Register(significand: 0xC90F_DAA2_2168_C235, signExponent: 0x4000))
        #expect(t.fpu.st(1) == X87Register(significand: 1 << 63, signExponent: 0x3FFF))
        #expect(t.fpu.top == 6 && t.fpu.abridgedTags == 0xC0)
    }

    @Test func storeFaultLeavesTheFPUUnchanged() throws {
        // fld1; fstp qword [0x7000_0000] (unmapped): #PF, and ST(0) is still 1.0.
        let (s, exit, _) = try run([0xD9, 0xE8, 0xDD, 0x1C, 0x25, 0x00, 0x00, 0x00, 0x70])
        #expect(exit == .exception(.pageFault(address: 0x7000_0000, code: .write)))
        #expect(s.fpu.abridgedTags == 0x80 && s.fpu.top == 7)
    }

    @Test func examineClassifies() throws {
        // fxam (D9 E5) on an empty ST(0), then after fldz, fld1 and fldpi-negated (fchs).
        let (e, _, _) = try run([0xD9, 0xE5])
        #expect(e.fpu.statusWord & 0x4700 == 0x4100)  // empty: C3 and C0
        let (z, _, _) = try run([0xD9, 0xEE, 0xD9, 0xE5])
        #expect(z.fpu.statusWord & 0x4700 == 0x4000)  // zero: C3
        let (n, _, _) = try run([0xD9, 0xEB, 0xD9, 0xE0, 0xD9, 0xE5])
        #expect(n.fpu.statusWord & 0x4700 == 0x0600)  // negative normal: C2, C1 = sign
    }

    @Test func undefinedEncodingsAreInvalidOpcodes() throws {
        // D9 D1 (beside FNOP), D9 /1 with memory, DD F0, DF F8, DA E8 are undefined; LOCK
        // is #UD on every x87 instruction.
        for code: [UInt8] in [[0xD9, 0xD1], [0xD9, 0x0E], [0xDD, 0xF0], [0xDF, 0xF8], [0xDA, 0xE8], [0xF0, 0xD8, 0x06]] {
            let (s, exit, _) = try run(code)
            #expect(exit == .exception(.undefinedOpcode), "\(code.map { hex($0) })")
            #expect(s.rip == TestMachine.codeBase)
        }
    }

    @Test func stateIsVisibleToTheHypervisor() throws {
        // A value put into ST(0) through `state` is what fstp stores.
        let (_, _, m) = try run([0xDB, 0x3E]) { s in
            s.fpu.registers[7] = X87Register(significand: 0x8000_0000_0000_1234, signExponent: 0xC005)
            s.fpu.abridgedTags = 0x80
            s.fpu.statusWord = 7 << 11
        }
        #expect(load64(m) == 0x8000_0000_0000_1234)
        #expect(m.load64(TestMachine.dataBase + 8).map { $0 & 0xFFFF } == 0xC005)
    }
}

/// The transcendental instructions: values from the host's long double library, so checked
/// here on exact cases and to within a unit in the last place.
@Suite struct X87TranscendentalTests {
    func run(_ code: [UInt8], setup: (inout CPUState) -> Void = { _ in }) throws -> CPUState {
        let (s, exit, _) = try execute(code, setup: setup)
        #expect(exit == .hlt(length: 1))
        return s
    }

    func near(_ r: X87Register, _ significand: UInt64, _ exponent: UInt16) -> Bool {
        r.signExponent == exponent && (r.significand == significand || r.significand &+ 1 == significand || r.significand == significand &+ 1)
    }

    @Test func exactCases() throws {
        // fldz; fsin → +0 without #P; fldz; fcos → 1; fldz; fptan → 0 then 1 pushed.
        let s = try run([0xD9, 0xEE, 0xD9, 0xFE])
        #expect(s.fpu.st(0) == .zero && s.fpu.statusWord & 0x3F == 0)
        let c = try run([0xD9, 0xEE, 0xD9, 0xFF])
        #expect(c.fpu.st(0) == X87Register(significand: 1 << 63, signExponent: 0x3FFF) && c.fpu.statusWord & 0x3F == 0)
        let t = try run([0xD9, 0xEE, 0xD9, 0xF2])
        #expect(t.fpu.st(0) == X87Register(significand: 1 << 63, signExponent: 0x3FFF) && t.fpu.st(1) == .zero)
    }

    @Test func approximateCases() throws {
        // fld1; fld1; fpatan → atan2(1, 1) = π/4; fld1; f2xm1 → 1; fld1 ×2; fyl2x → 0 (log2 1)
        // then fldl2t; fld1; fxch; fyl2x → log2(log2 10)·1... kept simple: π/4 and 2^1 - 1.
        let a = try run([0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xF3])
        #expect(near(a.fpu.st(0), 0xC90F_DAA2_2168_C235, 0x3FFE) && a.fpu.top == 7)
        #expect(a.fpu.statusWord & 0x20 != 0)
        let e = try run([0xD9, 0xE8, 0xD9, 0xF0])
        #expect(e.fpu.st(0) == X87Register(significand: 1 << 63, signExponent: 0x3FFF))
        // fldpi; fsincos: ST(0) = cos π = -1, ST(1) = sin π (tiny).
        let sc = try run([0xD9, 0xEB, 0xD9, 0xFB])
        #expect(sc.fpu.st(0) == X87Register(significand: 1 << 63, signExponent: 0xBFFF))
        #expect(sc.fpu.st(1).biasedExponent < 0x3FC5)
    }

    @Test func outOfRangeSetsC2() throws {
        // fld tbyte 2^63 from the state; fsin leaves it and sets C2.
        let s = try run([0xD9, 0xFE]) { s in
            s.fpu.registers[7] = X87Register(significand: 1 << 63, signExponent: 0x3FFF + 63)
            s.fpu.abridgedTags = 0x80
            s.fpu.statusWord = 7 << 11
        }
        #expect(s.fpu.statusWord & 0x400 != 0)
        #expect(s.fpu.st(0) == X87Register(significand: 1 << 63, signExponent: 0x3FFF + 63))
    }
}
