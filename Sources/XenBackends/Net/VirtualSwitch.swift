import Dispatch
import Synchronization

/// A learning Ethernet switch joining the vifs of domains on this host (and, optionally,
/// the user-mode network as an uplink): what a Linux bridge is to Xen's vif-bridge script.
///
/// A frame entering a port teaches the switch where its source MAC lives; it leaves on the
/// port its destination was learned on, or on every other port when the destination is
/// unknown, multicast or broadcast (flooding). Entries age out, and the table is bounded in
/// total and per port, so a guest sending from random MACs cannot grow it (nor evict
/// other ports' entries): past the bounds frames are flooded, which is always correct.
/// The switch holds no queues of its own: each destination's `deliver` is non-blocking
/// into that destination's bounded queue, and a refusal is counted as a drop.
///
/// Ports hold their sinks weakly (a vif backend holds its port as its uplink). Locking:
/// `table` is taken to learn and look up, released before any sink is called.
public final class VirtualSwitch: Sendable {
    /// Per-port counters (from the switch's point of view: `received` entered at the port).
    public struct PortStatistics: Hashable, Sendable {
        public var received: UInt64 = 0
        public var receivedBytes: UInt64 = 0
        public var sent: UInt64 = 0
        public var sentBytes: UInt64 = 0
        /// Frames for this port its sink refused (full queue, closed vif).
        public var dropped: UInt64 = 0
        /// Frames shorter than an Ethernet header that entered here.
        public var runts: UInt64 = 0
        public init() {}
    }

    /// Switch-wide counters.
    public struct Statistics: Hashable, Sendable {
        /// Frames sent to one known port.
        public var forwarded: UInt64 = 0
        /// Frames sent to every other port.
        public var flooded: UInt64 = 0
        /// Frames whose destination lives on the port they came from.
        public var filtered: UInt64 = 0
        /// Source addresses learned or moved.
        public var learned: UInt64 = 0
        /// Source addresses not learned because a bound was reached.
        public var tableFull: UInt64 = 0
        public init() {}
    }

    private struct Entry: Sendable {
        var port: Int
        var lastSeen: UInt64
    }

    private struct WeakSink: @unchecked Sendable {
        weak var sink: (any NetFrameSink)?
        var label: String
        var statistics = PortStatistics()
        var learned = 0
    }

    private struct Table: Sendable {
        var ports: [Int: WeakSink] = [:]
        var macs: [MACAddress: Entry] = [:]
        var nextPort = 1
        var statistics = Statistics()
    }

    public let name: String
    /// Bounds of the MAC table: in total and per port.
    public let macTableLimit: Int
    public let perPortMACLimit: Int
    /// How long an address stays learned without being seen (Linux bridge: 300 s).
    public let ageingNanoseconds: UInt64
    private let clock: @Sendable () -> UInt64
    private let table = Mutex(Table())

    public init(name: String, macTableLimit: Int = 4096, perPortMACLimit: Int = 256, ageingSeconds: UInt64 = 300,
                clock: @escaping @Sendable () -> UInt64 = VirtualSwitch.monotonicNanoseconds) {
        self.name = name
        self.macTableLimit = max(macTableLimit, 1)
        self.perPortMACLimit = max(perPortMACLimit, 1)
        ageingNanoseconds = ageingSeconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? UInt64.max : ageingSeconds * 1_000_000_000
        self.clock = clock
    }

