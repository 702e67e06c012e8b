import Synchronization
import Testing
import XenABI
import XenBackends
import XenControl
import XenStore

/// Secondary consoles (device/console/<n>) through xenbus, against a mock hvc_xen frontend.
@Suite struct SecondaryConsoleTests {
    final class Output: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    }

    final class Setup {
        let rig = XenbusRig()
        let guest: GuestXenStore
        let output = Output()
        let device: SecondaryConsoleDevice
        let backend: XenbusBackend
        let domain = DomainID(2)
        static let guestPort = EventChannelPort(9)

        init(name: String? = "serial1") throws {
            guest = try rig.guest(domain)
            let output = self.output
            device = SecondaryConsoleDevice(domain: domain, grants: rig.grants, events: rig.events,
                                            sink: { chunk in output.bytes.withLock { $0 += chunk } })
            backend = XenbusBackend.secondaryConsole(1, of: domain, name: name, device: device, client: rig.client)
            try backend.start()
            backend.waitUntilIdle()
        }

        var frontend: String { backend.address.frontendPath }

        /// hvc_xen's xencons_connect_backend: a granted page, a port, the keys, Initialised.
        func connectFrontend(ref: GrantReference = GrantReference(20)) -> GuestConsole {
            let page = rig.grants.grant(domain, ref)
            #expect(guest.write(frontend + "/ring-ref", String(ref.rawValue)) == "OK")
            #expect(guest.write(frontend + "/port", String(Self.guestPort.rawValue)) == "OK")
            #expect(guest.write(frontend + "/state", "3") == "OK")
            backend.waitUntilIdle()
            return GuestConsole(base: page)
        }
    }

    @Test func theLayoutIsLibxls() throws {
        let s = try Setup()
        let back = s.backend.address.backendPath
        #expect(back == "/local/domain/0/backend/console/2/1")
        #expect(s.frontend == "/local/domain/2/device/console/1")
        #expect(s.rig.read(back + "/protocol") == "vt100")
        #expect(s.rig.read(back + "/name") == "serial1")
        #expect(s.rig.read(s.frontend + "/protocol") == "vt100")
        #expect(s.rig.permissions(s.frontend + "/protocol") == ["n2", "r0"])
        for (key, value) in [("limit", "1048576"), ("type", "xenconsoled"), ("output", "pty"), ("tty", ""),
                             ("name", "serial1")] {
            #expect(s.rig.read(s.frontend + "/" + key) == value, "\(key)")
            #expect(s.rig.permissions(s.frontend + "/" + key) == ["n0", "r2"], "\(key)")
        }
        #expect(s.backend.backendState == .initWait)
        s.backend.teardown()
        s.rig.close()
    }

    @Test func outputAndInputFlowOnceConnected() throws {
        let s = try Setup()
        let console = s.connectFrontend()
        #expect(s.backend.backendState == .connected)
        #expect(console.connection == ConsoleConnectionState.connected.rawValue)
        #expect(s.rig.grants.liveMappings == 2)  // store page + console page
        #expect(s.rig.events.isBound(s.domain, Setup.guestPort))
        console.write("hello from hvc1\n")
        s.rig.events.guestSends(s.domain, Setup.guestPort)
        s.device.flush()
        #expect(s.output.text == "hello from hvc1\n")
        #expect(s.device.sendInput(Array("ls\n".utf8)) == 3)
        s.device.flush()
        #expect(console.read() == Array("ls\n".utf8))
        s.backend.teardown()
        #expect(s.rig.grants.liveMappings == 1)
        #expect(!s.rig.events.isBound(s.domain, Setup.guestPort))
        s.rig.close()
    }

    @Test func closingAndReconnectingKeepsTheSink() throws {
        let s = try Setup()
        let first = s.connectFrontend(ref: GrantReference(20))
        first.write("one ")
        s.rig.events.guestSends(s.domain, Setup.guestPort)
        s.device.flush()
        #expect(s.guest.write(s.frontend + "/state", "5") == "OK")
        #expect(s.guest.write(s.frontend + "/state", "6") == "OK")
        s.backend.waitUntilIdle()
        #expect(s.backend.backendState == .closed)
        #expect(s.device.console == nil)
        #expect(s.rig.grants.liveMappings == 1)
        #expect(s.guest.write(s.frontend + "/state", "1") == "OK")
        s.backend.waitUntilIdle()
        #expect(s.backend.backendState == .initWait)
        let second = s.connectFrontend(ref: GrantReference(21))
        #expect(s.backend.backendState == .connected)
        second.write("two")
        s.rig.events.guestSends(s.domain, Setup.guestPort)
        s.device.flush()
        #expect(s.output.text == "one two")
        s.backend.teardown()
        s.rig.close()
    }

    @Test func aRingRefThatIsNotGrantedClosesWithAnError() throws {
        let s = try Setup()
        #expect(s.guest.write(s.frontend + "/ring-ref", "77") == "OK")
        #expect(s.guest.write(s.frontend + "/port", "9") == "OK")
        #expect(s.guest.write(s.frontend + "/state", "3") == "OK")
        s.backend.waitUntilIdle()
        #expect(s.backend.backendState == .closing)
        let error = s.rig.read(s.backend.address.errorPath + "/error") ?? ""
        #expect(error.hasPrefix("2 mapping in shared page 77 from domain 2"))
        #expect(s.rig.grants.liveMappings == 1)
        #expect(s.rig.events.boundCount == 1)  // only the store's port
        s.backend.teardown()
        s.rig.close()
    }

    @Test func aPortThatCannotBeBoundClosesWithAnError() throws {
        let s = try Setup()
        s.rig.grants.grant(s.domain, GrantReference(20))
        s.rig.events.state.withLock { $0.failBinds = .EINVAL }
        #expect(s.guest.write(s.frontend + "/ring-ref", "20") == "OK")
        #expect(s.guest.write(s.frontend + "/port", "9") == "OK")
        #expect(s.guest.write(s.frontend + "/state", "3") == "OK")
        s.backend.waitUntilIdle()
        #expect(s.backend.backendState == .closing)
        #expect(s.rig.read(s.backend.address.errorPath + "/error") == "22 binding event channel 9 of domain 2")
        #expect(s.rig.grants.liveMappings == 1)
        s.rig.events.state.withLock { $0.failBinds = nil }
        s.backend.teardown()
        s.rig.close()
    }
}
