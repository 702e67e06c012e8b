import Synchronization
import XenABI
import XenBackends
import XenControl
import XenStore

/// A store with guests attached through real rings (fake grants and event channels) and a
/// dom0 client, for driving xenbus backends with mock frontends that see exactly the
/// permissions a guest sees.
final class XenbusRig: Sendable {
    static let storePort = EventChannelPort(1)

    let grants = FakeGrants(frames: 64)
    let events = FakeEvents()
    let logs = LogLines()
    let daemon: XenStoreDaemon
    let client: XenStoreClient

    init() {
        let logs = self.logs
        daemon = XenStoreDaemon(grants: grants, events: events, log: { line in logs.append(line) })
        client = XenStoreClient(daemon: daemon)
    }

    /// A guest with its libxl domain layout, introduced to the store.
    func guest(_ domain: DomainID) throws -> GuestXenStore {
        let page = grants.grant(domain, GrantTableLimits.xenstoreReference)
        try daemon.writeDomainLayout(XenStoreDomainLayout(
            domain: domain, name: "guest\(domain.rawValue)", targetMemoryKiB: 65536, storePort: Self.storePort,
            storeFrame: 0x1000, consolePort: EventChannelPort(2), consoleFrame: 0x2000))
        try daemon.introduceDomain(domain, port: Self.storePort, frame: 0x1000)
        daemon.waitUntilIdle()
        return GuestXenStore(rig: self, domain: domain, store: GuestStore(page))
    }

    /// A node's value as dom0 sees it (nil when missing).
    func read(_ path: String) -> String? {
        try? daemon.inspect { (s) throws(XenError) in try s.readString(path) }
    }

    func permissions(_ path: String) -> [String]? {
        try? daemon.inspect { (s) throws(XenError) in try s.permissions(path) }
    }

    func exists(_ path: String) -> Bool {
        (try? daemon.inspect { (s) throws(XenError) in try s.read(path) }) != nil
    }

    func close() {
        client.close()
        daemon.close()
    }
}

/// Log lines collected from several threads.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A guest's synchronous xenstore client over its ring, as a frontend driver uses it.
final class GuestXenStore: @unchecked Sendable {
    let rig: XenbusRig
    let domain: DomainID
    let store: GuestStore
    private var nextRequest: UInt32 = 1000
    /// Watch events received so far (path, token).
    private(set) var events: [(path: String, token: String)] = []

    init(rig: XenbusRig, domain: DomainID, store: GuestStore) {
        self.rig = rig
        self.domain = domain
        self.store = store
    }

    /// Sends one request, lets the daemon serve it and returns its reply.
    @discardableResult
    func request(_ type: XenStoreMessageType, _ strings: [String], value: String? = nil,
                 transaction: UInt32 = 0) -> XenStoreMessage? {
        nextRequest += 1
        var payload = XenStoreMessage(type: type, strings: strings).payload
        if let value { payload += Array(value.utf8) }
        let message = XenStoreMessage(type: type, requestID: nextRequest, transactionID: transaction, payload: payload)
        store.sendBytes(message.encoded)
        rig.events.guestSends(domain, XenbusRig.storePort)
        rig.daemon.waitUntilIdle()
        var reply: XenStoreMessage?
        for received in store.receiveAll() {
            if received.type == .watchEvent {
                let s = received.strings
                if s.count >= 2 { events.append((s[0], s[1])) }
            } else if received.requestID == nextRequest {
                reply = received
            }
        }
        return reply
    }

    /// Collects watch events that arrived without a request of ours.
    func pollEvents() {
        for received in store.receiveAll() where received.type == .watchEvent {
            let s = received.strings
            if s.count >= 2 { events.append((s[0], s[1])) }
        }
    }

    /// WRITE; returns "OK" or the error name.
    @discardableResult
    func write(_ path: String, _ value: String, transaction: UInt32 = 0) -> String {
        outcome(request(.write, [path], value: value, transaction: transaction))
    }

    func read(_ path: String) -> String? {
        guard let reply = request(.read, [path]), reply.type == .read else { return nil }
        return String(decoding: reply.payload, as: UTF8.self)
    }

    @discardableResult
    func remove(_ path: String) -> String { outcome(request(.remove, [path])) }

    private func outcome(_ reply: XenStoreMessage?) -> String {
        guard let reply else { return "no reply" }
        return reply.type == .error ? (reply.strings.first ?? "?") : "OK"
    }
}

/// A backend device that records what the xenbus core asks of it and reads the keys a
/// block frontend publishes.
final class MockDevice: XenbusBackendDevice {
    struct Connection: Equatable, Sendable {
        var ring: GrantReference
        var port: EventChannelPort
        var protocolName: String?
    }

    let calls = Mutex<[String]>([])
    let current = Mutex<Connection?>(nil)
    let published: [XenbusKey]

    init(published: [XenbusKey] = ["sectors=2048", "sector-size=512", "info=0"]) {
        self.published = published
    }

    func connect(_ frontend: XenbusFrontend) throws(XenbusError) -> [XenbusKey] {
        calls.withLock { $0.append("connect") }
        let ring = try frontend.grantReference("ring-ref")
        let port = try frontend.eventChannel("event-channel")
        let protocolName = try frontend.stringIfPresent("protocol", maximumLength: 32)
        current.withLock { $0 = Connection(ring: ring, port: port, protocolName: protocolName) }
        return published
    }

    func disconnect() {
        calls.withLock { $0.append("disconnect") }
        current.withLock { $0 = nil }
    }

    var callLog: [String] { calls.withLock { $0 } }
    var connection: Connection? { current.withLock { $0 } }
}
