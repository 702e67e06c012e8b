import Testing
import X86
@testable import X86Interpreter

/// Hardware breakpoints DR0-DR3 (SDM vol. 3, 17.2-17.3): instruction breakpoints are faults
/// suppressed by RF, data breakpoints traps after the access, DR6.Bn reports the hits.
@Suite struct DebugBreakpointTests {
    static let debugTrap = VCPUExit.exception(X86Exception(vector: 1))
    static let rf = RFlags.resume.rawValue
    static let data = TestMachine.dataBase

    /// DR7 enabling breakpoint `n` locally with R/W `rw` and LEN `len` (DR7 encodings).
    static func dr7(_ n: UInt64, rw: UInt64, len: UInt64 = 0, global: Bool = false) -> UInt64 {
        0x400 | (1 << (2 * n + (global ? 1 : 0))) | (rw << (16 + 4 * n)) | (len << (18 + 4 * n))
    }

    /// A machine with system tables; only #DB exits unless `deliverDebug`.
    func machine(_ code: [UInt8], deliverDebug: Bool = false, setup: (inout CPUState) -> Void = { _ in }) throws -> TestMachine {
        let m = try TestMachine(code: code)
        try m.installSystemTables()
        m.cpu.intercepts.exceptionBitmap = deliverDebug ? 0 : 1 << 1
        var s = m.state
        setup(&s)
        m.state = s
        return m
    }

    func dr6(_ m: TestMachine) -> UInt64 { m.state.debugRegisters[6] }

