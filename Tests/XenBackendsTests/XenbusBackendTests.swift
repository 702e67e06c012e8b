import Synchronization
import Testing
import XenABI
import XenBackends
import XenStore

/// The generic xenbus backend against a mock frontend speaking through a guest's ring.
@Suite struct XenbusBackendTests {
    static let guestDomain = DomainID(1)
    static let vbd = XenbusDeviceAddress(frontend: guestDomain, type: "vbd", devid: 51712)
    static let keys = XenbusDeviceKeys(
        backend: ["params=/images/disk.img", "mode=w", "dev=xvda", "type=file"],
        frontend: ["virtual-device=51712", "device-type=disk"],
        readOnlyFrontend: ["trusted=1"])

    final class StateLog: Sendable {
        let states = Mutex<[XenbusState]>([])
        func append(_ state: XenbusState) { states.withLock { $0.append(state) } }
        var all: [XenbusState] { states.withLock { $0 } }
    }

    final class Setup {
        let rig = XenbusRig()
        let device = MockDevice()
        let guest: GuestXenStore
        let backend: XenbusBackend
        let states = StateLog()

        init(policy: XenbusBackendPolicy = .blkback, address: XenbusDeviceAddress = XenbusBackendTests.vbd) throws {
            guest = try rig.guest(address.frontendDomain)
            let states = self.states
            backend = XenbusBackend(address: address, keys: XenbusBackendTests.keys, device: device, client: rig.client,
                                    policy: policy, onStateChange: { state in states.append(state) })
            try backend.start()
            backend.waitUntilIdle()
        }

        var frontend: String { backend.address.frontendPath }
        var back: String { backend.address.backendPath }

        /// The guest writes a frontend key; the backend handles what it caused.
        func guestWrites(_ key: String, _ value: String) {
            #expect(guest.write(frontend + "/" + key, value) == "OK", "\(key)")
            backend.waitUntilIdle()
        }

        /// Publishes ring-ref, event-channel and protocol as blkfront does, then `state`.
        func guestPublishes(state: XenbusState = .initialised, ring: String = "8", port: String = "5") {
            guestWrites("ring-ref", ring)
            guestWrites("event-channel", port)
            guestWrites("protocol", "x86_64-abi")
            guestWrites("state", state.xenstoreValue)
        }

        var backendStateNode: String? { rig.read(back + "/state") }
        var errorNode: String? { rig.read(backend.address.errorPath + "/error") }
    }

    @Test func startWritesLibxlsLayoutAndWaitsForTheFrontend() throws {
        let s = try Setup()
        let (back, front) = (s.back, s.frontend)
        #expect(back == "/local/domain/0/backend/vbd/1/51712")
        #expect(front == "/local/domain/1/device/vbd/51712")
        #expect(s.rig.permissions(back) == ["n0", "r1"])
        #expect(s.rig.permissions(front) == ["n1", "r0"])
        for (key, value) in [("frontend", front), ("frontend-id", "1"), ("online", "1"), ("state", "2"),
                             ("params", "/images/disk.img"), ("mode", "w"), ("dev", "xvda")] {
            #expect(s.rig.read(back + "/" + key) == value, "\(key)")
            #expect(s.rig.permissions(back + "/" + key) == ["n0", "r1"], "\(key)")
        }
        for (key, value) in [("backend", back), ("backend-id", "0"), ("state", "1"), ("virtual-device", "51712"),
                             ("device-type", "disk")] {
            #expect(s.rig.read(front + "/" + key) == value, "\(key)")
            #expect(s.rig.permissions(front + "/" + key) == ["n1", "r0"], "\(key)")
        }
        #expect(s.rig.permissions(front + "/trusted") == ["n0", "r1"])
        #expect(s.rig.read("/libxl/1/device/vbd/51712/frontend") == front)
        #expect(s.rig.read("/libxl/1/device/vbd/51712/backend") == back)
        #expect(s.rig.read("/libxl/1/device/vbd/51712/params") == "/images/disk.img")
        #expect(s.rig.permissions("/libxl/1/device/vbd/51712") == ["n0"])
        #expect(s.backend.backendState == .initWait)
        #expect(s.states.all == [.initWait])
        #expect(s.device.callLog.isEmpty)
        s.rig.close()
    }

    @Test func theGuestWritesItsEndButOnlyReadsTheBackend() throws {
        let s = try Setup()
        #expect(s.guest.read(s.back + "/state") == "2")
        #expect(s.guest.write(s.back + "/state", "4") == "EACCES")
        #expect(s.guest.write(s.back + "/sectors", "1") == "EACCES")
        #expect(s.guest.write(s.frontend + "/trusted", "0") == "EACCES")
        #expect(s.guest.write(s.frontend + "/ring-ref", "9") == "OK")
        #expect(s.guest.read("/local/domain/0/backend/vbd/1") == nil)
        #expect(s.rig.read(s.back + "/state") == "2")
        s.rig.close()
    }

