import Testing
import X86
@testable import X86Interpreter

@Suite struct DeliveryTests {
    @Test func pageFaultIsDeliveredWithErrorCodeAndCR2() throws {
        // mov rax, [0x7000_0000] (unmapped) at CPL 0 → #PF(0) through the IDT to a HLT handler.
        let m = try TestMachine(code: [0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x00, 0x70])
        m.installDescriptorTables()
        m.deliverExceptions()
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s.rip == TestMachine.handler && s.cr2 == 0x7000_0000)
        #expect(m.stackSlot(0) == 0)  // error code: not present, read, supervisor
        #expect(m.stackSlot(1) == TestMachine.codeBase)  // the faulting RIP
        #expect(m.stackSlot(2) == 0x08)  // CS
        #expect(m.stackSlot(4) == TestMachine.stackTop)  // RSP
        #expect(s[.rsp] & 0xF == 0)  // aligned to 16 before six 8-byte pushes
    }

    @Test func intFromUserModeSwitchesToTheTSSStack() throws {
        // int 0x80 (CD 80) at CPL 3 → CPL 0 handler on TSS.RSP0 with SS null.
        let m = try TestMachine(code: [0xCD, 0x80], cpl: 3)
        m.installDescriptorTables()
        var s = m.state
        s.rflags.insert(.interrupt)
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        let t = m.state
        #expect(t.cpl == 0 && t[.ss].selector == 0 && t[.rsp] == TestMachine.kernelStack - 40)
        #expect(!t.rflags.contains(.interrupt))  // an interrupt gate clears IF
        #expect(m.stackSlot(0) == TestMachine.codeBase + 2)  // returns after INT
        #expect(m.stackSlot(1) == 0x33 && m.stackSlot(3) == TestMachine.stackTop && m.stackSlot(4) == 0x2B)
    }

    @Test func intToAGateBelowCPLIsGeneralProtection() throws {
        let m = try TestMachine(code: [0xCD, 0x80], cpl: 3)
        m.installDescriptorTables()
        let (lo, hi) = TestMachine.gate(TestMachine.handler, dpl: 0)
        m.store64(lo, at: TestMachine.idtBase + 0x80 * 16)
        m.store64(hi, at: TestMachine.idtBase + 0x80 * 16 + 8)
        #expect(m.run() == .exception(.generalProtection(0x80 * 8 + 2)))
    }

    @Test func iretReturnsToUserMode() throws {
        // Kernel: push 0x2B; push rsp-value; push rflags; push 0x33; push target; iretq
        let target = TestMachine.codeBase + 0x100
        let m = try TestMachine(code: [0x48, 0xCF])  // iretq
        m.installDescriptorTables()
        m.memory.write([0xEB, 0xFE], at: .init(target))
        var s = m.state
        s[.rsp] = TestMachine.stackTop - 40
        m.state = s
        let frame: [UInt64] = [target, 0x33, 0x202 | 0x3000, TestMachine.stackTop - 0x100, 0x2B]
        for (i, v) in frame.enumerated() {
            m.store64(v, at: TestMachine.stackTop - 40 + UInt64(i) * 8)
        }
        #expect(m.run(budget: 1) == .budgetExhausted)
        let t = m.state
        #expect(t.cpl == 3 && t.rip == target && t[.rsp] == TestMachine.stackTop - 0x100)
        #expect(t.rflags.contains(.interrupt) && t.rflags.ioPrivilegeLevel == 3 && t[.ss].selector == 0x2B)
    }

    @Test func istStackIsUsedForItsGate() throws {
        let m = try TestMachine(code: [0x0F, 0x0B])  // ud2 → #UD via an IST1 gate
        m.installDescriptorTables()
        m.deliverExceptions()
        let (lo, hi) = TestMachine.gate(TestMachine.handler, ist: 1)
        m.store64(lo, at: TestMachine.idtBase + 6 * 16)
        m.store64(hi, at: TestMachine.idtBase + 6 * 16 + 8)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rsp] == TestMachine.istStack - 40)
    }

    @Test func faultDeliveringAFaultBecomesDoubleThenTriple() throws {
        // An IDT too small for #GP: the #GP from the missing gate escalates to #DF, whose gate
        // is missing too → triple fault.
        let m = try TestMachine(code: [0x0F, 0x0B])
        m.installDescriptorTables()
        m.deliverExceptions()
        var s = m.state
        s.idtr.limit = 6 * 16 - 1  // no gate 6 (#UD) → #GP → #DF → shutdown
        m.state = s
        #expect(m.run() == .tripleFault)
        // With #DF intercepted the hypervisor sees the double fault.
        let n = try TestMachine(code: [0x0F, 0x0B])
        n.installDescriptorTables()
        n.cpu.intercepts.exceptionBitmap = 1 << 8
        var t = n.state
        t.idtr.limit = 6 * 16 - 1
        n.state = t
        #expect(n.run() == .exception(X86Exception(vector: 8, errorCode: 0)))
    }

    @Test func injectedInterruptWaitsForIF() throws {
        // sti (FB); nop; nop; jmp $ — the interrupt lands after the instruction following STI.
        let m = try TestMachine(code: [0x90, 0xFB, 0x90, 0x90, 0xEB, 0xFE])
        m.installDescriptorTables()
        m.cpu.inject(InjectedEvent(vector: 0x30, kind: .externalInterrupt))
        #expect(m.run(budget: 1) == .budgetExhausted)
        #expect(m.state.rip == TestMachine.codeBase + 1)  // IF=0: still pending
        #expect(m.run() == .hlt(length: 1))
        #expect(m.stackSlot(0) == TestMachine.codeBase + 3)  // delivered after STI's shadow
    }

    @Test func hypervisorInjectedPageFaultSetsCR2() throws {
        let m = try TestMachine(code: [0xEB, 0xFE])
        m.installDescriptorTables()
        m.cpu.inject(InjectedEvent(vector: 14, kind: .hardwareException, errorCode: 6, faultAddress: 0xDEAD_0000))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.cr2 == 0xDEAD_0000 && m.stackSlot(0) == 6)
    }

    @Test func randomCodeWithDeliveryNeverCrashesTheHost() throws {
        var rng = SplitMix(seed: 0xD1CE)
        for _ in 0..<150 {
            let code = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let m = try TestMachine(code: code, cpl: rng.next() & 1 == 0 ? 0 : 3)
            m.installDescriptorTables(handlerCode: (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            m.deliverExceptions()
            for _ in 0..<4 {
                if case .budgetExhausted = m.run(budget: 300) { continue }
                var s = m.state
                s.rip = TestMachine.codeBase + (rng.next() & 63)
                m.state = s
            }
        }
    }
}
