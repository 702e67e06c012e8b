import Foundation
import KiteControl
import KiteHost
import Testing
import XenABI
import XenStore

/// block-attach/-detach/-list and network-attach/-detach/-list through a real kited: the
/// xenbus directories a hot-plugged device gets (the keys Linux's blkfront and netfront
/// read), what the lists show, the errors, and destroy after hot-plug.
@Suite(.serialized)
struct DaemonHotplugTests {
    static let netfrontKernel = TestDaemon.repository.appendingPathComponent("Guests/build/pv/netfront.elf").path

    /// A guest that keeps running: the netfront kernel answering pings on its vif 0 until
    /// its timeout.
    func runningGuest(_ t: TestDaemon, name: String = "hp") throws -> DomainSummary {
        try #require(FileManager.default.fileExists(atPath: Self.netfrontKernel), "run scripts/build-guests.sh first")
        let d = try t.create("""
            name = "\(name)"
            kernel = "\(Self.netfrontKernel)"
            memory = 32
            cmdline = "mode=echo ip=10.0.3.2 timeout=600"
            vif = ['mac=00:16:3e:00:00:01,bridge=hp0']
            """)
        // Running: its netfront connected vif 0 (evt-ch and ring-refs are the guest's).
        #expect(t.eventually { try vifs(t, d.id).first?.state == 4 })
        return d
    }

    func disks(_ t: TestDaemon, _ id: DomainID) throws -> [BlockDeviceInfo] {
        guard case .disks(let d) = try t.client.send(.blockList(.id(id))) else { throw ControlError(.protocolError, "not disks") }
        return d
    }

    func vifs(_ t: TestDaemon, _ id: DomainID) throws -> [NetworkDeviceInfo] {
        guard case .vifs(let v) = try t.client.send(.networkList(.id(id))) else { throw ControlError(.protocolError, "not vifs") }
        return v
    }

    func image(_ t: TestDaemon, _ name: String, bytes: UInt64 = 1 << 20) throws -> String {
        let path = t.write(name, "")
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.truncate(atOffset: bytes)
        try h.close()
        return path
    }

    func read(_ t: TestDaemon, _ path: String) -> String? {
        try? t.daemon.host.store.inspect { (s) throws(XenError) in try s.readString(path) }
    }

    func exists(_ t: TestDaemon, _ path: String) -> Bool {
        (try? t.daemon.host.store.inspect { (s) throws(XenError) in _ = try s.directory(path) }) != nil
    }

    @Test func aDiskAndAVifHotPluggedIntoARunningDomain() throws {
        let t = try TestDaemon()
        let d = try runningGuest(t)
        let first = try #require(try vifs(t, d.id).first)
        #expect(first.eventChannel != nil && first.txRingRef != nil && first.rxRingRef != nil)
        #expect(try t.list().first?.state == .running)

        // block-attach: the vbd waits in InitWait with what blkfront reads.
        let img = try image(t, "data.img")
        guard case .disk(let disk) = try t.client.send(.blockAttach(.name("hp"), spec: "format=raw,vdev=xvdb,access=rw,target=\(img)")) else {
            Issue.record("no disk reply")
            return
        }
        #expect(disk.vdev == "xvdb" && disk.devid == 51728 && disk.state == 2 && disk.eventChannel == nil && disk.target == img)
        let be = "/local/domain/0/backend/vbd/\(d.id.rawValue)/51728"
        let fe = "/local/domain/\(d.id.rawValue)/device/vbd/51728"
        #expect(disk.backendPath == be && disk.frontendPath == fe)
        #expect(read(t, be + "/state") == "2" && read(t, be + "/online") == "1" && read(t, be + "/frontend") == fe)
        #expect(read(t, be + "/frontend-id") == "\(d.id.rawValue)" && read(t, be + "/mode") == "w")
        #expect(read(t, be + "/sectors") == "2048" && read(t, be + "/sector-size") == "512" && read(t, be + "/info") == "0")
        #expect(read(t, be + "/feature-flush-cache") == "1")
        #expect(read(t, fe + "/backend") == be && read(t, fe + "/backend-id") == "0" && read(t, fe + "/state") == "1")
        #expect(read(t, fe + "/virtual-device") == "51728" && read(t, fe + "/device-type") == "disk")

        // network-attach: the next index, InitWait, what netfront reads.
        guard case .vif(let vif) = try t.client.send(.networkAttach(.id(d.id), spec: "mac=00:16:3e:0a:0b:0c,bridge=hp0")) else {
            Issue.record("no vif reply")
            return
        }
        #expect(vif.devid == 1 && vif.mac == "00:16:3e:0a:0b:0c" && vif.bridge == "hp0" && vif.state == 2)
        let vbe = "/local/domain/0/backend/vif/\(d.id.rawValue)/1"
        let vfe = "/local/domain/\(d.id.rawValue)/device/vif/1"
        #expect(read(t, vbe + "/state") == "2" && read(t, vbe + "/mac") == "00:16:3e:0a:0b:0c" && read(t, vbe + "/handle") == "1")
        #expect(read(t, vbe + "/feature-rx-copy") == "1" && read(t, vbe + "/feature-sg") == "1" && read(t, vbe + "/bridge") == "hp0")
        #expect(read(t, vfe + "/mac") == "00:16:3e:0a:0b:0c" && read(t, vfe + "/handle") == "1" && read(t, vfe + "/backend") == vbe)
        #expect(read(t, vfe + "/state") == "1")

        // The lists show them (and the guest's own vif 0, connected).
        #expect(try disks(t, d.id).map(\.vdev) == ["xvdb"])
        #expect(try vifs(t, d.id).map(\.devid) == [0, 1])
        #expect(try vifs(t, d.id).map(\.state) == [4, 2])

        // Detach with force: directories gone, the lists follow; the guest's vif 0 stays.
        guard case .detached(let r) = try t.client.send(.blockDetach(.name("hp"), device: "xvdb", force: true)) else {
            Issue.record("no detached reply")
            return
        }
        #expect(r.devid == 51728 && r.type == "vbd" && !r.askedGuest && !r.timedOut)
        #expect(!exists(t, be) && !exists(t, fe) && !exists(t, "/libxl/\(d.id.rawValue)/device/vbd/51728"))
        _ = try t.client.send(.networkDetach(.name("hp"), device: "00:16:3E:0A:0B:0C", force: true))
        #expect(!exists(t, vbe) && !exists(t, vfe))
        #expect(try disks(t, d.id).isEmpty)
        #expect(try vifs(t, d.id).map(\.devid) == [0])
        #expect(t.error(.blockDetach(.name("hp"), device: "xvdb", force: true))?.code == .noSuchDevice)
        #expect(t.error(.networkDetach(.name("hp"), device: "7", force: false))?.code == .noSuchDevice)
        #expect(try t.list().first?.state == .running)
        _ = try t.client.send(.destroy(.id(d.id)))
    }