    /// Host monotonic time in nanoseconds (the default clock).
    public static let monotonicNanoseconds: @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }

    /// Plugs `sink` in: frames for it are delivered to it; frames from it enter through the
    /// returned port's `deliver`.
    public func attach(_ sink: any NetFrameSink, label: String = "") -> VirtualSwitchPort {
        let id = table.withLock { t -> Int in
            let id = t.nextPort
            t.nextPort += 1
            t.ports[id] = WeakSink(sink: sink, label: label)
            return id
        }
        return VirtualSwitchPort(id: id, owner: self)
    }

    /// Unplugs a port: its learned addresses are forgotten. Idempotent.
    public func detach(_ port: Int) {
        table.withLock { t in
            guard t.ports.removeValue(forKey: port) != nil else { return }
            t.macs = t.macs.filter { $0.value.port != port }
        }
    }

    public var portCount: Int { table.withLock { $0.ports.count } }
    public var statistics: Statistics { table.withLock { $0.statistics } }
    public func statistics(ofPort port: Int) -> PortStatistics? { table.withLock { $0.ports[port]?.statistics } }
    /// The port `address` was learned on (nil when unknown or aged out).
    public func port(of address: MACAddress) -> Int? {
        let now = clock()
        return table.withLock { t in
            guard let e = t.macs[address], now &- e.lastSeen < ageingNanoseconds else { return nil }
            return e.port
        }
    }

    /// A frame entering at `port`: learn, look up, then deliver outside the lock.
    func forward(_ frame: NetFrame, from port: Int) -> Bool {
        let now = clock()
        let targets: [(Int, any NetFrameSink)]? = table.withLock { t in
            guard t.ports[port] != nil else { return nil }
            guard frame.count >= NetFrame.headerSize, let destination = frame.destination, let source = frame.source else {
                t.ports[port]?.statistics.runts &+= 1
                return nil
            }
            t.ports[port]?.statistics.received &+= 1
            t.ports[port]?.statistics.receivedBytes &+= UInt64(frame.count)
            if !source.isMulticast { learn(&t, source, port, now) }
            if !destination.isMulticast, let entry = t.macs[destination], now &- entry.lastSeen < ageingNanoseconds {
                if entry.port == port {
                    t.statistics.filtered &+= 1
                    return []
                }
                if let sink = t.ports[entry.port]?.sink {
                    t.statistics.forwarded &+= 1
                    return [(entry.port, sink)]
                }
            }
            t.statistics.flooded &+= 1
            return t.ports.compactMap { id, p in id == port ? nil : p.sink.map { (id, $0) } }.sorted { $0.0 < $1.0 }
        }
        guard let targets else { return false }
        var outcomes: [(Int, Bool)] = []
        outcomes.reserveCapacity(targets.count)
        for (id, sink) in targets { outcomes.append((id, sink.deliver(frame))) }
        table.withLock { t in
            for (id, ok) in outcomes {
                if ok {
                    t.ports[id]?.statistics.sent &+= 1
                    t.ports[id]?.statistics.sentBytes &+= UInt64(frame.count)
                } else {
                    t.ports[id]?.statistics.dropped &+= 1
                }
            }
        }
        return true
    }

    private func learn(_ t: inout Table, _ source: MACAddress, _ port: Int, _ now: UInt64) {
        if var entry = t.macs[source] {
            if entry.port != port {
                t.ports[entry.port]?.learned -= 1
                guard (t.ports[port]?.learned ?? 0) < perPortMACLimit else {
                    // The address moved to a port that is at its bound: forget it (flooding).
                    t.macs.removeValue(forKey: source)
                    t.statistics.tableFull &+= 1
                    return
                }
                entry.port = port
                t.ports[port]?.learned += 1
                t.statistics.learned &+= 1
            }
            entry.lastSeen = now
            t.macs[source] = entry
            return
        }
        guard (t.ports[port]?.learned ?? 0) < perPortMACLimit else {
            t.statistics.tableFull &+= 1
            return
        }
        if t.macs.count >= macTableLimit {
            let ageing = ageingNanoseconds
            let expired = t.macs.filter { now &- $0.value.lastSeen >= ageing }
            for (mac, entry) in expired {
                t.macs.removeValue(forKey: mac)
                t.ports[entry.port]?.learned -= 1
            }
            guard t.macs.count < macTableLimit else {
                t.statistics.tableFull &+= 1
                return
            }
        }
        t.macs[source] = Entry(port: port, lastSeen: now)
        t.ports[port]?.learned += 1
        t.statistics.learned &+= 1
    }
}

/// One port of a `VirtualSwitch`: frames given to `deliver` enter the switch here (it is
/// the uplink a vif backend sends its guest's packets to). `detach` unplugs it.
public final class VirtualSwitchPort: NetFrameSink, Sendable {
    public let id: Int
    public let owner: VirtualSwitch

    init(id: Int, owner: VirtualSwitch) {
        self.id = id
        self.owner = owner
    }

    /// Sends a frame into the switch; false when the port is detached or the frame is a runt.
    @discardableResult
    public func deliver(_ frame: NetFrame) -> Bool { owner.forward(frame, from: id) }

    public func detach() { owner.detach(id) }

    public var statistics: VirtualSwitch.PortStatistics? { owner.statistics(ofPort: id) }
}