    @Test func instructionBreakpointFaultsUntilRFIsSet() throws {
        // nop; nop (DR0); hlt — #DB with RIP at the second NOP, again on a retry; with RF set
        // the NOP runs once (RF then clears) and HLT is reached.
        let m = try machine([0x90, 0x90, 0xF4]) {
            $0.debugRegisters[0] = TestMachine.codeBase + 1
            $0.debugRegisters[7] = Self.dr7(0, rw: 0)
        }
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 1)
        #expect(dr6(m) & 0xF == 1)
        #expect(m.cpu.retiredInstructions == 1)
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 1)
        var s = m.state
        s.rflags.insert(.resume)
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == TestMachine.codeBase + 2)
        #expect(!m.state.rflags.contains(.resume))
    }

    @Test func deliveredInstructionBreakpointResumesThroughIretWithRF() throws {
        // The #DB frame has RIP at the breakpoint and RF clear (a fault, but not one that sets
        // RF); the handler sets RF in the image and IRETs: the NOP runs, HLT exits.
        let m = try machine([0x90, 0x90, 0xF4], deliverDebug: true) {
            $0.debugRegisters[0] = TestMachine.codeBase + 1
            $0.debugRegisters[7] = Self.dr7(0, rw: 0, global: true)
        }
        // or qword [rsp+16], 0x10000; iretq
        m.write([0x48, 0x81, 0x4C, 0x24, 0x10, 0x00, 0x00, 0x01, 0x00, 0x48, 0xCF], at: SystemTables.handler(1))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == TestMachine.codeBase + 2)
        #expect(dr6(m) & 0xF == 1)
    }

    /// A store of `size` bytes at `data + offset`, then HLT.
    static func store(size: Int) -> [UInt8] {
        switch size {
        case 1: [0x88, 0x18, 0xF4]  // mov [rax], bl
        case 2: [0x66, 0x89, 0x18, 0xF4]  // mov [rax], bx
        case 4: [0x89, 0x18, 0xF4]  // mov [rax], ebx
        default: [0x48, 0x89, 0x18, 0xF4]  // mov [rax], rbx
        }
    }

    /// (DR number, LEN code, DRn offset, store offset, store size, hit)
    static let writeCases: [(UInt64, UInt64, UInt64, UInt64, Int, Bool)] = [
        (0, 0, 0x40, 0x40, 1, true), (0, 0, 0x40, 0x3F, 2, true), (0, 0, 0x40, 0x41, 1, false),
        (1, 1, 0x31, 0x2E, 4, true), (1, 1, 0x31, 0x30, 1, true), (1, 1, 0x31, 0x32, 1, false),
        (2, 3, 0x12, 0x13, 1, true), (2, 3, 0x12, 0x0C, 8, true), (2, 3, 0x12, 0x14, 1, false),
        (3, 2, 0x21, 0x27, 1, true), (3, 2, 0x21, 0x20, 8, true), (3, 2, 0x21, 0x28, 2, false),
    ]

    @Test(arguments: writeCases)
    func writeBreakpointTrapsAfterAnOverlappingStore(_ c: (UInt64, UInt64, UInt64, UInt64, Int, Bool)) throws {
        let (n, len, target, offset, size, hit) = c
        let code = Self.store(size: size)
        let m = try machine(code) {
            $0.debugRegisters[Int(n)] = Self.data + target
            $0.debugRegisters[7] = Self.dr7(n, rw: 1, len: len)
            $0[.rax] = Self.data + offset
            $0[.rbx] = 0x1122_3344_5566_7788
        }
        let length = UInt64(code.count - 1)
        if hit {
            #expect(m.run() == Self.debugTrap)
            #expect(m.state.rip == TestMachine.codeBase + length)  // a trap: after the store
            #expect(dr6(m) & 0xF == 1 << n)
        } else {
            #expect(m.run() == .hlt(length: 1))
            #expect(dr6(m) & 0xF == 0)
        }
        let mask: UInt64 = size == 8 ? ~0 : (1 << (8 * UInt64(size))) - 1
        #expect((m.load64(Self.data + offset) ?? 0) & mask == 0x1122_3344_5566_7788 & mask)
    }

    @Test func readWriteBreakpointFiresOnAReadAndWriteOnlyDoesNot() throws {
        // mov rcx, [rax]; hlt
        for (rw, hit) in [(UInt64(3), true), (1, false)] {
            let m = try machine([0x48, 0x8B, 0x08, 0xF4]) {
                $0.debugRegisters[1] = Self.data + 0x104
                $0.debugRegisters[7] = Self.dr7(1, rw: rw, len: 3)
                $0[.rax] = Self.data + 0x100
            }
            m.store64(0xABCD, at: Self.data + 0x100)
            #expect(m.run() == (hit ? Self.debugTrap : .hlt(length: 1)))
            #expect(m.state[.rcx] == 0xABCD)
            #expect(dr6(m) & 0xF == (hit ? 2 : 0))
        }
    }

    @Test func readModifyWriteAndPushAreWatchedToo() throws {
        // add [rax], ebx (the fast read-modify-write path); push rbx onto a watched slot.
        let m = try machine([0x01, 0x18, 0xF4]) {
            $0.debugRegisters[0] = Self.data + 8
            $0.debugRegisters[7] = Self.dr7(0, rw: 1, len: 3)
            $0[.rax] = Self.data + 8
            $0[.rbx] = 5
        }
        #expect(m.run() == Self.debugTrap)
        #expect(m.load64(Self.data + 8) == 5)
        let p = try machine([0x53, 0xF4]) {
            $0.debugRegisters[2] = TestMachine.stackTop - 8
            $0.debugRegisters[7] = Self.dr7(2, rw: 3, len: 2)
            $0[.rbx] = 7
        }
        #expect(p.run() == Self.debugTrap)
        #expect(p.state.rip == TestMachine.codeBase + 1)
        #expect(p.load64(TestMachine.stackTop - 8) == 7)
        #expect(dr6(p) & 0xF == 4)
    }

    @Test func disabledBreakpointsDoNotFire() throws {
        // The R/W and LEN fields are set but neither L0 nor G0; I/O breakpoints are ignored.
        for dr7: UInt64 in [0x400 | (1 << 16) | (3 << 18), 0x400 | 1 | (2 << 16)] {
            let m = try machine([0x90, 0x89, 0x18, 0xF4]) {
                $0.debugRegisters[0] = Self.data
                $0.debugRegisters[1] = TestMachine.codeBase
                $0.debugRegisters[7] = dr7
                $0[.rax] = Self.data
            }
            #expect(m.run() == .hlt(length: 1))
            #expect(dr6(m) & 0xF == 0)
        }
    }

    @Test func dr6CollectsEveryHitAndKeepsOldBits() throws {
        // DR1 and DR3 both watch the store; B0, already set, stays; TF adds BS to the same #DB.
        let m = try machine([0x89, 0x18, 0xF4]) {
            $0.debugRegisters[1] = Self.data
            $0.debugRegisters[3] = Self.data + 2
            $0.debugRegisters[6] = 0xFFFF_0FF1
            $0.debugRegisters[7] = Self.dr7(1, rw: 1, len: 3) | Self.dr7(3, rw: 3, len: 0)
            $0[.rax] = Self.data
            $0.rflags.insert(.trap)
        }
        #expect(m.run() == Self.debugTrap)
        #expect(dr6(m) & 0xF == 0b1011)
        #expect(dr6(m) & (1 << 14) != 0)
    }

    @Test func repMovsTrapsAfterTheIterationThatHits() throws {
        // rep movsb, RCX = 4, the third destination byte watched; an instruction breakpoint on
        // the REP itself fires first, once (RF), and not again between iterations: a trap
        // between them leaves RF set (it is pushed as 1), the last iteration clears it.
        let m = try machine([0xF3, 0xA4, 0xF4]) {
            $0.debugRegisters[0] = TestMachine.codeBase
            $0.debugRegisters[1] = Self.data + 0x102
            $0.debugRegisters[7] = Self.dr7(0, rw: 0) | Self.dr7(1, rw: 1)
            $0[.rcx] = 4
            $0[.rsi] = Self.data
            $0[.rdi] = Self.data + 0x100
        }
        m.store64(0x4433_2211, at: Self.data)
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase && m.state[.rcx] == 4)
        #expect(dr6(m) & 0xF == 1)
        var s = m.state
        s.rflags.insert(.resume)
        s.debugRegisters[6] = 0xFFFF_0FF0
        m.state = s
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase)
        #expect(m.state[.rcx] == 1)
        #expect(m.state[.rsi] == Self.data + 3 && m.state[.rdi] == Self.data + 0x103)
        #expect(dr6(m) & 0xF == 2)
        #expect(m.state.rflags.contains(.resume))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rcx] == 0)
        #expect(!m.state.rflags.contains(.resume))
        #expect(m.load64(Self.data + 0x100) == 0x4433_2211)
    }

    @Test func deliveredDataTrapPushesRFOnlyBetweenREPIterations() throws {
        // The trap after a middle iteration of rep stosb pushes RIP at the instruction and
        // RF = 1; the trap after a plain store pushes RIP after it and RF = 0.
        for (code, rip, resume) in [([UInt8(0xF3), 0xAA, 0xF4], UInt64(0), true), ([0x88, 0x07, 0xF4], 2, false)] {
            let m = try machine(code, deliverDebug: true) {
                $0.debugRegisters[0] = Self.data + 0x201
                $0.debugRegisters[7] = Self.dr7(0, rw: 1)
                $0[.rcx] = 4
                $0[.rdi] = Self.data + 0x201 - (resume ? 1 : 0)
            }
            #expect(m.run() == .hlt(length: 1))
            #expect(m.state.rip == SystemTables.handler(1))
            let frame = m.stackSlots(m.state[.rsp], count: 3)
            #expect(frame[0] == TestMachine.codeBase + rip)
            #expect((frame[2] & Self.rf != 0) == resume)
            #expect(dr6(m) & 0xF == 1)
        }
    }

    @Test func movToDR7ArmsAtOnceEvenForAPageAlreadyCached() throws {
        // mov [rax], bl; mov dr7, rdx; mov [rax], bl; hlt — the first store caches the page
        // as writable; arming drops it, so the second store traps.
        let m = try machine([0x88, 0x18, 0x0F, 0x23, 0xFA, 0x88, 0x18, 0xF4]) {
            $0.debugRegisters[0] = Self.data + 0x10
            $0[.rax] = Self.data + 0x10
            $0[.rdx] = Self.dr7(0, rw: 1)
        }
        #expect(m.run() == Self.debugTrap)
        #expect(m.state.rip == TestMachine.codeBase + 7)
        #expect(dr6(m) & 0xF == 1)
        // Disarmed, the same store runs through the fast path again without a trap.
        var s = m.state
        s.debugRegisters[7] = 0x400
        s.rip = TestMachine.codeBase + 5
        m.state = s
        #expect(m.run() == .hlt(length: 1))
    }
}
