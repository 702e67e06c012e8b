import Testing
import X86
@testable import X86Interpreter

/// RFLAGS.TF single-stepping (SDM vol. 3, 18.3.1.4): a #DB trap after each instruction that
/// started with TF set, RIP after it and DR6.BS set; ICEBP.
@Suite struct SingleStepTests {
    static let debugTrap = VCPUExit.exception(X86Exception(vector: 1))
    static let bs: UInt64 = 1 << 14
    static let tf = RFlags.trap.rawValue

    /// A machine with system tables; only #DB exits unless `deliverDebug`.
    func machine(_ code: [UInt8], cpl: UInt8 = 0, deliverDebug: Bool = false, setup: (inout CPUState) -> Void = { _ in }) throws -> TestMachine {
        let m = try TestMachine(code: code, cpl: cpl)
        try m.installSystemTables()
        m.cpu.intercepts.exceptionBitmap = deliverDebug ? 0 : 1 << 1
        var s = m.state
        setup(&s)
        m.state = s
        return m
    }

    func dr6(_ m: TestMachine) -> UInt64 { m.state.debugRegisters[6] }

    @Test func popfSettingTFTrapsAfterTheNextInstruction() throws {
        // pushfq; or qword [rsp], 0x100; popfq; nop; nop; hlt — POPF started with TF clear:
        // the first trap follows the NOP after it (RIP 11), the next the second NOP (12).
        let m = try machine([0x9C, 0x48, 0x81, 0x0C, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9D, 0x90, 0x90, 0xF4])
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 11)
        #expect(m.state.rflags.contains(.trap))
        #expect(dr6(m) & Self.bs != 0)
        #expect(m.cpu.retiredInstructions == 4)
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 12)
        // HLT exits (the hypervisor completes it; the trap is then its business).
        #expect(m.run() == .hlt(length: 1))
    }

    @Test func anInstructionThatClearsTFStillTraps() throws {
        // TF set from outside: pushfq; and qword [rsp], ~0x100; popfq; nop; hlt — traps after
        // PUSHF (1), AND (9) and the POPF that cleared TF (10); the NOP runs untraced.
        let m = try machine([0x9C, 0x48, 0x81, 0x24, 0x24, 0xFF, 0xFE, 0xFF, 0xFF, 0x9D, 0x90, 0xF4]) { $0.rflags.insert(.trap) }
        for rip: UInt64 in [1, 9, 10] {
            #expect(m.run() == Self.debugTrap)
            #expect(m.state.rip == TestMachine.codeBase + rip)
        }
        #expect(!m.state.rflags.contains(.trap))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == TestMachine.codeBase + 11)
    }

    @Test func deliveredTrapPushesTFAndRunsTheHandlerWithoutIt() throws {
        // nop with TF, #DB through the IDT: the frame's RIP is after the NOP, its RFLAGS has
        // TF and not RF (a trap); the handler (HLT) runs with TF clear and is not stepped.
        let m = try machine([0x90, 0x90], deliverDebug: true) { $0.rflags.insert(.trap) }
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(1))
        let frame = m.stackSlots(m.state[.rsp], count: 3)
        #expect(frame[0] == TestMachine.codeBase + 1)
        #expect(frame[2] & Self.tf != 0 && frame[2] & RFlags.resume.rawValue == 0)
        #expect(!m.state.rflags.contains(.trap))
        #expect(dr6(m) & Self.bs != 0)
    }

    @Test func iretqSettingTFStepsTheTargetsFirstInstruction() throws {
        // iretq (TF clear) to a frame with TF: no trap after IRET; one after the target's NOP.
        let target = TestMachine.codeBase + 0x100
        let m = try machine([0x48, 0xCF]) { $0[.rsp] = TestMachine.stackTop - 0x100 }
        m.write([0x90, 0x90, 0xF4], at: target)
        m.writeIretFrame(at: TestMachine.stackTop - 0x100, target: target, rflags: 0x102)
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == target + 1)
        #expect(m.cpu.retiredInstructions == 2)

        // With TF set as it starts and clear in the frame, the trap follows IRET itself.
        let n = try machine([0x48, 0xCF]) {
            $0[.rsp] = TestMachine.stackTop - 0x100
            $0.rflags.insert(.trap)
        }
        n.write([0x90, 0xF4], at: target)
        n.writeIretFrame(at: TestMachine.stackTop - 0x100, target: target, rflags: 0x2)
        #expect(n.run() == Self.debugTrap)
        #expect(n.state.rip == target)
        #expect(!n.state.rflags.contains(.trap))
        #expect(n.run() == .hlt(length: 1))
    }

    @Test func movSSDefersTheTrapPastTheNextInstruction() throws {
        // mov ss, ax; nop; hlt with TF: one trap, after the NOP (RIP 3).
        let m = try machine([0x8E, 0xD0, 0x90, 0xF4]) {
            $0.rflags.insert(.trap)
            $0[.rax] = UInt64(SystemTables.kernelData)
        }
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 3)
        #expect(m.cpu.retiredInstructions == 2)
    }

    @Test func stiShadowDoesNotHoldBackTheTrap() throws {
        // sti; nop with TF, IF clear and an interrupt waiting: #DB follows STI at once (it
        // outranks the interrupt, which the shadow blocks anyway) and is delivered through its
        // interrupt gate (IF cleared again), so the interrupt still waits.
        let m = try machine([0xFB, 0x90, 0xF4], deliverDebug: true) { $0.rflags.insert(.trap) }
        m.cpu.inject(InjectedEvent(vector: 0x40, kind: .externalInterrupt))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(1))
        let frame = m.stackSlots(m.state[.rsp], count: 3)
        #expect(frame[0] == TestMachine.codeBase + 1)
        #expect(frame[2] & (Self.tf | RFlags.interrupt.rawValue) == Self.tf | RFlags.interrupt.rawValue)
        #expect(m.cpu.pendingEvents.count == 1)
        #expect(!m.state.interruptShadow)

        // Intercepted, the exit reports the shadow STI opened (it covers the next instruction).
        let n = try machine([0xFB, 0x90, 0xF4]) { $0.rflags.insert(.trap) }
        #expect(n.run() == Self.debugTrap)
        #expect(n.state.rip == TestMachine.codeBase + 1)
        #expect(n.state.interruptShadow)
    }

    @Test func intNClearsTFAndItsTrapIsLost() throws {
        // int 0x80; nop; hlt with TF; the handler is iretq. Delivery clears TF (the handler
        // is not stepped and no trap follows INT); IRET restores TF but started without it,
        // so the first trap follows the NOP.
        let m = try machine([0xCD, 0x80, 0x90, 0xF4]) { $0.rflags.insert(.trap) }
        m.write([0x48, 0xCF], at: SystemTables.handler(0x80))
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 3)
        #expect(m.cpu.retiredInstructions == 3)
        #expect(m.state.rflags.contains(.trap))
    }

    @Test func aFaultingInstructionDoesNotTrap() throws {
        // ud2 with TF: #UD is delivered (RF and TF in the frame), its handler runs untraced.
        let m = try machine([0x0F, 0x0B], deliverDebug: true) { $0.rflags.insert(.trap) }
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == SystemTables.handler(6))
        let pushed = m.stackSlots(m.state[.rsp], count: 3)[2]
        #expect(pushed & Self.tf != 0 && pushed & RFlags.resume.rawValue != 0)
        #expect(dr6(m) & Self.bs == 0)
    }

    @Test func repStringTrapsAfterEachIteration() throws {
        // rep movsb with RCX = 3 and TF: RIP stays at the instruction for the first two
        // iterations and moves past it after the last.
        let m = try machine([0xF3, 0xA4, 0xF4]) {
            $0.rflags.insert(.trap)
            $0[.rcx] = 3
            $0[.rsi] = TestMachine.dataBase
            $0[.rdi] = TestMachine.dataBase + 0x100
        }
        m.store64(0x0033_2211, at: TestMachine.dataBase)
        for (rip, rcx): (UInt64, UInt64) in [(0, 2), (0, 1), (2, 0)] {
            #expect(m.run() == Self.debugTrap)
            #expect(m.state.rip == TestMachine.codeBase + rip)
            #expect(m.state[.rcx] == rcx)
        }
        #expect(m.load64(TestMachine.dataBase + 0x100) == 0x0033_2211)
        #expect(m.state[.rdi] == TestMachine.dataBase + 0x103)
        // With RCX = 0 the instruction completes at once and traps after itself.
        let n = try machine([0xF3, 0xAA, 0xF4]) { $0.rflags.insert(.trap) }
        #expect(n.run() == Self.debugTrap)
        #expect(n.state.rip == TestMachine.codeBase + 2)
    }

    @Test func syscallAndSysretDecideByTheTFTheyLeave() throws {
        // syscall with TF in IA32_FMASK: no trap in the kernel (its HLT exits). Without it in
        // the mask the trap comes with RIP at LSTAR.
        for masked in [true, false] {
            let m = try machine([0x0F, 0x05], cpl: 3) {
                $0.rflags.insert(.trap)
                $0.lstar = SystemTables.handler(0x90)
                $0.sfmask = masked ? Self.tf : 0
            }
            #expect(m.run() == (masked ? .hlt(length: 1) : Self.debugTrap))
            #expect(m.state.rip == SystemTables.handler(0x90))
        }
        // sysretq from CPL 0 (TF clear) with TF in R11: the trap follows SYSRET itself.
        let target = TestMachine.codeBase + 0x100
        let s = try machine([0x48, 0x0F, 0x07]) {
            $0[.rcx] = target
            $0[.r11] = 0x102
        }
        s.write([0x90, 0xF4], at: target)
        #expect(s.run() == Self.debugTrap)
        #expect(s.state.rip == target && s.state.cpl == 3)
    }

    @Test func icebpRaisesDebugWithoutBS() throws {
        // F1 (INT1): a trap-class #DB with RIP after it, intercepted or delivered; DR6.BS is
        // not set. With TF set its delivery clears TF, so no single-step trap follows.
        let m = try machine([0xF1, 0xF4])
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 1)
        #expect(dr6(m) & Self.bs == 0)
        let n = try machine([0xF1, 0xF4], deliverDebug: true) { $0.rflags.insert(.trap) }
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.rip == SystemTables.handler(1))
        #expect(n.stackSlots(n.state[.rsp], count: 1) == [TestMachine.codeBase + 1])
        #expect(dr6(n) & Self.bs == 0)
    }

    @Test func budgetCountsSteppedInstructions() throws {
        // With #DB delivered to an IRET handler, each NOP traps and returns: a budget of 4
        // covers nop, iretq, nop, iretq.
        let m = try machine([0x90, 0x90, 0x90, 0x90, 0xF4], deliverDebug: true) { $0.rflags.insert(.trap) }
        m.write([0x48, 0xCF], at: SystemTables.handler(1))
        #expect(m.run(budget: 4) == .budgetExhausted)
        #expect(m.state.rip == TestMachine.codeBase + 2)
        #expect(m.state.rflags.contains(.trap))
        #expect(m.cpu.retiredInstructions == 4)
    }
}