    @Test func blkfrontsHandshakeConnects() throws {
        let s = try Setup()
        s.guestPublishes(state: .initialised, ring: "8", port: "5")
        #expect(s.device.connection == MockDevice.Connection(ring: GrantReference(8), port: EventChannelPort(5),
                                                             protocolName: "x86_64-abi"))
        #expect(s.device.callLog == ["connect"])
        #expect(s.backendStateNode == "4")
        #expect(s.rig.read(s.back + "/sectors") == "2048")
        #expect(s.rig.read(s.back + "/sector-size") == "512")
        #expect(s.backend.isConnected)
        // The frontend answering Connected changes nothing, nor do repeated writes.
        s.guestWrites("state", "4")
        s.guestWrites("state", "4")
        #expect(s.device.callLog == ["connect"])
        #expect(s.states.all == [.initWait, .connected])
        #expect(s.rig.read(s.back + "/state") == "4")
        s.rig.close()
    }

    @Test func netbackWaitsForConnected() throws {
        let s = try Setup(policy: .netback)
        s.guestPublishes(state: .initialised)
        #expect(s.device.callLog.isEmpty)
        #expect(s.backendStateNode == "2")
        s.guestWrites("state", "4")
        #expect(s.device.callLog == ["connect"])
        #expect(s.backendStateNode == "4")
        // netfront rebooting in place: back to Initialising while connected.
        s.guestWrites("state", "1")
        #expect(s.device.callLog == ["connect", "disconnect"])
        #expect(s.states.all == [.initWait, .connected, .closing, .closed, .initWait])
        #expect(s.backendStateNode == "2")
        s.rig.close()
    }

    @Test func closingAndReconnecting() throws {
        let s = try Setup()
        s.guestPublishes()
        s.guestWrites("state", "5")
        #expect(s.backendStateNode == "5")
        #expect(s.backend.isConnected)  // blkback keeps the rings until the frontend is Closed
        s.guestWrites("state", "6")
        #expect(s.backendStateNode == "6")
        #expect(s.device.callLog == ["connect", "disconnect"])
        #expect(!s.backend.isUnregistered)  // online = 1: the device stays
        // GRUB handing the disk to the next OS: Initialising again, then a new ring.
        s.guestWrites("state", "1")
        #expect(s.backendStateNode == "2")
        s.guestPublishes(state: .initialised, ring: "12", port: "7")
        #expect(s.backendStateNode == "4")
        #expect(s.device.connection?.ring == GrantReference(12))
        #expect(s.device.connection?.port == EventChannelPort(7))
        #expect(s.device.callLog == ["connect", "disconnect", "connect"])
        #expect(s.states.all == [.initWait, .connected, .closing, .closed, .initWait, .connected])
        s.rig.close()
    }

    @Test(arguments: [
        ("ring-ref", nil, "2 reading /local/domain/1/device/vbd/51712/ring-ref"),
        ("ring-ref", "abc", "34 reading /local/domain/1/device/vbd/51712/ring-ref: \"abc\" is not a number up to 4294967295"),
        ("ring-ref", "4294967296", "34 reading /local/domain/1/device/vbd/51712/ring-ref: \"4294967296\" is not a number up to 4294967295"),
        ("ring-ref", "-1", "34 reading /local/domain/1/device/vbd/51712/ring-ref: \"-1\" is not a number up to 4294967295"),
        ("ring-ref", " 8", "34 reading /local/domain/1/device/vbd/51712/ring-ref: \" 8\" is not a number up to 4294967295"),
        ("ring-ref", String(repeating: "9", count: 200), "34 reading /local/domain/1/device/vbd/51712/ring-ref: 200 bytes is not a number up to 4294967295"),
        ("event-channel", "0", "22 reading /local/domain/1/device/vbd/51712/event-channel: port 0"),
        ("event-channel", "", "34 reading /local/domain/1/device/vbd/51712/event-channel: \"\" is not a number up to 4294967295"),
        ("protocol", String(repeating: "x", count: 33), "7 reading /local/domain/1/device/vbd/51712/protocol: 33 bytes, at most 32"),
    ] as [(String, String?, String)])
    func hostileFrontendValuesCloseTheDeviceWithAnError(key: String, value: String?, error: String) throws {
        let s = try Setup()
        s.guestWrites("ring-ref", "8")
        s.guestWrites("event-channel", "5")
        if let value { s.guestWrites(key, value) } else { #expect(s.guest.remove(s.frontend + "/" + key) == "OK") }
        s.guestWrites("state", "3")
        #expect(s.backendStateNode == "5")
        #expect(s.errorNode == error)
        #expect(s.backend.lastError?.description == error)
        #expect(!s.backend.isConnected)
        #expect(s.device.callLog == ["connect", "disconnect"])
        // The guest cannot write the error node.
        #expect(s.guest.write(s.backend.address.errorPath + "/error", "0") == "EACCES")
        // Corrected values and a new Initialised: the device connects after all.
        s.guestWrites("ring-ref", "8")
        s.guestWrites("event-channel", "5")
        s.guestWrites("protocol", "x86_64-abi")
        s.guestWrites("state", "3")
        #expect(s.backendStateNode == "4")
        s.rig.close()
    }

    @Test(arguments: ["7", "8", "9", "-3", "12345678901234567890123"])
    func stateValuesOutsideTheHandshakeAreFatal(value: String) throws {
        let s = try Setup()
        s.guestWrites("state", value)
        #expect(s.backendStateNode == "5")
        let shown = value.count > 20 ? String(Int64.max) : value
        #expect(s.errorNode == "22 saw state \(shown) at frontend")
        #expect(!s.backend.isUnregistered)
        s.rig.close()
    }

    @Test(arguments: ["abc", "", "0"])
    func anUnreadableStateUnregistersTheDevice(value: String) throws {
        let s = try Setup()
        s.guestPublishes()
        s.guestWrites("state", value)
        #expect(s.backendStateNode == "6")
        #expect(s.backend.isUnregistered)
        #expect(s.device.callLog == ["connect", "disconnect"])
        // Nothing the guest does afterwards reaches the device.
        s.guestPublishes()
        #expect(s.device.callLog == ["connect", "disconnect"])
        #expect(s.backendStateNode == "6")
        s.rig.close()
    }

    @Test func aFrontendRemovingItsDirectoryUnregisters() throws {
        let s = try Setup()
        s.guestPublishes()
        #expect(s.guest.remove(s.frontend) == "OK")
        s.backend.waitUntilIdle()
        #expect(s.backend.isUnregistered)
        #expect(s.backendStateNode == "6")
        #expect(s.device.callLog == ["connect", "disconnect"])
        s.rig.close()
    }

    @Test func removalClosesTheDeviceWithTheFrontend() throws {
        let s = try Setup()
        s.guestPublishes()
        s.backend.requestRemoval()
        s.backend.waitUntilIdle()
        #expect(s.rig.read(s.back + "/online") == "0")
        #expect(s.backendStateNode == "5")
        #expect(s.guest.read(s.back + "/state") == "5")
        s.guestWrites("state", "6")
        #expect(s.backendStateNode == "6")
        #expect(s.backend.isUnregistered)
        #expect(s.device.callLog == ["connect", "disconnect"])
        s.backend.teardown()
        #expect(!s.rig.exists(s.back))
        s.rig.close()
    }

    @Test func teardownDisconnectsAndRemovesEveryDirectory() throws {
        let s = try Setup()
        s.guestPublishes()
        s.guestWrites("state", "9")  // leaves an error node to remove too
        #expect(s.errorNode != nil)
        s.backend.teardown()
        #expect(s.device.callLog == ["connect", "disconnect"])
        for path in [s.back, s.frontend, s.backend.address.libxlPath, s.backend.address.errorPath,
                     "/local/domain/0/backend/vbd", "/local/domain/1/device/vbd", "/libxl/1/device/vbd",
                     "/local/domain/0/error/backend/vbd"] {
            #expect(!s.rig.exists(path), "\(path)")
        }
        #expect(s.rig.exists("/local/domain/1/device"))
        #expect(s.rig.exists("/libxl/1/device"))
        // The guest cannot recreate its device directory (device/ is dom0's), and nothing
        // reaches the device any more.
        #expect(s.guest.write(s.frontend + "/state", "3") == "EACCES")
        s.backend.waitUntilIdle()
        #expect(s.device.callLog == ["connect", "disconnect"])
        s.backend.teardown()
        s.rig.close()
    }

    @Test func aDeviceFailureIsFatal() throws {
        let s = try Setup()
        s.guestPublishes()
        s.backend.fail(XenbusError(.EIO, "ring producer ran ahead"))
        s.backend.waitUntilIdle()
        #expect(s.errorNode == "5 ring producer ran ahead")
        #expect(s.backendStateNode == "5")
        s.rig.close()
    }

    @Test func twoDevicesOfTwoGuestsShareOneClient() throws {
        let rig = XenbusRig()
        let first = MockDevice(), second = MockDevice()
        let guest1 = try rig.guest(DomainID(1))
        let guest2 = try rig.guest(DomainID(2))
        let a = XenbusBackend(address: XenbusDeviceAddress(frontend: DomainID(1), type: "vif", devid: 0),
                              device: first, client: rig.client, policy: .netback)
        let b = XenbusBackend(address: XenbusDeviceAddress(frontend: DomainID(2), type: "vif", devid: 0),
                              device: second, client: rig.client, policy: .netback)
        try a.start()
        try b.start()
        for (guest, backend) in [(guest1, a), (guest2, b)] {
            let path = backend.address.frontendPath
            #expect(guest.write(path + "/ring-ref", "3") == "OK")
            #expect(guest.write(path + "/event-channel", "4") == "OK")
            // A guest cannot touch the other's device.
            let other = backend === a ? b : a
            #expect(guest.write(other.address.frontendPath + "/state", "4") == "EACCES")
        }
        #expect(guest1.write(a.address.frontendPath + "/state", "4") == "OK")
        a.waitUntilIdle()
        b.waitUntilIdle()
        #expect(a.backendState == .connected)
        #expect(b.backendState == .initWait)
        #expect(second.callLog.isEmpty)
        a.teardown()
        b.teardown()
        rig.close()
    }
}
