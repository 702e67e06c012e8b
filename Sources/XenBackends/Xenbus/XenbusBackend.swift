import Dispatch
import Synchronization
import XenABI
import XenStore

/// The generic host half of a split device: what Linux's xenbus backend core is to blkback
/// and netback. It writes the libxl layout of the device (`XenbusLayout`), announces
/// InitWait, watches the frontend's `state` and runs `XenbusBackendMachine` on every change,
/// calling the concrete device's `connect` and `disconnect`; a device that cannot connect
/// (or reports a failure later through `fail`) leaves "<errno> <message>" in its error
/// node and goes to Closing, as xenbus_dev_fatal does. `teardown` stops it and removes its
/// directories.
///
/// Work runs on `queue` (serial): watch events only schedule a pass there (several quick
/// changes make one pass, which reads the current value), and the device's calls, store
/// writes and `onStateChange` all happen in passes. The store's lock is never held while
/// the device runs.
///
/// Locking: `state` guards the machine and bookkeeping for observers; it is never held
/// while calling the store or the device.
public final class XenbusBackend: Sendable {
    public typealias StateObserver = @Sendable (XenbusState) -> Void

    private struct State: Sendable {
        var machine: XenbusBackendMachine
        var watch: XenStoreClient.Watch?
        var started = false
        var tornDown = false
        var lastError: XenbusError?
    }

    public let address: XenbusDeviceAddress
    /// Where the device's calls run; a device may use it for its own ring work too.
    public let queue: DispatchQueue
    private let keys: XenbusDeviceKeys
    private let device: any XenbusBackendDevice
    private let client: XenStoreClient
    private let log: @Sendable (String) -> Void
    private let onStateChange: StateObserver?
    private let state: Mutex<State>
    private let signal = Mutex<BackendSignal?>(nil)

    /// `client` is the dom0 store connection (one may serve many backends); `queue` must be
    /// serial (a new one if nil). `onStateChange` sees every state the backend writes.
    public init(address: XenbusDeviceAddress, keys: XenbusDeviceKeys = XenbusDeviceKeys(),
                device: any XenbusBackendDevice, client: XenStoreClient, policy: XenbusBackendPolicy = .blkback,
                queue: DispatchQueue? = nil, log: @escaping @Sendable (String) -> Void = { _ in },
                onStateChange: StateObserver? = nil) {
        self.address = address
        self.keys = keys
        self.device = device
        self.client = client
        self.queue = queue ?? DispatchQueue(label: "kite.xenbus.\(address.type).d\(address.frontendDomain.rawValue).\(address.devid)")
        self.log = log
        self.onStateChange = onStateChange
        state = Mutex(State(machine: XenbusBackendMachine(policy: policy)))
    }

    // MARK: - Lifecycle

    /// Writes the device's directories (both ends Initialising), switches the backend to
    /// InitWait and starts watching the frontend. Call once, not from `queue`.
    public func start() throws(XenError) {
        guard state.withLock({ s -> Bool in
            guard !s.started && !s.tornDown else { return false }
            s.started = true
            return true
        }) else { return }
        do { try XenbusLayout.write(address, keys: keys, using: client) } catch {
            state.withLock { $0.started = false }
            throw error
        }
        let signal = BackendSignal(queue: queue) { [weak self] in self?.pass() }
        self.signal.withLock { $0 = signal }
        queue.sync { perform(state.withLock { $0.machine.start() }) }
        let watch = try client.watch(address.frontendPath + "/state") { _ in signal.signal() }
        let keep = state.withLock { s -> Bool in
            if s.tornDown { return false }
            s.watch = watch
            return true
        }
        if !keep { client.unwatch(watch) }
    }

    /// The toolstack removes the device gracefully (libxl's device remove): `online` = 0
    /// and Closing; the frontend closes, and the backend ends Closed and unregistered.
    /// Follow with `teardown` once `isUnregistered` (or after a timeout, as libxl does).
    public func requestRemoval() {
        queue.async { [self] in
            guard !state.withLock({ $0.tornDown }) else { return }
            _ = try? client.transaction { (t) throws(XenError) in
                guard try client.readIfPresent(address.backendPath + "/state", in: t) != nil else { return }
                try client.write(address.backendPath + "/online", "0", in: t)
            }
            perform(state.withLock { $0.machine.removalRequested() })
        }
    }

    /// The device failed while running (e.g. its ring broke): as xenbus_dev_fatal.
    public func fail(_ error: XenbusError) {
        queue.async { [self] in
            guard !state.withLock({ $0.tornDown }) else { return }
            perform(state.withLock { $0.machine.deviceFailed(error.errno, error.message) })
        }
    }

