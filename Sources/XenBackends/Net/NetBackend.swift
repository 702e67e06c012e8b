import Dispatch
import Synchronization
import XenABI
import XenControl

/// Why a vif backend could not connect; the message says what went wrong.
public enum NetBackendError: Error, Equatable, CustomStringConvertible {
    case map(DomainID, GrantReference, GrantError)
    case bind(DomainID, EventChannelPort, XenError)

    public var description: String {
        switch self {
        case .map(let d, let ref, let e):
            "cannot map the vif ring \(ref) of \(d): \(e); the frontend must grant it to domain 0"
        case .bind(let d, let port, let e):
            "cannot bind to the vif \(port) of \(d): \(e); it must be unbound for domain 0"
        }
    }
}

/// One vif of a guest, served as Linux's xen-netback serves it once the frontend is
/// connected: both ring pages mapped, the event channel(s) bound, and on every
/// notification a pass on the backend's serial queue that moves the guest's packets to the
/// uplink (`transmit`) and queued frames into the guest's buffers (`receive`).
///
/// The backend is a `NetFrameSink`: whoever the vif is plugged into (a switch port, the
/// user-mode network) delivers frames with `deliver`, from any thread, never blocking;
/// they wait in a bounded queue for receive buffers and are dropped (counted) beyond it.
/// The guest's packets go to `uplink`, called on the backend's queue, in order.
///
/// A frontend that breaks the protocol is disconnected (ports closed, rings unmapped; the
/// `NetDeviceError` is kept in `deviceState`), nothing more. Locking: `state` is taken for
/// device work and released before the uplink is called or the guest notified.
public final class NetBackend: NetFrameSink, Sendable {
    public typealias FailureHandler = @Sendable (NetDeviceError) -> Void

    private struct State: Sendable {
        var device: NetDevice
        var transmitMapping: GrantMapping?
        var receiveMapping: GrantMapping?
        var transmitPort: EventChannelPort?
        var receivePort: EventChannelPort?
        var uplink: (any NetFrameSink)?
        var pollScheduled = false
        var transmitRing: NetRing? { transmitMapping.map { NetRing($0.page, kind: .transmit) } }
        var receiveRing: NetRing? { receiveMapping.map { NetRing($0.page, kind: .receive) } }
    }

    public let domain: DomainID
    public let configuration: NetDeviceConfiguration
    public let connection: NetFrontendConnection
    private let grants: any GrantMapper
    private let events: any EventChannelAccess
    private let queue: DispatchQueue
    private let state: Mutex<State>
    private let work = Mutex<BackendSignal?>(nil)
    private let onFailure: FailureHandler?
    /// Turns a pass runs before yielding the queue to other work.
    private let turnsPerPass = 16
    /// How often a frontend without feature-rx-notify is polled while frames wait.
    private let pollInterval = DispatchTimeInterval.milliseconds(10)

    /// Maps the frontend's rings and binds its port(s). `queue` must be serial (a new one
    /// if nil); `uplink` receives the guest's packets; `onFailure` hears of a frontend
    /// disconnected for breaking the protocol (the xenbus side may record it).
    public init(domain: DomainID, configuration: NetDeviceConfiguration, connection: NetFrontendConnection,
                grants: any GrantMapper, events: any EventChannelAccess, uplink: (any NetFrameSink)? = nil,
                queue: DispatchQueue? = nil, onFailure: FailureHandler? = nil) throws(NetBackendError) {
        self.domain = domain
        self.configuration = configuration
        self.connection = connection
        self.grants = grants
        self.events = events
        self.onFailure = onFailure
        self.queue = queue ?? DispatchQueue(label: "kite.vif.d\(domain.rawValue).\(configuration.handle)")
        let tx: GrantMapping, rx: GrantMapping
        do { tx = try grants.map(domain: domain, ref: connection.transmitRing, readOnly: false) } catch {
            throw .map(domain, connection.transmitRing, error)
        }
        do { rx = try grants.map(domain: domain, ref: connection.receiveRing, readOnly: false) } catch {
            try? grants.unmap(tx)
            throw .map(domain, connection.receiveRing, error)
        }
        // The frontend initialised both rings (SHARED_RING_INIT) before connecting; start
        // where their response producers are, as netback's BACK_RING_ATTACH does.
        let txStart = NetRing(tx.page, kind: .transmit).responseProducer
        let rxStart = NetRing(rx.page, kind: .receive).responseProducer
        let device = NetDevice(domain: domain, features: connection.features, transmitStart: txStart, receiveStart: rxStart,
                               receiveQueueFrames: configuration.receiveQueueFrames,
                               receiveQueueBytes: configuration.receiveQueueBytes)
        state = Mutex(State(device: device, transmitMapping: tx, receiveMapping: rx, uplink: uplink))
        let signal = BackendSignal(queue: self.queue) { [weak self] in self?.run() }
        work.withLock { $0 = signal }
        var binding = connection.transmitPort
        do {
            let txLocal = try events.bindInterdomain(remoteDomain: domain, remotePort: connection.transmitPort) { _ in
                signal.signal()
            }
            state.withLock { $0.transmitPort = txLocal }
            if connection.isSplit {
                binding = connection.receivePort
                let rxLocal = try events.bindInterdomain(remoteDomain: domain, remotePort: connection.receivePort) { _ in
                    signal.signal()
                }
                state.withLock { $0.receivePort = rxLocal }
            } else {
                state.withLock { $0.receivePort = txLocal }
            }
        } catch {
            let ports = state.withLock { s in
                defer {
                    s.transmitMapping = nil
                    s.receiveMapping = nil
                    s.transmitPort = nil
                    s.receivePort = nil
                }
                return (s.transmitPort, s.receivePort)
            }
            disconnect(transmit: tx, receive: rx, ports: ports)
            throw .bind(domain, binding, error)
        }
    }

