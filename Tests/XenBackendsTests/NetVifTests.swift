import Synchronization
import Testing
import XenABI
import XenBackends
import XenStore

/// The vif's xenstore side: netback's keys, the frontend's keys read at connect, and the
/// whole xenbus handshake with a mock netfront speaking through a guest's store ring.
@Suite struct NetVifTests {
    static let guestDomain = DomainID(2)
    static let mac = MACAddress("00:16:3e:12:34:56")!

    // MARK: Frontend keys

    func read(_ keys: [String: String]) throws(NetConnectError) -> NetFrontendConnection {
        try NetFrontendConnection.read { keys[$0] }
    }

    static let linuxKeys = ["tx-ring-ref": "768", "rx-ring-ref": "769", "event-channel-tx": "17",
                            "event-channel-rx": "18", "request-rx-copy": "1", "feature-rx-notify": "1",
                            "feature-sg": "1", "feature-gso-tcpv4": "1", "feature-gso-tcpv6": "1",
                            "feature-ipv6-csum-offload": "1"]

    @Test func readsWhatLinuxNetfrontWrites() throws {
        let c = try read(Self.linuxKeys)
        #expect(c.transmitRing == GrantReference(768))
        #expect(c.receiveRing == GrantReference(769))
        #expect(c.transmitPort == EventChannelPort(17))
        #expect(c.receivePort == EventChannelPort(18))
        #expect(c.isSplit)
        #expect(c.features == NetFrontendFeatures(receiveNotify: true, scatterGather: true, checksumOffload: true,
                                                  ipv6ChecksumOffload: true, multicastControl: false))
    }

    @Test func oneEventChannelAndDefaults() throws {
        let c = try read(["tx-ring-ref": "8", "rx-ring-ref": "9", "event-channel": "5", "request-rx-copy": "1",
                          "feature-no-csum-offload": "1"])
        #expect(!c.isSplit)
        #expect(c.receivePort == EventChannelPort(5))
        #expect(c.features == NetFrontendFeatures(receiveNotify: false, scatterGather: false, checksumOffload: false,
                                                  ipv6ChecksumOffload: false, multicastControl: false))
    }

    @Test func refusals() {
        var keys = Self.linuxKeys
        keys["request-rx-copy"] = "0"
        #expect(throws: NetConnectError.receiveCopyRequired) { try read(keys) }
        keys = Self.linuxKeys
        keys.removeValue(forKey: "request-rx-copy")
        #expect(throws: NetConnectError.receiveCopyRequired) { try read(keys) }
        keys = Self.linuxKeys
        keys.removeValue(forKey: "tx-ring-ref")
        #expect(throws: NetConnectError.missingKey("tx-ring-ref")) { try read(keys) }
        keys = Self.linuxKeys
        keys["rx-ring-ref"] = "0x10"
        #expect(throws: NetConnectError.badValue(key: "rx-ring-ref", value: "0x10")) { try read(keys) }
        keys = Self.linuxKeys
        keys["rx-ring-ref"] = "99999999999"
        #expect(throws: NetConnectError.badValue(key: "rx-ring-ref", value: "99999999999")) { try read(keys) }
        keys = Self.linuxKeys
        keys["event-channel-rx"] = "0"
        #expect(throws: NetConnectError.badValue(key: "event-channel-rx", value: "0")) { try read(keys) }
        keys = Self.linuxKeys
        keys["multi-queue-num-queues"] = "2"
        #expect(throws: NetConnectError.tooManyQueues(2)) { try read(keys) }
        keys = Self.linuxKeys
        keys.removeValue(forKey: "event-channel-tx")
        keys.removeValue(forKey: "event-channel-rx")
        #expect(throws: NetConnectError.missingKey("event-channel")) { try read(keys) }
    }

    @Test func backendKeysAdvertiseOnlyWhatKiteDoes() {
        let config = NetDeviceConfiguration(handle: 1, mac: Self.mac, network: .virtualSwitch("br0"))
        let keys = Dictionary(config.backendKeys.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(keys["feature-rx-copy"] == "1")
        #expect(keys["feature-rx-flip"] == "0")
        #expect(keys["feature-sg"] == "1")
        #expect(keys["mac"] == "00:16:3e:12:34:56")
        #expect(keys["handle"] == "1")
        #expect(keys["bridge"] == "br0")
        for absent in ["feature-gso-tcpv4", "feature-gso-tcpv6", "multi-queue-max-queues", "feature-ctrl-ring",
                       "feature-xdp-headroom"] {
            #expect(keys[absent] == nil, "\(absent)")
        }
    }

    // MARK: The handshake

    struct Setup {
        let rig = XenbusRig()
        let netGrants = NetTestGrants()
        let uplink = NetCapture()
        let guest: GuestXenStore
        let front: NetTestFrontend
        let vif: NetVif
        let xenbus: XenbusBackend

        init() throws {
            guest = try rig.guest(guestDomain)
            front = NetTestFrontend(domain: guestDomain, grants: netGrants)
            vif = NetVif(domain: guestDomain, configuration: NetDeviceConfiguration(handle: 0, mac: mac, network: .user),
                         grants: netGrants, events: rig.events, uplink: uplink)
            xenbus = vif.makeXenbusBackend(client: rig.client)
            try xenbus.start()
            xenbus.waitUntilIdle()
        }

        var frontPath: String { vif.address.frontendPath }
        var backPath: String { vif.address.backendPath }

        func guestWrites(_ key: String, _ value: String) {
            #expect(guest.write(frontPath + "/" + key, value) == "OK", "\(key)")
            xenbus.waitUntilIdle()
        }

        /// What Linux's talk_to_netback writes, then Connected.
        func connect(requestRxCopy: String = "1") {
            for (key, value) in [("tx-ring-ref", "8"), ("rx-ring-ref", "9"), ("event-channel", "5"),
                                 ("request-rx-copy", requestRxCopy), ("feature-rx-notify", "1"), ("feature-sg", "1")] {
                guestWrites(key, value)
            }
            guestWrites("state", "4")
        }

        func close() {
            xenbus.teardown()
            rig.close()
        }
    }

    @Test func netfrontHandshakeConnectsAndCarriesTraffic() throws {
        let s = try Setup()
        #expect(s.rig.read(s.backPath + "/state") == "2")
        #expect(s.rig.read(s.backPath + "/feature-rx-copy") == "1")
        #expect(s.rig.read(s.backPath + "/mac") == Self.mac.description)
        #expect(s.guest.read(s.frontPath + "/mac") == Self.mac.description)
        #expect(s.guest.read(s.frontPath + "/handle") == "0")
        // Netback ignores Initialised: netfront goes straight to Connected.
        s.guestWrites("state", "3")
        #expect(s.vif.backend == nil)
        s.connect()
        #expect(s.rig.read(s.backPath + "/state") == "4")
        let backend = try #require(s.vif.backend)
        #expect(s.netGrants.liveMappings == 2)

        let out = ethernetFrame(to: .broadcast, from: Self.mac, payload: netPattern(100))
        s.front.queue(out)
        s.front.pushTransmit()
        s.rig.events.guestSends(Self.guestDomain, EventChannelPort(5))
        backend.flush()
        #expect(s.uplink.frames.map(\.bytes) == [out])

        s.front.postReceiveBuffers(4)
        let inbound = ethernetFrame(to: Self.mac, from: MACAddress("00:16:3e:00:00:99")!, payload: netPattern(70))
        #expect(s.vif.deliver(NetFrame(bytes: inbound)))
        backend.flush()
        #expect(s.front.receivedFrames().map(\.bytes) == [inbound])

        // The frontend closes: the backend follows and lets the rings go.
        s.guestWrites("state", "5")
        s.guestWrites("state", "6")
        #expect(s.rig.read(s.backPath + "/state") == "6")
        #expect(s.vif.backend == nil)
        #expect(s.netGrants.liveMappings == 0)
        #expect(!s.vif.deliver(NetFrame(bytes: inbound)))
        s.close()
    }

    @Test func frontendWithoutRxCopyIsRefused() throws {
        let s = try Setup()
        s.connect(requestRxCopy: "0")
        #expect(s.rig.read(s.backPath + "/state") == "5")
        let error = s.rig.read(s.vif.address.errorPath + "/error") ?? ""
        #expect(error.hasPrefix("\(XenError.EOPNOTSUPP.rawValue) "))
        #expect(s.vif.backend == nil)
        #expect(s.netGrants.liveMappings == 0)
        s.close()
    }

    @Test func reconnectAfterTheGuestRestartsItsFrontend() throws {
        let s = try Setup()
        s.connect()
        #expect(s.vif.backend != nil)
        // A kexec'd guest: back to Initialising without closing first.
        s.guestWrites("state", "1")
        #expect(s.rig.read(s.backPath + "/state") == "2")
        #expect(s.vif.backend == nil)
        s.guestWrites("state", "4")
        #expect(s.rig.read(s.backPath + "/state") == "4")
        #expect(s.vif.backend != nil)
        #expect(s.netGrants.liveMappings == 2)
        s.close()
        #expect(s.netGrants.liveMappings == 0)
    }
}
