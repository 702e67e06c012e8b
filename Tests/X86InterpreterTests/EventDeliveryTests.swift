import Testing
import X86
@testable import X86Interpreter

/// Interrupt shadows, trap-class exits, injected events and the fault-during-delivery rules,
/// on the tables of `installSystemTables` (a HLT handler per vector).
@Suite struct EventDeliveryTests {
    /// A machine with system tables, the exception bitmap cleared, and `setup` applied.
    func machine(_ code: [UInt8], cpl: UInt8 = 0, setup: (inout CPUState) -> Void = { _ in }) throws -> TestMachine {
        let m = try TestMachine(code: code, cpl: cpl)
        try m.installSystemTables()
        var s = m.state
        setup(&s)
        m.state = s
        return m
    }

    @Test func stiShadowCoversExactlyTheNextInstructionWherevertheBlockStarts() throws {
        // nop; nop; sti; nop; nop; jmp $ — STI in the middle of a block. The interrupt is
        // taken after the first NOP following STI: the pushed RIP is that of the second NOP.
        let m = try machine([0x90, 0x90, 0xFB, 0x90, 0x90, 0xEB, 0xFE])
        m.cpu.inject(InjectedEvent(vector: 0x40, kind: .externalInterrupt))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(0x40))
        #expect(m.stackSlots(m.state[.rsp], count: 1) == [TestMachine.codeBase + 4])
    }

    @Test func movSSExtendsTheShadowByOneInstruction() throws {
        // sti; mov ss, ax (8E D0); nop; nop; jmp $ — STI's shadow covers MOV SS, whose own
        // shadow covers the first NOP: the interrupt arrives before the second NOP.
        let m = try machine([0xFB, 0x8E, 0xD0, 0x90, 0x90, 0xEB, 0xFE]) { $0[.rax] = UInt64(SystemTables.kernelData) }
        m.cpu.inject(InjectedEvent(vector: 0x40, kind: .externalInterrupt))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.stackSlots(m.state[.rsp], count: 1) == [TestMachine.codeBase + 4])
    }

    @Test func iretOpensNoShadow() throws {
        // iretq to code with IF=1 while an interrupt waits: it is taken before the target's
        // first instruction (a stack load by IRET is not a MOV SS).
        let target = TestMachine.codeBase + 0x100
        let m = try machine([0x48, 0xCF]) { $0[.rsp] = TestMachine.stackTop - 0x100 }
        m.write([0x90, 0xEB, 0xFE], at: target)
        m.writeIretFrame(at: TestMachine.stackTop - 0x100, target: target, rflags: 0x202)
        m.cpu.inject(InjectedEvent(vector: 0x41, kind: .externalInterrupt))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(0x41))
        #expect(m.stackSlots(m.state[.rsp], count: 1) == [target])
    }

    @Test func anInterceptedInstructionInTheShadowEndsIt() throws {
        // sti; hlt with an interrupt pending: HLT exits first (the idiom's guarantee); the
        // hypervisor completes it, and the interrupt then arrives with RIP after the HLT.
        let m = try machine([0xFB, 0xF4, 0x90, 0x90, 0xEB, 0xFE])
        m.cpu.inject(InjectedEvent(vector: 0x42, kind: .externalInterrupt))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == TestMachine.codeBase + 1)
        #expect(!m.state.interruptShadow)
        m.skip(1)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(0x42))
        #expect(m.stackSlots(m.state[.rsp], count: 1) == [TestMachine.codeBase + 2])
    }

    @Test func blockedInterruptDoesNotHoldBackAnNMI() throws {
        // IF=0: the external interrupt stays queued; the NMI behind it is delivered.
        let m = try machine([0x90, 0xEB, 0xFE])
        m.cpu.inject(InjectedEvent(vector: 0x43, kind: .externalInterrupt))
        m.cpu.inject(InjectedEvent(vector: 2, kind: .nmi))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(2))
        #expect(m.cpu.pendingEvents.count == 1)
        // Back in the loop with IF still clear, the interrupt keeps waiting.
        var s = m.state
        s.rip = TestMachine.codeBase + 1
        m.state = s
        #expect(m.run(budget: 5) == .budgetExhausted)
        #expect(m.cpu.pendingEvents.count == 1)
    }

    @Test func injectedSoftwareInterruptChecksTheGateDPL() throws {
        // From CPL 3: vector 0x80 (gate DPL 3) returns after the 2-byte instruction; 0x81
        // (DPL 0) is #GP(0x81*8+2) raised at the instruction (EXT clear: software).
        let m = try machine([0xEB, 0xFE], cpl: 3)
        m.cpu.inject(InjectedEvent(vector: 0x80, kind: .softwareInterrupt(instructionLength: 2)))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(0x80) && m.state.cpl == 0)
        #expect(m.stackSlots(m.state[.rsp], count: 5) == [TestMachine.codeBase + 2, UInt64(SystemTables.userCode), 0x2, TestMachine.stackTop, UInt64(SystemTables.userData)])
        #expect(m.state[.rsp] == SystemTables.rsp0 - 40)

        let n = try machine([0xEB, 0xFE], cpl: 3)
        n.cpu.intercepts.exceptionBitmap = 1 << 13
        n.cpu.inject(InjectedEvent(vector: 0x81, kind: .softwareInterrupt(instructionLength: 2)))
        #expect(n.run() == .exception(.generalProtection(0x81 * 8 + 2)))
        #expect(n.state.rip == TestMachine.codeBase && n.state.cpl == 3)
    }

    @Test func int3AndInt1AreTrapsWhenIntercepted() throws {
        // With the default bitmap INT3 (CC) and INT1 (F1) exit as #BP/#DB with RIP after them.
        let (s, exit, _) = try execute([0xCC])
        #expect(exit == .exception(X86Exception(vector: 3)))
        #expect(s.rip == TestMachine.codeBase + 1)
        let (t, exit1, _) = try execute([0xF1])
        #expect(exit1 == .exception(X86Exception(vector: 1)))
        #expect(t.rip == TestMachine.codeBase + 1)
        // The software-interrupt intercept takes INT3 but not INT1 (a debug exception).
        let m = try TestMachine(code: [0xCC, 0xF1])
        m.cpu.intercepts.softwareInterrupts = true
        #expect(m.run() == .softwareInterrupt(vector: 3, length: 1))
        #expect(m.state.rip == TestMachine.codeBase)
        m.skip(1)
        #expect(m.run() == .exception(X86Exception(vector: 1)))
    }

    @Test func int3FromUserModeNeedsADPL3Gate() throws {
        // Gate 3 has DPL 0 here: INT3 at CPL 3 raises #GP(3*8+2), delivered to the #GP
        // handler with RIP at the INT3. INT1 is not checked against the DPL.
        let m = try machine([0xCC], cpl: 3)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(13))
        #expect(m.stackSlots(m.state[.rsp], count: 2) == [3 * 8 + 2, TestMachine.codeBase])
        let n = try machine([0xF1], cpl: 3)
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.rip == SystemTables.handler(1))
        #expect(n.stackSlots(n.state[.rsp], count: 1) == [TestMachine.codeBase + 1])
    }

    @Test func faultFrameHasRFSetAndInterruptGateClearsIF() throws {
        // ud2 (0F 0B) with IF=1: the pushed RFLAGS has RF (a fault) and IF; the handler runs
        // with IF clear. A trap gate (type F) leaves IF set.
        let m = try machine([0x0F, 0x0B]) { $0.rflags.insert(.interrupt) }
        #expect(m.run() == .hlt(length: 1))
        let pushed = m.stackSlots(m.state[.rsp], count: 3)[2]
        #expect(pushed & RFlags.resume.rawValue != 0 && pushed & RFlags.interrupt.rawValue != 0)
        #expect(!m.state.rflags.contains(.interrupt) && !m.state.rflags.contains(.resume))
        let n = try machine([0x0F, 0x0B]) { $0.rflags.insert(.interrupt) }
        n.setGate(6, SystemTables.gate(target: SystemTables.handler(6), type: 0xF))
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.rflags.contains(.interrupt))
    }

    @Test func benignThenContributoryIsDeliveredSerially() throws {
        // #UD whose gate is not present: #NP(6*8+2+EXT) is delivered instead (no #DF).
        let m = try machine([0x0F, 0x0B])
        m.setGate(6, SystemTables.gate(target: SystemTables.handler(6), present: false))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(11))
        #expect(m.stackSlots(m.state[.rsp], count: 2) == [6 * 8 + 3, TestMachine.codeBase])
    }

    @Test func contributoryPairBecomesDoubleFault() throws {
        // mov ds, ax with a selector beyond the GDT: #GP(0x200); gate 13 absent → #NP →
        // #DF, delivered with error code 0 on its own IST stack.
        let m = try machine([0x8E, 0xD8]) { $0[.rax] = 0x200 }
        m.setGate(13, SystemTables.gate(target: SystemTables.handler(13), present: false))
        m.setGate(8, SystemTables.gate(target: SystemTables.handler(8), ist: 1))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(8))
        #expect(m.state[.rsp] == SystemTables.ist1 - 48)
        #expect(m.stackSlots(m.state[.rsp], count: 2) == [0, TestMachine.codeBase])
    }

    @Test func pageFaultWhilePushingAPageFaultFrameIsDoubleFault() throws {
        // User code touches an unmapped page; TSS.RSP0 points at unmapped memory, so pushing
        // the #PF frame faults again: #DF on IST1, CR2 naming the kernel stack page.
        let m = try machine([0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x00, 0x70], cpl: 3)
        m.store64(0x7100_0000, at: SystemTables.tss + 4)
        m.setGate(8, SystemTables.gate(target: SystemTables.handler(8), ist: 1))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(8) && m.state.cpl == 0)
        #expect(m.state.cr2 >> 12 == 0x70FFF)
        // And when #DF's own stack is unusable the CPU shuts down.
        let n = try machine([0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x00, 0x70], cpl: 3)
        n.store64(0x7100_0000, at: SystemTables.tss + 4)
        #expect(n.run() == .tripleFault)
    }

    @Test func nestedFaultThatIsInterceptedExits() throws {
        // #UD through an absent gate: the #NP it causes exits when #NP is intercepted.
        let m = try machine([0x0F, 0x0B])
        m.cpu.intercepts.exceptionBitmap = 1 << 11
        m.setGate(6, SystemTables.gate(target: SystemTables.handler(6), present: false))
        #expect(m.run() == .exception(X86Exception(vector: 11, errorCode: 6 * 8 + 3)))
        #expect(m.state.rip == TestMachine.codeBase)
    }

    @Test func anInterceptedSecondFaultExitsBeforeEscalating() throws {
        // #GP whose gate is absent: with #NP intercepted the hypervisor sees the #NP, not #DF.
        let m = try machine([0x8E, 0xD8]) { $0[.rax] = 0x200 }
        m.cpu.intercepts.exceptionBitmap = 1 << 11 | 1 << 8
        m.setGate(13, SystemTables.gate(target: SystemTables.handler(13), present: false))
        #expect(m.run() == .exception(X86Exception(vector: 11, errorCode: 13 * 8 + 3)))
    }

    @Test func gateChecks() throws {
        // A gate whose type is not interrupt/trap, a target that is not 64-bit code, and an
        // IDT limit below the vector: each is #GP(vector*8+2+EXT) for a hardware event.
        for (gate, limit) in [
            (SystemTables.gate(target: SystemTables.handler(6), type: 0xC), UInt16(0xFFF)),
            (SystemTables.gate(target: SystemTables.handler(6), selector: SystemTables.kernelData), 0xFFF),
            (SystemTables.gate(target: SystemTables.handler(6)), 6 * 16 + 14),
        ] {
            let m = try machine([0x0F, 0x0B]) { $0.idtr.limit = limit }
            m.cpu.intercepts.exceptionBitmap = 1 << 13
            m.setGate(6, gate)
            let expected: UInt32 = gate.0 >> 16 & 0xFFFF == UInt64(SystemTables.kernelData) ? UInt32(SystemTables.kernelData) + 1 : 6 * 8 + 3
            #expect(m.run() == .exception(.generalProtection(expected)))
        }
    }

    @Test func istBeyondTheTSSLimitIsInvalidTSS() throws {
        // #UD through an IST1 gate with TR's limit too short for IST1: #TS(TR+EXT).
        let m = try machine([0x0F, 0x0B]) { $0.tr.limit = 0x23 }
        m.setGate(6, SystemTables.gate(target: SystemTables.handler(6), ist: 1))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(10))
        #expect(m.stackSlots(m.state[.rsp], count: 1) == [UInt64(SystemTables.tssSelector) + 1])
    }

    @Test func handlerStayingAtCPL3PushesAsUser() throws {
        // INT 0x82 through a DPL3 gate to the DPL3 code segment: no stack switch, and the
        // frame is written with user privilege. With the user stack page made supervisor-only
        // that write faults #PF(P|W|U), delivered to the kernel on RSP0.
        let m = try machine([0xCD, 0x82], cpl: 3)
        m.cpu.intercepts.exceptionBitmap = 1 << 13
        m.setGate(0x82, SystemTables.gate(target: SystemTables.handler(0x82), selector: SystemTables.userCode, dpl: 3))
        #expect(m.run() == .exception(.generalProtection(0)))  // the handler's HLT at CPL 3
        #expect(m.state.rip == SystemTables.handler(0x82) && m.state.cpl == 3)
        #expect(m.state[.rsp] == TestMachine.stackTop - 40)

        let n = try machine([0xCD, 0x82], cpl: 3)
        n.setGate(0x82, SystemTables.gate(target: SystemTables.handler(0x82), selector: SystemTables.userCode, dpl: 3))
        n.updatePTE(linear: TestMachine.stackTop - 8) { $0 & ~PTE.user }
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.rip == SystemTables.handler(14) && n.state.cpl == 0)
        #expect(n.stackSlots(n.state[.rsp], count: 2) == [7, TestMachine.codeBase])
        #expect(n.state.cr2 >> 12 == (TestMachine.stackTop - 8) >> 12)
    }

    @Test func userFaultsAreDeliveredWithUserErrorCodes() throws {
        // NX fetch at CPL 3 → #PF(P|U|I/D); user read of a supervisor page → #PF(P|U), each
        // with CR2 and a switch to RSP0.
        let m = try machine([0x90], cpl: 3)
        m.updatePTE(linear: TestMachine.codeBase) { $0 | PTE.noExecute }
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.cr2 == TestMachine.codeBase)
        #expect(m.stackSlots(m.state[.rsp], count: 2) == [0x15, TestMachine.codeBase])
        #expect(m.state[.rsp] == SystemTables.rsp0 - 48)

        let n = try machine([0x48, 0x8B, 0x03], cpl: 3) { $0[.rbx] = SystemTables.gdt + 8 }
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.cr2 == SystemTables.gdt + 8)
        #expect(n.stackSlots(n.state[.rsp], count: 1) == [5])
    }
}
