import GuestMemory
import Synchronization
import Testing
import X86
import X86Interpreter
import XenABI
import XenControl

@testable import XenCore

/// Channels between two domains and between a guest and Kite's control domain (the
/// backends' side), found through an EventChannelHub.
@Suite struct InterdomainTests {
    typealias M = EventTestMachine

    /// A second domain in the same machine RAM, with its own shared_info at 0x710000 and a
    /// vCPU that never runs.
    static func secondDomain(_ m: M, id: UInt16 = 2) -> Domain {
        let frame = MachineFrame(0x710)
        m.memory.zero(frame)
        let d = Domain(id: DomainID(id), machine: m.memory, sharedInfoFrame: frame) { _ in }
        d.addVCPU(engine: InterpreterFactory().makeVirtualCPU(memory: m.memory, translation: IdentityTranslation(memory: m.memory)))
        return d
    }

    static func isPending(_ d: Domain, _ port: UInt32) -> Bool { d.isPending2L(port: port) }

    @Test func guestBindsToAnotherDomainsPortAndSends() throws {
        let d = M.data
        var p = EventProgram()
        p.evtchn(.bindInterdomain, d)          // 0: to (d2, port 1) → local port 1
        p.evtchn(.send, d + 8)                 // 1: raises d2's port 1
        p.evtchn(.status, d + 0x20)            // 2
        p.evtchn(.allocUnbound, d + 0x40)      // 3: dom = d2 → EPERM
        p.evtchn(.status, d + 0x60)            // 4: (d2, port 1) → EPERM
        p.evtchn(.status, d + 0x80)            // 5: (d2, port 9999) → EINVAL
        p.evtchn(.status, d + 0xA0)            // 6: (d3: none) → ESRCH
        p.evtchn(.bindInterdomain, d + 0xC0)   // 7: (d2, port 2) not offered to us → EINVAL
        p.evtchn(.bindInterdomain, d + 0xE0)   // 8: d9 → ESRCH
        p.evtchn(.bindInterdomain, d)          // 9: (d2, port 1) is bound now → EINVAL
        p.evtchn(.close, d + 8)                // 10: d2's port 1 is unbound again
        p.shutdown()
        let m = try M(code: [p.bytes])
        let other = Self.secondDomain(m)
        let hub = EventChannelHub()
        try hub.register(m.domain)
        try hub.register(other)
        let offered = try other.allocateUnbound(dom: .selfDomain, remote: DomainID(1))
        let notOffered = try other.allocateUnbound(dom: .selfDomain, remote: DomainID(5))
        #expect((offered, notOffered) == (1, 2))
        m.store(UInt16(2), at: d)
        m.store(offered, at: d + 4)
        m.store(UInt32(1), at: d + 8)
        m.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x20)
        m.store(UInt32(1), at: d + 0x24)
        m.store(UInt16(2), at: d + 0x40)
        for (a, dom, port) in [(d + 0x60, 2, 1), (d + 0x80, 2, 9999), (d + 0xA0, 3, 1)] as [(UInt64, UInt16, UInt32)] {
            m.store(dom, at: a)
            m.store(port, at: a + 4)
        }
        m.store(UInt16(2), at: d + 0xC0)
        m.store(notOffered, at: d + 0xC4)
        m.store(UInt16(9), at: d + 0xE0)
        m.run()
        let expected: [UInt64] = [
            0, 0, 0, XenError.EPERM.rax, XenError.EPERM.rax, XenError.EINVAL.rax, XenError.ESRCH.rax,
            XenError.EINVAL.rax, XenError.ESRCH.rax, XenError.EINVAL.rax, 0,
        ]
        for (i, e) in expected.enumerated() { #expect(m.result(i) == e, "result \(i)") }
        #expect(m.load32(d + 8) == 1)
        #expect(Self.isPending(other, offered))
        #expect(m.load32(d + 0x28) == EventChannelStatus.interdomain.rawValue)
        #expect(m.memory.load(UInt16.self, at: .init(d + 0x30)) == 2)
        #expect(m.load32(d + 0x34) == offered)
        let after = try other.eventChannelStatus(dom: .selfDomain, port: offered)
        #expect(after.status == .unbound && after.remoteDomain == DomainID(1))
    }

    @Test func kitesControlDomainTalksToAGuestPort() throws {
        let d = M.data
        var p = EventProgram()
        p.evtchn(.send, d)                         // 0: guest → Kite's handler
        p.evtchn(.send, d)                         // 1: and again
        p.call(.schedOp, SchedOp.poll.rawValue, d + 0x20)  // 2: until Kite notifies back
        p.shutdown()
        let m = try M(code: [p.bytes])
        let hub = EventChannelHub()
        try hub.register(m.domain)
        // The toolstack offers a port to domain 0 before the guest runs (like the console's).
        let guestPort = try m.domain.allocateUnboundPort(remote: .controlDomain)
        let received = Mutex<[EventChannelPort]>([])
        let hostPortBox = Mutex<EventChannelPort?>(nil)
        let host = hub.host
        let hostPort = try host.bindInterdomain(remoteDomain: DomainID(1), remotePort: guestPort) { port in
            received.withLock { $0.append(port) }
            // The backend answers the second notification.
            if received.withLock({ $0.count }) == 3, let hp = hostPortBox.withLock({ $0 }) {
                try? host.notify(hp)
            }
        }
        hostPortBox.withLock { $0 = hostPort }
        // Binding left Kite's new port pending: one notification already.
        #expect(received.withLock { $0 } == [hostPort])
        m.store(guestPort.rawValue, at: d)
        m.store(d + 0x40, at: d + 0x20)
        m.store(UInt32(1), at: d + 0x28)
        m.store(guestPort.rawValue, at: d + 0x40)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(received.withLock { $0 } == [hostPort, hostPort, hostPort])
        #expect(m.result(2) == 0)
        #expect(m.isPending(guestPort.rawValue))
        #expect(try host.status(hostPort).status == .interdomain)
        #expect(try host.status(hostPort).remotePort == guestPort)

        // Closing Kite's side leaves the guest's port unbound; unregistering the guest
        // closes every port it has.
        try host.close(hostPort)
        #expect(try m.domain.eventChannelStatus(dom: .selfDomain, port: guestPort.rawValue).status == .unbound)
        #expect(throws: XenError.EINVAL) { try host.notify(hostPort) }
        let again = try host.bindInterdomain(remoteDomain: DomainID(1), remotePort: guestPort) { _ in }
        hub.unregister(m.domain)
        #expect(try host.status(again).status == .unbound)
        #expect(throws: XenError.ESRCH) {
            try host.bindInterdomain(remoteDomain: DomainID(1), remotePort: guestPort) { _ in }
        }
    }

    @Test func hubRefusesReservedAndDuplicateIDs() throws {
        let m = try M(code: [[]])
        let hub = EventChannelHub()
        try hub.register(m.domain)
        let twin = try M(code: [[]])
        #expect(throws: EventChannelHubError.duplicateID(DomainID(1))) { try hub.register(twin.domain) }
        let zero = try M(code: [[]], id: .controlDomain)
        #expect(throws: EventChannelHubError.reservedID(.controlDomain)) { try hub.register(zero.domain) }
        // Registering the same domain twice is harmless.
        try hub.register(m.domain)
    }
}