    /// Stops the device whatever its state: unwatches, disconnects it and removes the
    /// frontend, backend, error and libxl directories. Idempotent; not from `queue`.
    public func teardown() {
        queue.sync {
            let (watch, actions) = state.withLock { s -> (XenStoreClient.Watch?, [XenbusBackendAction]) in
                guard !s.tornDown else { return (nil, []) }
                s.tornDown = true
                defer { s.watch = nil }
                return (s.watch, s.machine.unregister())
            }
            if let watch { client.unwatch(watch) }
            perform(actions)
            do { try XenbusLayout.remove(address, using: client) } catch {
                log("xenbus: cannot remove the directories of \(address): \(error)")
            }
        }
        signal.withLock { $0 = nil }
    }

    /// Waits until the watch events delivered so far have been handled. Not from `queue`
    /// or the client's queue.
    public func waitUntilIdle() {
        client.waitUntilIdle()
        queue.sync {}
    }

    // MARK: - Observation

    /// The state the backend last wrote.
    public var backendState: XenbusState { state.withLock { $0.machine.state } }
    /// The device is connected (rings mapped).
    public var isConnected: Bool { state.withLock { $0.machine.isConnected } }
    /// The device is gone (frontend vanished or closed while offline, or torn down).
    public var isUnregistered: Bool { state.withLock { $0.machine.isUnregistered } }
    /// The last error written to the error node.
    public var lastError: XenbusError? { state.withLock { $0.lastError } }

    // MARK: - Passes

    /// One look at the frontend: reads its state and the backend's `online`, then acts.
    private func pass() {
        guard !state.withLock({ $0.tornDown || $0.machine.isUnregistered }) else { return }
        let frontend: XenbusFrontendState
        do {
            frontend = XenbusFrontendState(parsing: try client.readIfPresent(address.frontendPath + "/state").map { Array($0.utf8) })
        } catch {
            frontend = .state(.unknown)
        }
        // Xen: xenbus_dev_is_online — xenbus_read_unsigned(nodename, "online", 0).
        let onlineText = (try? client.readIfPresent(address.backendPath + "/online")) ?? nil
        let online = onlineText.flatMap { XenbusFrontend.parseDecimal(Array($0.utf8), as: UInt32.self) }.map { $0 != 0 } ?? false
        perform(state.withLock { $0.machine.frontendChanged(frontend, online: online) })
    }

    /// Performs actions in order; some produce further actions (connect's outcome).
    private func perform(_ actions: [XenbusBackendAction]) {
        var pending = actions[...]
        while let action = pending.popFirst() {
            var more: [XenbusBackendAction] = []
            switch action {
            case .switchState(let next):
                if switchState(next) {
                    onStateChange?(next)
                } else {
                    more = state.withLock { $0.machine.stateNodeGone() }
                }
            case .connect:
                more = connect()
            case .disconnect:
                device.disconnect()
            case .fatal(let errno, let message):
                let error = XenbusError(errno, message)
                state.withLock { $0.lastError = error }
                log("xenbus: \(address): \(error)")
                try? client.write(address.errorPath + "/error", error.description)
            case .unregister:
                let watch = state.withLock { s -> XenStoreClient.Watch? in
                    defer { s.watch = nil }
                    return s.watch
                }
                if let watch { client.unwatch(watch) }
            }
            pending = more[...] + pending
        }
    }

    private func connect() -> [XenbusBackendAction] {
        let frontend = XenbusFrontend(domain: address.frontendDomain, path: address.frontendPath,
                                      backendPath: address.backendPath, client: client)
        let published: [XenbusKey]
        do {
            published = try device.connect(frontend)
        } catch {
            return state.withLock { $0.machine.connectFailed(error.errno, error.message) }
        }
        do {
            try client.transaction { (t) throws(XenError) in
                guard try client.readIfPresent(address.backendPath + "/state", in: t) != nil else { return }
                for key in published { try client.write(address.backendPath + "/" + key.name, key.value, in: t) }
            }
        } catch {
            return state.withLock { $0.machine.connectFailed(error, "writing \(address.backendPath)") }
        }
        return state.withLock { $0.machine.connected() }
    }

    /// Xen `xenbus_switch_state`: writes the state only while the node exists (a removed
    /// directory is not resurrected). False when it was gone.
    private func switchState(_ next: XenbusState) -> Bool {
        let path = address.backendPath + "/state"
        do {
            return try client.transaction { (t) throws(XenError) -> Bool in
                guard try client.readIfPresent(path, in: t) != nil else { return false }
                try client.write(path, next.xenstoreValue, in: t)
                return true
            }
        } catch {
            log("xenbus: \(address): cannot write state \(next): \(error)")
            return true
        }
    }
}