    @Test func badSpecsAndDuplicatesAreRefused() throws {
        let t = try TestDaemon()
        try TestDaemon.requireDemo()
        let d = try t.create(demoConfig(name: "dup"), paused: true)
        let img = try image(t, "a.img")
        _ = try t.client.send(.blockAttach(.id(d.id), spec: "vdev=xvdb,target=\(img)"))
        let cases: [(ControlRequest, ControlError.Code, String)] = [
            (.blockAttach(.id(d.id), spec: "vdev=xvdb,target=\(img)"), .invalidArgument, "already has disk xvdb"),
            (.blockAttach(.id(d.id), spec: "vdev=xvdc,bogus=1,target=\(img)"), .invalidArgument, "block-attach:"),
            (.blockAttach(.id(d.id), spec: "vdev=xvdc,target=relative.img"), .invalidArgument, "not an absolute path"),
            (.blockAttach(.id(d.id), spec: "vdev=xvdc,format=qcow2,target=\(img)"), .notSupported, "format qcow2"),
            (.blockAttach(.id(d.id), spec: "vdev=xvdc,target=/nonexistent/kite.img"), .invalidArgument, "/nonexistent/kite.img"),
            (.networkAttach(.id(d.id), spec: "mac=zz"), .invalidArgument, "network-attach:"),
            (.networkDetach(.id(d.id), device: "eth0", force: false), .invalidArgument, "neither a vif index nor a MAC"),
            (.blockDetach(.id(d.id), device: "xvdz", force: false), .noSuchDevice, "has no disk xvdz"),
            (.blockList(.name("nobody")), .noSuchDomain, "nobody"),
        ]
        for (request, code, text) in cases {
            let e = t.error(request)
            #expect(e?.code == code, "\(request): \(String(describing: e))")
            #expect(e?.message.contains(text) == true, "\(request): \(String(describing: e))")
        }
        _ = try t.client.send(.networkAttach(.id(d.id), spec: "mac=00:16:3e:00:00:09"))
        #expect(t.error(.networkAttach(.id(d.id), spec: "mac=00:16:3e:00:00:09"))?.message.contains("already used by vif 0") == true)
        // Nothing half-made was left: one disk, one vif.
        #expect(try disks(t, d.id).count == 1 && vifs(t, d.id).count == 1)
        // A device that never connected goes at once without force (libxl: not Connected).
        guard case .detached(let r) = try t.client.send(.blockDetach(.id(d.id), device: "51728", force: false)) else {
            Issue.record("no detached reply")
            return
        }
        #expect(!r.askedGuest && !r.timedOut)
        _ = try t.client.send(.destroy(.id(d.id)))
    }

