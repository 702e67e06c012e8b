import Foundation
import Testing
import XenABI
import XenBackends
import XenStore

/// A whole virtual disk behind xenstore: libxl's layout, blkback's keys, the handshake a
/// blkfront performs through its own store ring, I/O, close and reconnect, failures.
@Suite struct BlockXenbusTests {
    static let domain = DomainID(1)

    final class Setup {
        let rig = XenbusRig()
        let scratch = BlockScratch()
        let guest: GuestXenStore
        let disk: BlockXenbusDevice
        let front: GuestBlockFrontend

        init(readOnly: Bool = false) throws {
            guest = try rig.guest(BlockXenbusTests.domain)
            let path = scratch.file("disk.img", size: 4 << 20)
            let configuration = try BlockDeviceConfiguration(path: path, vdev: "xvda", readOnly: readOnly)
            disk = try BlockXenbusDevice(domain: BlockXenbusTests.domain, configuration: configuration,
                                         grants: rig.grants, events: rig.events, client: rig.client)
            try disk.start()
            disk.xenbus.waitUntilIdle()
            front = GuestBlockFrontend(grants: rig.grants, domain: BlockXenbusTests.domain, order: 1, startIndex: 0,
                                       firstRingReference: 20)
        }

        var frontPath: String { disk.xenbus.address.frontendPath }
        var backPath: String { disk.xenbus.address.backendPath }

        func guestWrites(_ key: String, _ value: String) {
            #expect(guest.write(frontPath + "/" + key, value) == "OK", "\(key)")
            disk.xenbus.waitUntilIdle()
        }

        /// blkfront's talk_to_blkback: ring-page-order, ring-ref%u, event-channel, protocol,
        /// then Initialised.
        func connect(protocolABI: String = "x86_64-abi") {
            guestWrites("ring-page-order", "1")
            guestWrites("ring-ref0", String(front.ringReferences[0].rawValue))
            guestWrites("ring-ref1", String(front.ringReferences[1].rawValue))
            guestWrites("event-channel", "7")
            guestWrites("protocol", protocolABI)
            guestWrites("state", XenbusState.initialised.xenstoreValue)
        }

        func backendKey(_ key: String) -> String? { rig.read(backPath + "/" + key) }
    }

    @Test func layoutAndEarlyKeys() throws {
        let s = try Setup()
        #expect(s.backPath == "/local/domain/0/backend/vbd/1/51712")
        #expect(s.frontPath == "/local/domain/1/device/vbd/51712")
        #expect(s.backendKey("state") == "2")
        #expect(s.backendKey("mode") == "w")
        #expect(s.backendKey("dev") == "xvda")
        #expect(s.backendKey("sectors") == "8192")
        #expect(s.backendKey("sector-size") == "512")
        #expect(s.backendKey("info") == "0")
        #expect(s.backendKey("feature-flush-cache") == "1")
        #expect(s.backendKey("feature-max-indirect-segments") == "256")
        #expect(s.backendKey("max-ring-page-order") == "4")
        #expect(s.rig.read(s.frontPath + "/virtual-device") == "51712")
        #expect(s.rig.read(s.frontPath + "/device-type") == "disk")
        s.disk.stop()
        #expect(!s.rig.exists(s.backPath) && !s.rig.exists(s.frontPath))
        s.rig.close()
    }

    @Test func handshakeIOCloseAndReconnect() throws {
        let s = try Setup()
        s.connect()
        #expect(s.disk.state == .connected)
        #expect(s.backendKey("state") == "4")
        #expect(s.disk.isConnected)
        // I/O over the two-page ring.
        let (ref, page) = s.front.dataPage()
        let data = blockPattern(4096, seed: 11)
        data.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: 4096) }
        s.front.queue(.write(id: 1, sector: 100, [.page(ref)]))
        s.front.queue(.flush(id: 2))
        s.front.publish()
        s.rig.events.guestSends(Self.domain, EventChannelPort(7))
        s.disk.backend.serviceNow()
        #expect(s.front.responses().map(\.status) == [0, 0])
        // The guest closes: the backend follows to Closed and lets go of the ring.
        s.guestWrites("state", XenbusState.closing.xenstoreValue)
        #expect(s.backendKey("state") == "5")
        s.guestWrites("state", XenbusState.closed.xenstoreValue)
        #expect(s.backendKey("state") == "6")
        #expect(!s.disk.isConnected)
        // GRUB hands over to Linux: Initialising again, a new connection.
        s.guestWrites("state", XenbusState.initialising.xenstoreValue)
        #expect(s.backendKey("state") == "2")
        for offset in [0, 8] { s.front.setHeader(offset, 0) }
        s.front.requestProducer = 0
        s.front.responseConsumer = 0
        s.connect()
        #expect(s.backendKey("state") == "4")
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        s.front.queue(.read(id: 3, sector: 100, [.page(ref)]))
        s.front.publish()
        s.rig.events.guestSends(Self.domain, EventChannelPort(7))
        s.disk.backend.serviceNow()
        #expect(s.front.responses() == [BlockRingResponse(id: 3, operation: 0, status: .okay)])
        #expect(Array(UnsafeRawBufferPointer(start: page, count: 4096)) == data)
        s.disk.stop()
        #expect(s.rig.grants.liveMappings == 1)   // only the xenstore page remains
        s.rig.close()
    }

    @Test func aThirtyTwoBitFrontendIsRefusedCleanly() throws {
        let s = try Setup()
        s.connect(protocolABI: "x86_32-abi")
        #expect(s.backendKey("state") == "5")
        let error = s.rig.read(s.disk.xenbus.address.errorPath + "/error")
        #expect(error?.hasPrefix("38 ") == true)
        #expect(error?.contains("x86_32-abi") == true)
        #expect(!s.disk.isConnected)
        s.disk.stop()
        s.rig.close()
    }

    @Test func missingRingKeysAreFatal() throws {
        let s = try Setup()
        s.guestWrites("event-channel", "7")
        s.guestWrites("state", XenbusState.initialised.xenstoreValue)
        #expect(s.backendKey("state") == "5")
        #expect(s.rig.read(s.disk.xenbus.address.errorPath + "/error")?.contains("ring-ref") == true)
        s.disk.stop()
        s.rig.close()
    }

    @Test func aRunawayRingSendsTheBackendToClosing() throws {
        let s = try Setup()
        s.connect()
        #expect(s.backendKey("state") == "4")
        s.front.setHeader(BlockRingLayout.requestProducer, 1000)
        s.rig.events.guestSends(Self.domain, EventChannelPort(7))
        s.disk.backend.serviceNow()
        var spins = 0
        while s.backendKey("state") != "5", spins < 2000 {
            Thread.sleep(forTimeInterval: 0.005)
            s.disk.xenbus.waitUntilIdle()
            spins += 1
        }
        #expect(s.backendKey("state") == "5")
        #expect(!s.disk.isConnected)
        #expect(s.rig.read(s.disk.xenbus.address.errorPath + "/error")?.hasPrefix("13 ") == true)
        s.disk.stop()
        s.rig.close()
    }

    @Test func readOnlyDisksSayModeRAndInfo4() throws {
        let s = try Setup(readOnly: true)
        #expect(s.backendKey("mode") == "r")
        #expect(s.backendKey("info") == "4")
        #expect(s.backendKey("feature-flush-cache") == nil)
        #expect(s.backendKey("feature-discard") == nil)
        s.disk.stop()
        s.rig.close()
    }
}