    deinit {
        // No pass can be running (passes hold the backend strongly): disconnect directly.
        let (tx, rx, ports) = state.withLock { s in (s.transmitMapping, s.receiveMapping, (s.transmitPort, s.receivePort)) }
        disconnect(transmit: tx, receive: rx, ports: ports)
    }

    public var deviceState: NetDevice.State { state.withLock { $0.device.state } }
    public var statistics: NetStatistics { state.withLock { $0.device.statistics } }
    public var multicastFilter: Set<MACAddress> { state.withLock { $0.device.multicastFilter } }
    public var queuedFrames: Int { state.withLock { $0.device.queuedFrames } }
    /// Kite's ends of the channel(s); nil once disconnected.
    public var localPorts: (transmit: EventChannelPort?, receive: EventChannelPort?) {
        state.withLock { ($0.transmitPort, $0.receivePort) }
    }

    /// Where the guest's packets go from now on (nil: dropped).
    public func setUplink(_ sink: (any NetFrameSink)?) {
        state.withLock { $0.uplink = sink }
    }

    /// Queues a frame for the guest (never blocks); false when dropped.
    @discardableResult
    public func deliver(_ frame: NetFrame) -> Bool {
        let queued = state.withLock { $0.device.queue(frame) }
        if queued { requestPass() }
        return queued
    }

    /// Schedules a pass as a notification from the guest would.
    public func requestPass() {
        work.withLock { $0 }?.signal()
    }

    /// Runs a pass now on the backend's queue and waits for it. Call from outside the queue.
    public func flush() {
        queue.sync { run() }
    }

    /// Final pass, then disconnects: ports closed, rings unmapped, queued frames dropped.
    /// Idempotent; call from outside the queue (not from the uplink).
    public func close() {
        queue.sync {
            run()
            let (tx, rx, ports) = state.withLock { s -> (GrantMapping?, GrantMapping?, (EventChannelPort?, EventChannelPort?)) in
                s.device.close()
                defer {
                    s.transmitMapping = nil
                    s.receiveMapping = nil
                    s.transmitPort = nil
                    s.receivePort = nil
                    s.uplink = nil
                }
                return (s.transmitMapping, s.receiveMapping, (s.transmitPort, s.receivePort))
            }
            disconnect(transmit: tx, receive: rx, ports: ports)
        }
        work.withLock { $0 = nil }
    }

    private struct Step {
        var frames: [NetFrame] = []
        var uplink: (any NetFrameSink)?
        var notify: [EventChannelPort] = []
        var moreWork = false
        var poll = false
        var failure: NetDeviceError?
        var broken: (GrantMapping?, GrantMapping?, (EventChannelPort?, EventChannelPort?))?
    }

    /// One turn on the queue: transmit then receive passes until both are idle, at most
    /// `turnsPerPass` before letting other work run.
    private func run() {
        for _ in 0..<turnsPerPass {
            let step = state.withLock { s -> Step in
                var step = Step()
                guard let txRing = s.transmitRing, let rxRing = s.receiveRing else { return step }
                let tx = s.device.transmit(txRing, grants: grants)
                step.frames = tx.frames
                step.uplink = s.uplink
                var failure = tx.failure
                var rxNotify = false
                if failure == nil {
                    let rx = s.device.receive(rxRing, grants: grants)
                    failure = rx.failure
                    rxNotify = rx.notify
                    step.moreWork = tx.moreWork || rx.moreWork
                    if rx.waitingForBuffers && !s.device.features.receiveNotify && !s.pollScheduled {
                        s.pollScheduled = true
                        step.poll = true
                    }
                }
                s.transmitMapping?.noteWrite()
                s.receiveMapping?.noteWrite()
                if let failure {
                    step.failure = failure
                    step.broken = (s.transmitMapping, s.receiveMapping, (s.transmitPort, s.receivePort))
                    s.transmitMapping = nil
                    s.receiveMapping = nil
                    s.transmitPort = nil
                    s.receivePort = nil
                    return step
                }
                if tx.notify, let port = s.transmitPort { step.notify.append(port) }
                if rxNotify, let port = s.receivePort, !step.notify.contains(port) { step.notify.append(port) }
                return step
            }
            if let broken = step.broken {
                disconnect(transmit: broken.0, receive: broken.1, ports: broken.2)
            }
            for port in step.notify { try? events.notify(port) }
            if let uplink = step.uplink {
                for frame in step.frames { uplink.deliver(frame) }
            }
            if let failure = step.failure { onFailure?(failure) }
            if step.poll { schedulePoll() }
            guard step.moreWork else { return }
        }
        requestPass()
    }

    private func schedulePoll() {
        queue.asyncAfter(deadline: .now() + pollInterval) { [weak self] in
            guard let self else { return }
            self.state.withLock { $0.pollScheduled = false }
            self.run()
        }
    }

    private func disconnect(transmit: GrantMapping?, receive: GrantMapping?, ports: (EventChannelPort?, EventChannelPort?)) {
        if let port = ports.0 { try? events.close(port) }
        if let port = ports.1, port != ports.0 { try? events.close(port) }
        if let transmit { try? grants.unmap(transmit) }
        if let receive { try? grants.unmap(receive) }
    }
}
