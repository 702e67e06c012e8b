import XenABI

/// What a frontend's `state` node said, as Linux's xenbus_read_driver_state and
/// frontend_changed see it.
public enum XenbusFrontendState: Hashable, Sendable {
    /// A known state.
    case state(XenbusState)
    /// A number outside `enum xenbus_state` (backends answer "saw state N at frontend").
    case outOfRange(Int64)

    /// Parses a `state` value like the kernel's `sscanf("%d")`: leading blanks, an optional
    /// '-', decimal digits; anything after them is ignored. No digits (or no node) reads as
    /// Unknown, as xenbus_read_driver_state does. Huge values saturate.
    public init(parsing bytes: [UInt8]?) {
        guard let bytes else {
            self = .state(.unknown)
            return
        }
        var index = 0
        while index < bytes.count, bytes[index] == 0x20 || (bytes[index] >= 0x09 && bytes[index] <= 0x0D) { index += 1 }
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value: Int64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let (product, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = product.addingReportingOverflow(Int64(bytes[index] - 0x30))
            value = (o1 || o2) ? Int64.max : sum
            index += 1
            digits += 1
        }
        guard digits > 0 else {
            self = .state(.unknown)
            return
        }
        let signed = negative ? -value : value
        if let known = UInt32(exactly: signed).flatMap(XenbusState.init(rawValue:)) {
            self = .state(known)
        } else {
            self = .outOfRange(signed)
        }
    }
}

/// How a backend kind reacts to its frontend where Linux's backends differ.
public struct XenbusBackendPolicy: Hashable, Sendable {
    /// Frontend states whose arrival makes the backend connect. blkback and the console:
    /// Initialised and Connected; netback: Connected only (netfront skips Initialised).
    public var connectOn: Set<XenbusState>
    /// A frontend back at Initialising while the backend is connected or closing: netback
    /// disconnects and walks Closing → Closed → InitWait (set_backend_state); blkback only
    /// re-arms from Closed and ignores it otherwise.
    public var restartFromAnyState: Bool

    public init(connectOn: Set<XenbusState>, restartFromAnyState: Bool) {
        self.connectOn = connectOn
        self.restartFromAnyState = restartFromAnyState
    }

    /// drivers/block/xen-blkback/xenbus.c frontend_changed.
    public static let blkback = XenbusBackendPolicy(connectOn: [.initialised, .connected], restartFromAnyState: false)
    /// drivers/net/xen-netback/xenbus.c frontend_changed.
    public static let netback = XenbusBackendPolicy(connectOn: [.connected], restartFromAnyState: true)
    /// QEMU's xen-console backend: connects on Initialised or Connected, like blkback.
    public static let console = blkback
}

/// What the owner of a backend does, in order.
public enum XenbusBackendAction: Hashable, Sendable {
    /// Write the backend's `state` (only while the node exists: xenbus_switch_state never
    /// resurrects a removed directory).
    case switchState(XenbusState)
    /// Read the frontend's keys, map rings, bind ports (the device's `connect`); on success
    /// publish its keys and switch to Connected, on failure `fatal` and `disconnect`.
    case connect
    /// Unmap and unbind (idempotent).
    case disconnect
    /// The error half of xenbus_dev_fatal: write "<errno> <message>" to the device's
    /// error node (a `.switchState(.closing)` follows unless the backend is closing already).
    case fatal(XenError, String)
    /// The device is gone for this domain (Linux: device_unregister): stop watching.
    case unregister
}

/// The backend half of the xenbus handshake as a value: Linux's xenbus backend core
/// (xenbus_probe.c, xenbus_client.c) plus a driver's frontend_changed, returning actions.
///
/// Transitions (blkback; `XenbusBackendPolicy` names where netback differs):
/// ```
/// start                                   → InitWait (after the toolstack wrote Initialising)
/// frontend Initialising   backend Closed  → InitWait            (reconnect after a close)
/// frontend ∈ connectOn    backend ≠ Conn. → disconnect, connect → Connected | fatal
/// frontend Closing                        → Closing
/// frontend Closed                         → disconnect, Closed; unregister unless online = 1
/// frontend Unknown (missing, not a number)→ disconnect, Closed, unregister
/// frontend 2, 7, 8 or out of range        → fatal "saw state N at frontend" → Closing
/// ```
/// After `unregister` nothing more happens. The owner reports the outcome of `.connect`
/// with `connected()` or `connectFailed(...)`, and `.switchState` it could not perform
/// with `stateNodeGone()`.
public struct XenbusBackendMachine: Hashable, Sendable {
    public let policy: XenbusBackendPolicy
    /// The state the backend last wrote. Xen: xenbus_device.state.
    public private(set) var state: XenbusState = .initialising
    /// Rings mapped and ports bound (between a successful connect and a disconnect).
    public private(set) var isConnected = false
    public private(set) var isUnregistered = false

