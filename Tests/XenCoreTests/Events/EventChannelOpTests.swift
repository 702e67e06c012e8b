import Testing
import XenABI
import XenControl

@testable import XenCore

/// EVTCHNOP_* driven by guest code: round trips and every errno Xen gives.
@Suite struct EventChannelOpTests {
    typealias M = EventTestMachine
    static let selfID = UInt64(DomainID.selfDomain.rawValue)

    @Test func allocBindSendCloseStatusRoundTrip() throws {
        let d = M.data
        var p = EventProgram()
        p.evtchn(.allocUnbound, d)            // 0: port 1 offered to ourselves
        p.evtchn(.bindInterdomain, d + 0x20)  // 1: loopback → port 2
        p.evtchn(.status, d + 0x40)           // 2
        p.evtchn(.status, d + 0x60)           // 3
        p.code.storeQword(0, at: UInt32(M.sharedInfo) + UInt32(SharedInfoLayout.eventChannelPending))
        p.evtchn(.send, d + 0x80)             // 4: port 2 → port 1 pending
        p.code.loadRAX(from: M.sharedInfo + UInt64(SharedInfoLayout.eventChannelPending))
        p.storeResult()                       // 5: the pending word
        p.evtchn(.close, d + 0x88)            // 6: close 1 → 2 unbound
        p.evtchn(.status, d + 0xA0)           // 7
        p.evtchn(.close, d + 0x88)            // 8: closed port
        p.evtchn(.send, d + 0x88)             // 9: send on closed port
        p.evtchn(.send, d + 0x80)             // 10: send on unbound: dropped
        p.evtchn(.close, d + 0xC0)            // 11: port 0
        p.evtchn(.close, d + 0xC8)            // 12: huge port
        p.evtchn(.status, d + 0xE0)           // 13: port 63 — valid, closed
        p.evtchn(.status, d + 0x100)          // 14: port 64 — beyond the first bucket
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d)
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d + 2)
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x20)
        m.store(UInt32(1), at: d + 0x24)
        for (a, port) in [(d + 0x40, 1), (d + 0x60, 2), (d + 0xA0, 2), (d + 0xE0, 63), (d + 0x100, 64)] as [(UInt64, UInt32)] {
            m.store(UInt16(DomainID.selfDomain.rawValue), at: a)
            m.store(port, at: a + 4)
        }
        m.store(UInt32(2), at: d + 0x80)
        m.store(UInt32(1), at: d + 0x88)
        m.store(UInt32(0), at: d + 0xC0)
        m.store(UInt32.max, at: d + 0xC8)
        // A status union the guest filled in: Xen leaves members it does not use alone.
        m.store(UInt32(0xAAAA_AAAA), at: d + 0xE0 + 16)

        #expect(m.run() == .domainShutdown)
        #expect(m.result(0) == 0)
        #expect(m.load32(d + 4) == 1)
        #expect(m.result(1) == 0)
        #expect(m.load32(d + 0x28) == 2)
        // Port 1: interdomain to (d1, port 2); port 2: interdomain to (d1, port 1).
        #expect(m.result(2) == 0)
        #expect(m.load32(d + 0x48) == EventChannelStatus.interdomain.rawValue)
        #expect(m.load32(d + 0x4C) == 0)
        #expect(m.memory.load(UInt16.self, at: .init(d + 0x50)) == 1)
        #expect(m.load32(d + 0x54) == 2)
        #expect(m.load32(d + 0x68) == EventChannelStatus.interdomain.rawValue)
        #expect(m.load32(d + 0x74) == 1)
        // send on port 2 raised port 1 (and only it: bind's pending bit was cleared).
        #expect(m.result(5) == 1 << 1)
        #expect(m.result(6) == 0)
        #expect(m.result(7) == 0)
        #expect(m.load32(d + 0xA8) == EventChannelStatus.unbound.rawValue)
        #expect(m.memory.load(UInt16.self, at: .init(d + 0xB0)) == 1)
        #expect(m.result(8) == XenError.EINVAL.rax)
        #expect(m.result(9) == XenError.EINVAL.rax)
        #expect(m.result(10) == 0)
        #expect(m.result(11) == XenError.EINVAL.rax)
        #expect(m.result(12) == XenError.EINVAL.rax)
        #expect(m.result(13) == 0)
        #expect(m.load32(d + 0xE8) == EventChannelStatus.closed.rawValue)
        #expect(m.load32(d + 0xE0 + 16) == 0xAAAA_AAAA)
        #expect(m.result(14) == XenError.EINVAL.rax)
        // Closing freed port 1's pending bit.
        #expect(!m.isPending(1))
    }

    @Test func bindErrnosInXensOrder() throws {
        let d = M.data
        // (virq, vcpu) pairs for bind_virq at d + 16·i.
        let virqs: [(UInt32, UInt32)] = [
            (VIRQ.timer, 0), (VIRQ.timer, 0), (24, 0), (0x8000_0000, 0), (VIRQ.console, 1),
            (VIRQ.debug, 5), (VIRQ.console, 0), (VIRQ.debug, 0x8000_0000),
        ]
        var p = EventProgram()
        for i in virqs.indices { p.evtchn(.bindVIRQ, d + 16 * UInt64(i)) }  // 0–7
        p.evtchn(.bindIPI, d + 0x100)          // 8: vcpu 3 → ENOENT
        p.evtchn(.bindIPI, d + 0x108)          // 9: vcpu 0 → port 3
        p.evtchn(.bindVCPU, d + 0x110)         // 10: per-vCPU VIRQ port → EINVAL
        p.evtchn(.bindVCPU, d + 0x118)         // 11: global VIRQ port → 0
        p.evtchn(.bindVCPU, d + 0x120)         // 12: IPI port → EINVAL
        p.evtchn(.bindVCPU, d + 0x128)         // 13: vcpu 9 → ENOENT
        p.evtchn(.bindPIRQ, d + 0x130)         // 14: pirq 5 → EPERM
        p.evtchn(.bindPIRQ, d + 0x140)         // 15: pirq 1000 → EINVAL
        p.evtchn(.status, d + 0x150)           // 16: port 1 (VIRQ_TIMER)
        p.evtchn(.status, d + 0x170)           // 17: port 3 (IPI)
        p.evtchn(.allocUnbound, d + 0x190)     // 18: dom 7 (none) → ESRCH
        p.evtchn(.status, d + 0x1A0)           // 19: dom 9 (none) → ESRCH
        p.call(.eventChannelOp, 99, d)         // 20: unknown → ENOSYS
        p.evtchn(.initControl, d + 0x200)      // 21: FIFO → ENOSYS
        p.evtchn(.expandArray, d + 0x200)      // 22: → ENOSYS
        p.evtchn(.setPriority, d + 0x220)      // 23: port 1 → ENOSYS
        p.evtchn(.setPriority, d + 0x228)      // 24: port 999 → EINVAL
        p.evtchn(.resetContinuation, d + 0x230)  // 25: no reset in progress → EBUSY
        p.evtchn(.reset, d + 0x230)            // 26: → 0
        p.evtchn(.status, d + 0x150)           // 27: port 1 closed now
        p.evtchn(.bindVIRQ, d)                 // 28: VIRQ_TIMER binds again
        p.call(.eventChannelOp, UInt64(EventChannelOp.send.rawValue), 0x1234_5000)      // 29: unmapped → EFAULT
        p.call(.eventChannelOp, UInt64(EventChannelOp.send.rawValue), 0xFFFF_8000_0000_0000)  // 30: hole → EFAULT
        p.call(.eventChannelOp, 0x1_0000_0004, d + 0x108)  // 31: cmd is an int: 4 = send (port 0 → EINVAL)
        p.shutdown()
        let m = try M(code: [p.bytes])
        for (i, (virq, vcpu)) in virqs.enumerated() {
            m.store(virq, at: d + 16 * UInt64(i))
            m.store(vcpu, at: d + 16 * UInt64(i) + 4)
        }
        m.store(UInt32(3), at: d + 0x100)
        m.store(UInt32(0), at: d + 0x108)
        m.store(UInt32(1), at: d + 0x110)
        m.store(UInt32(2), at: d + 0x118)
        m.store(UInt32(3), at: d + 0x120)
        m.store(UInt32(2), at: d + 0x128)
        m.store(UInt32(9), at: d + 0x12C)
        m.store(UInt32(5), at: d + 0x130)
        m.store(UInt32(1000), at: d + 0x140)
        for (a, port) in [(d + 0x150, 1), (d + 0x170, 3)] as [(UInt64, UInt32)] {
            m.store(UInt16(DomainID.selfDomain.rawValue), at: a)
            m.store(port, at: a + 4)
        }
        m.store(UInt16(7), at: d + 0x190)
        m.store(UInt16(9), at: d + 0x1A0)
        m.store(UInt32(1), at: d + 0x1A4)
        m.store(UInt32(1), at: d + 0x220)
        m.store(UInt32(999), at: d + 0x228)
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x230)

        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        let expected: [UInt64] = [
            0, XenError.EEXIST.rax, XenError.EINVAL.rax, XenError.EINVAL.rax, XenError.EINVAL.rax,
            XenError.ENOENT.rax, 0, XenError.ENOENT.rax,
            XenError.ENOENT.rax, 0, XenError.EINVAL.rax, 0, XenError.EINVAL.rax, XenError.ENOENT.rax,
            XenError.EPERM.rax, XenError.EINVAL.rax, 0, 0, XenError.ESRCH.rax, XenError.ESRCH.rax,
            XenError.ENOSYS.rax, XenError.ENOSYS.rax, XenError.ENOSYS.rax, XenError.ENOSYS.rax,
            XenError.EINVAL.rax, XenError.EBUSY.rax, 0, 0, 0, XenError.EFAULT.rax, XenError.EFAULT.rax,
            XenError.EINVAL.rax,
        ]
        for (i, e) in expected.enumerated() {
            #expect(m.result(i) == e, "result \(i)")
        }
        #expect(m.load32(d + 8) == 1)        // VIRQ_TIMER on port 1
        #expect(m.load32(d + 0x60 + 8) == 2) // VIRQ_CONSOLE on port 2
        #expect(m.load32(d + 0x10C) == 3)    // the IPI on port 3
        // Status of port 1 before the reset: VIRQ 0 on vCPU 0; port 3: IPI.
        #expect(m.load32(d + 0x170 + 8) == EventChannelStatus.ipi.rawValue)
        // After the reset port 1 was closed, then VIRQ_TIMER took it again.
        #expect(m.load32(d + 0x150 + 8) == EventChannelStatus.closed.rawValue)
        #expect(m.load32(d + 8) == 1)
    }

    @Test func compatHypercallTakesTheCommandInsideTheStructure() throws {
        let d = M.data
        var p = EventProgram()
        p.call(.eventChannelOpCompat, d)          // 0: bind_ipi(vcpu 0) → port 1
        p.call(.eventChannelOpCompat, d + 0x40)   // 1: status(port 1)
        p.call(.eventChannelOpCompat, d + 0x80)   // 2: reset is not a compat command → ENOSYS
        p.call(.eventChannelOpCompat, 0x1234_5000)  // 3: EFAULT
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.store(EventChannelOp.bindIPI.rawValue, at: d)
        m.store(UInt32(0), at: d + 4)
        m.store(EventChannelOp.status.rawValue, at: d + 0x40)
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x44)
        m.store(UInt32(1), at: d + 0x48)
        m.store(EventChannelOp.reset.rawValue, at: d + 0x80)
        m.run()
        #expect(m.result(0) == 0)
        #expect(m.load32(d + 8) == 1)
        #expect(m.result(1) == 0)
        #expect(m.load32(d + 0x4C) == EventChannelStatus.ipi.rawValue)
        #expect(m.result(2) == XenError.ENOSYS.rax)
        #expect(m.result(3) == XenError.EFAULT.rax)
    }

    @Test func quotaFollowsTheDomainLimitAndTheTwoLevelMaximum() throws {
        let d = M.data
        var p = EventProgram()
        for _ in 0..<4 { p.evtchn(.allocUnbound, d) }  // 0–3: ports 1, 2, 3, then ENOSPC
        p.evtchn(.close, d + 0x10)                     // 4: close port 2
        p.evtchn(.allocUnbound, d)                     // 5: port 2 again
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.domain.setMaxEventChannelPort(3)
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d)
        m.store(UInt16(0), at: d + 2)
        m.store(UInt32(2), at: d + 0x10)
        m.run()
        #expect(Array((0..<6).map(m.result)) == [0, 0, 0, XenError.ENOSPC.rax, 0, 0])
        #expect(m.load32(d + 4) == 2)

        // The 2-level ABI's hard limit: ports 1…4095, whatever the domain limit says.
        let big = try M(code: [[]])
        big.domain.setMaxEventChannelPort(100_000)
        for expected in 1..<UInt32(4096) {
            #expect(try big.domain.allocateUnboundPort(remote: .controlDomain) == EventChannelPort(expected))
        }
        #expect(throws: XenError.ENOSPC) { try big.domain.allocateUnboundPort(remote: .controlDomain) }
    }
}

extension GuestCode {
    /// mov rax, [abs64]
    mutating func loadRAX(from address: UInt64) { raw([0x48, 0xA1] + Self.le(address, 8)) }
    /// mov rax, rsp
    mutating func movRAXRSP() { raw([0x48, 0x89, 0xE0]) }
    /// add rax, imm32
    mutating func addRAX(_ v: UInt32) { raw([0x48, 0x05] + Self.le(UInt64(v), 4)) }
    /// movzx eax, byte [abs32]
    mutating func loadByte(from address: UInt32) { raw([0x0F, 0xB6, 0x04, 0x25] + Self.le(UInt64(address), 4)) }
    /// jmp $
    mutating func spin() { raw([0xEB, 0xFE]) }
}
