import Dispatch
import Synchronization
import XenABI
import XenControl

/// Why a console backend could not start; the message says what went wrong.
public enum ConsoleBackendError: Error, Equatable, CustomStringConvertible {
    case map(DomainID, GrantReference, GrantError)
    case bind(DomainID, EventChannelPort, XenError)

    public var description: String {
        switch self {
        case .map(let d, let ref, let e):
            "cannot map the console page of \(d) (\(ref)): \(e); the toolstack seeds it before the backend starts"
        case .bind(let d, let port, let e):
            "cannot bind to the console \(port) of \(d): \(e); it must be unbound for domain 0"
        }
    }
}

/// A guest's primary PV console, served the way xenconsoled serves it: the page the guest
/// grants with the reserved reference GNTTAB_RESERVED_CONSOLE is mapped, its console port
/// bound, and on every notification a pass on the backend's serial queue moves output from
/// the ring to `sink` (through a bounded buffer, see `ConsoleOverflowPolicy`) and queued
/// input into the ring.
///
/// The sink is called on the backend's queue, in order, never concurrently; with no sink
/// set, output waits in the buffer (a console nobody is attached to). A guest that breaks
/// its ring loses its console (port closed, page unmapped), nothing else.
///
/// Locking: `state` is taken for device work and released before the sink is called or
/// the guest notified; nothing else is locked under it.
public final class ConsoleBackend: Sendable {
    public typealias Sink = @Sendable (ArraySlice<UInt8>) -> Void

    /// How one console is set up.
    public struct Configuration: Sendable {
        public var outputLimit: Int
        public var inputLimit: Int
        public var overflow: ConsoleOverflowPolicy
        /// The page's grant. Xen: GNTTAB_RESERVED_CONSOLE for the primary console.
        public var grantReference: GrantReference
        /// Bytes handed to the sink per call, and passes before yielding the queue.
        public var sinkChunk: Int
        public var passesPerTurn: Int

        public init(outputLimit: Int = ConsoleDevice.defaultOutputLimit, inputLimit: Int = ConsoleDevice.defaultInputLimit,
                    overflow: ConsoleOverflowPolicy = .backpressure,
                    grantReference: GrantReference = GrantTableLimits.consoleReference,
                    sinkChunk: Int = 4096, passesPerTurn: Int = 64) {
            self.outputLimit = outputLimit
            self.inputLimit = inputLimit
            self.overflow = overflow
            self.grantReference = grantReference
            self.sinkChunk = max(sinkChunk, 1)
            self.passesPerTurn = max(passesPerTurn, 1)
        }
    }

    private struct State: Sendable {
        var device: ConsoleDevice
        var mapping: GrantMapping?
        var localPort: EventChannelPort?
        var sink: Sink?
        var ring: ConsoleRing? { mapping.map { ConsoleRing($0.page) } }
    }

    public let domain: DomainID
    /// The guest's console port (start_info.console.domU.evtchn).
    public let remotePort: EventChannelPort
    private let grants: any GrantMapper
    private let events: any EventChannelAccess
    private let configuration: Configuration
    private let queue: DispatchQueue
    private let state: Mutex<State>
    private let work = Mutex<BackendSignal?>(nil)

    /// Maps the console page, marks it connected and binds to `port`. `queue` is where
    /// passes run (a new serial queue if nil); it must be serial.
    public init(domain: DomainID, port: EventChannelPort, grants: any GrantMapper, events: any EventChannelAccess,
                configuration: Configuration = Configuration(), queue: DispatchQueue? = nil,
                sink: Sink?) throws(ConsoleBackendError) {
        self.domain = domain
        remotePort = port
        self.grants = grants
        self.events = events
        self.configuration = configuration
        self.queue = queue ?? DispatchQueue(label: "kite.console.d\(domain.rawValue)")
        let mapping: GrantMapping
        do { mapping = try grants.map(domain: domain, ref: configuration.grantReference, readOnly: false) } catch {
            throw .map(domain, configuration.grantReference, error)
        }
        var device = ConsoleDevice(outputLimit: configuration.outputLimit, inputLimit: configuration.inputLimit,
                                   overflow: configuration.overflow)
        device.connect(ConsoleRing(mapping.page))
        mapping.noteWrite(offset: 0, length: ConsoleRingLayout.size)
        state = Mutex(State(device: device, mapping: mapping, localPort: nil, sink: sink))
        let signal = BackendSignal(queue: self.queue) { [weak self] in self?.run() }
        work.withLock { $0 = signal }
        let local: EventChannelPort
        do {
            local = try events.bindInterdomain(remoteDomain: domain, remotePort: port) { _ in signal.signal() }
        } catch {
            ConsoleRing(mapping.page).setConnection(.disconnected)
            try? grants.unmap(mapping)
            throw .bind(domain, port, error)
        }
        state.withLock { $0.localPort = local }
    }