    @Test func aStoppedDomainTakesNoDevices() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let d = try t.create(demoConfig(name: "gone", extra: "on_poweroff = 'preserve'"))
        #expect(t.eventually { try t.list().first?.state == .shutdown })
        let img = try image(t, "b.img")
        #expect(t.error(.blockAttach(.id(d.id), spec: "vdev=xvdb,target=\(img)"))?.code == .invalidState)
        #expect(t.error(.networkAttach(.id(d.id), spec: ""))?.code == .invalidState)
        #expect(try disks(t, d.id).isEmpty)
        _ = try t.client.send(.destroy(.id(d.id)))
    }

    @Test func destroyAfterHotPlugLeaksNothing() throws {
        let t = try TestDaemon()
        let free = t.daemon.host.freeMemoryMiB
        let d = try runningGuest(t, name: "leak")
        let img = try image(t, "c.img")
        _ = try t.client.send(.blockAttach(.id(d.id), spec: "vdev=xvdb,target=\(img)"))
        _ = try t.client.send(.blockAttach(.id(d.id), spec: "vdev=xvdc,access=ro,target=\(img)"))
        _ = try t.client.send(.networkAttach(.id(d.id), spec: "bridge=hp0"))
        _ = try t.client.send(.destroy(.id(d.id)))
        #expect(try t.list().isEmpty)
        #expect(t.daemon.host.freeMemoryMiB == free)
        #expect(!t.daemon.ring.entries.contains { $0.message.contains("frames not returned") })
        #expect(!exists(t, "/local/domain/0/backend/vbd/\(d.id.rawValue)") && !exists(t, "/local/domain/0/backend/vif/\(d.id.rawValue)"))
        #expect(!exists(t, "/libxl/\(d.id.rawValue)"))
    }

    @Test func aGracefulDetachOfAConnectedVifWaitsThenForces() throws {
        let t = try TestDaemon()
        let d = try runningGuest(t, name: "slow")
        let guest = try #require(t.daemon.host.guest(d.id))
        // The test kernel does not act on its backend's Closing: the wait runs out.
        let start = Date()
        let outcome = try guest.detachVif(devid: 0, timeout: 0.3)
        #expect(outcome.askedGuest && outcome.timedOut)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(guest.vifs.isEmpty)
        #expect(!exists(t, "/local/domain/0/backend/vif/\(d.id.rawValue)/0"))
        #expect(t.daemon.ring.entries.contains { $0.domain == d.id && $0.message.contains("removed by force") })
        _ = try t.client.send(.destroy(.id(d.id)))
    }

    @Test func aGracefulDetachEndsWhenTheFrontendCloses() throws {
        let t = try TestDaemon()
        let d = try runningGuest(t, name: "polite")
        let be = "/local/domain/0/backend/vif/\(d.id.rawValue)/0"
        let fe = "/local/domain/\(d.id.rawValue)/device/vif/0"
        let reply = Lines()
        let done = DispatchSemaphore(value: 0)
        let client = t.client
        Thread {
            if case .detached(let r)? = try? client.send(.networkDetach(.id(d.id), device: "0", force: false)) {
                reply.append("\(r.askedGuest) \(r.timedOut)")
            }
            done.signal()
        }.start()
        // libxl's remove: online = 0 and Closing; the test plays the guest's netfront and closes.
        #expect(t.eventually(timeout: 5) { read(t, be + "/state") == "5" })
        #expect(read(t, be + "/online") == "0")
        try t.daemon.host.store.update { (s) throws(XenError) in try s.write(fe + "/state", "6") }
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(reply.all == ["true false"])
        #expect(!exists(t, be) && !exists(t, fe))
        _ = try t.client.send(.destroy(.id(d.id)))
    }

    /// The blkfront kernel, created paused, finds a disk attached before it first ran and
    /// does its whole I/O test on it.
    @Test func blkfrontUsesADiskAttachedWhilePaused() throws {
        let kernel = TestDaemon.repository.appendingPathComponent("Guests/build/pv/blkfront.elf").path
        try #require(FileManager.default.fileExists(atPath: kernel), "run scripts/build-guests.sh first")
        let t = try TestDaemon()
        let d = try t.create("""
            name = "late"
            kernel = "\(kernel)"
            memory = 32
            on_poweroff = 'preserve'
            """, paused: true)
        let img = try image(t, "late.img")
        _ = try t.client.send(.blockAttach(.name("late"), spec: "format=raw,vdev=xvda,access=rw,target=\(img)"))
        _ = try t.client.send(.unpause(.name("late")))
        #expect(t.eventually(timeout: 120) { try t.list().first?.state == .shutdown })
        let text = String(decoding: t.daemon.host.guest(d.id)?.console.contents ?? [], as: UTF8.self)
        #expect(text.contains("Test result: SUCCESS"), "\(text)")
        #expect(try t.list().first?.shutdownReason == "poweroff")
        let bytes = [UInt8](FileManager.default.contents(atPath: img) ?? Data())
        let pat = { (seed: Int, i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 13 + (i >> 9) + seed * 37 + 1) }
        #expect(bytes.count == 1 << 20 && (0..<32768).allSatisfy { bytes[16 * 512 + $0] == pat(1, $0) })
        _ = try t.client.send(.destroy(.id(d.id)))
    }
}