    public init(policy: XenbusBackendPolicy = .blkback) {
        self.policy = policy
    }

    /// The backend is set up (the driver's probe): announce InitWait.
    public mutating func start() -> [XenbusBackendAction] {
        guard !isUnregistered, state == .initialising else { return [] }
        return switchTo(.initWait)
    }

    /// The frontend's `state` changed (or a watch fired: the value is read again each time,
    /// so two quick changes cannot be missed). `online` is the backend's `online` key.
    public mutating func frontendChanged(_ frontend: XenbusFrontendState, online: Bool) -> [XenbusBackendAction] {
        guard !isUnregistered else { return [] }
        switch frontend {
        case .outOfRange(let value):
            return fatal(.EINVAL, "saw state \(value) at frontend")
        case .state(let s):
            switch s {
            case .initialising:
                if state == .closed { return switchTo(.initWait) }
                guard policy.restartFromAnyState, state != .initWait else { return [] }
                var actions = disconnect()
                for next in [XenbusState.closing, .closed, .initWait] where shouldWalk(to: next) {
                    actions += switchTo(next)
                }
                return actions
            case .initialised, .connected:
                guard policy.connectOn.contains(s) else { return [] }
                if state == .connected { return [] }
                // xen_blkif_disconnect is idempotent and runs before every connect_ring.
                return disconnect() + [.connect]
            case .closing:
                return switchTo(.closing)
            case .closed:
                var actions = disconnect() + switchTo(.closed)
                if !online {
                    isUnregistered = true
                    actions.append(.unregister)
                }
                return actions
            case .unknown:
                isUnregistered = true
                return disconnect() + switchTo(.closed) + [.unregister]
            case .initWait, .reconfiguring, .reconfigured:
                // No frontend of vbd, vif or console announces these.
                return fatal(.EINVAL, "saw state \(s.rawValue) at frontend")
            }
        }
    }

    /// The device connected: publish and switch to Connected.
    public mutating func connected() -> [XenbusBackendAction] {
        guard !isUnregistered else { return [.disconnect] }
        isConnected = true
        return switchTo(.connected)
    }

    /// The device could not connect (bad frontend keys, a grant that does not map):
    /// xenbus_dev_fatal, and release what it had taken.
    public mutating func connectFailed(_ error: XenError, _ message: String) -> [XenbusBackendAction] {
        guard !isUnregistered else { return [.disconnect] }
        isConnected = false
        return [.disconnect] + fatal(error, message)
    }

    /// The device reports a fatal error while running (a ring that ran ahead): as
    /// xenbus_dev_fatal; the rings stay mapped until the frontend closes.
    public mutating func deviceFailed(_ error: XenError, _ message: String) -> [XenbusBackendAction] {
        guard !isUnregistered else { return [] }
        return fatal(error, message)
    }

    /// The toolstack asks the device to go (libxl's device remove: online = 0 and the
    /// backend's state Closing); the frontend then closes and the backend ends Closed and
    /// unregistered.
    public mutating func removalRequested() -> [XenbusBackendAction] {
        guard !isUnregistered else { return [] }
        return switchTo(.closing)
    }

    /// The backend's `state` node vanished (the directory was removed): the device is gone.
    public mutating func stateNodeGone() -> [XenbusBackendAction] {
        guard !isUnregistered else { return [] }
        isUnregistered = true
        return disconnect() + [.unregister]
    }

    /// Teardown by the owner: the device stops whatever its state.
    public mutating func unregister() -> [XenbusBackendAction] {
        guard !isUnregistered else { return [] }
        isUnregistered = true
        return disconnect() + [.unregister]
    }

    private mutating func switchTo(_ next: XenbusState) -> [XenbusBackendAction] {
        guard next != state else { return [] }
        state = next
        return [.switchState(next)]
    }

    private mutating func disconnect() -> [XenbusBackendAction] {
        guard isConnected else { return [] }
        isConnected = false
        return [.disconnect]
    }

    private mutating func fatal(_ error: XenError, _ message: String) -> [XenbusBackendAction] {
        let step = switchTo(.closing)
        return [.fatal(error, message)] + step
    }

    /// netback's set_backend_state walk from the current state towards InitWait.
    private func shouldWalk(to next: XenbusState) -> Bool {
        switch next {
        case .closing: return state == .connected
        case .closed: return state == .connected || state == .closing
        default: return true
        }
    }
}