    deinit {
        // No pass can be running: passes hold the backend strongly. Disconnect directly
        // (`close` would wait on the queue, which may be the thread running this).
        let (mapping, port) = state.withLock { ($0.mapping, $0.localPort) }
        disconnect(mapping: mapping, port: port)
    }

    /// Kite's end of the console channel; nil once disconnected.
    public var localPort: EventChannelPort? { state.withLock { $0.localPort } }
    public var deviceState: ConsoleDevice.State { state.withLock { $0.device.state } }
    public var statistics: ConsoleStatistics { state.withLock { $0.device.statistics } }
    /// Output waiting for a sink.
    public var bufferedOutputBytes: Int { state.withLock { $0.device.output.count } }

    /// Attaches (or with nil detaches) the consumer of the guest's output; buffered output
    /// goes to a new sink on the next pass.
    public func setSink(_ sink: Sink?) {
        state.withLock { $0.sink = sink }
        requestPass()
    }

    /// Queues keyboard input; returns how many bytes were accepted (0 while the guest has
    /// not made room: retry later). Never blocks on the guest.
    @discardableResult
    public func sendInput(_ bytes: some Collection<UInt8>) -> Int {
        let array = Array(bytes)
        let accepted = state.withLock { s in array.withUnsafeBytes { s.device.queueInput($0) } }
        if accepted > 0 { requestPass() }
        return accepted
    }

    /// Schedules a pass as a notification from the guest would.
    public func requestPass() {
        work.withLock { $0 }?.signal()
    }

    /// Runs a pass now on the backend's queue and waits for it: everything the guest has
    /// written so far reaches the sink. Call from outside the queue (not from the sink).
    public func flush() {
        queue.sync { run() }
    }

    /// Final pass, then disconnects: port closed, page unmapped. Buffered output not taken
    /// by a sink is dropped. Idempotent; call from outside the queue.
    public func close() {
        queue.sync {
            run()
            let (mapping, port) = state.withLock { s -> (GrantMapping?, EventChannelPort?) in
                s.device.close()
                defer {
                    s.mapping = nil
                    s.localPort = nil
                    s.sink = nil
                }
                return (s.mapping, s.localPort)
            }
            disconnect(mapping: mapping, port: port)
        }
        work.withLock { $0 = nil }
    }

    /// One turn on the queue: passes until the ring and the buffer are drained (or the
    /// sink is absent), at most `passesPerTurn` before letting other work run.
    private func run() {
        for _ in 0..<configuration.passesPerTurn {
            let step = state.withLock { s -> (notify: EventChannelPort?, chunk: [UInt8], sink: Sink?, broken: (GrantMapping?, EventChannelPort?)?) in
                var notify: EventChannelPort?
                var broken: (GrantMapping?, EventChannelPort?)?
                if let ring = s.ring {
                    let result = s.device.service(ring)
                    if result.notifyGuest || result.failure != nil {
                        s.mapping?.noteWrite(offset: 0, length: ConsoleRingLayout.size)
                    }
                    if result.notifyGuest { notify = s.localPort }
                    if result.failure != nil {
                        broken = (s.mapping, s.localPort)
                        s.mapping = nil
                        s.localPort = nil
                    }
                }
                let chunk = s.sink == nil ? [] : s.device.takeOutput(maximum: configuration.sinkChunk)
                return (notify, chunk, s.sink, broken)
            }
            if let broken = step.broken { disconnect(mapping: broken.0, port: broken.1) }
            if let port = step.notify { try? events.notify(port) }
            guard !step.chunk.isEmpty, let sink = step.sink else { return }
            sink(step.chunk[...])
        }
        // More than a turn's worth: come back after other work on the queue.
        requestPass()
    }

    private func disconnect(mapping: GrantMapping?, port: EventChannelPort?) {
        if let port { try? events.close(port) }
        if let mapping { try? grants.unmap(mapping) }
    }
}
