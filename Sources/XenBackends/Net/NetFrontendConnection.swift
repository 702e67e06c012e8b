import XenABI

/// Why a frontend's connection details cannot be used; the message names the key.
public enum NetConnectError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingKey(String)
    case badValue(key: String, value: String)
    /// request-rx-copy is absent or 0: the frontend wants page flipping, which Kite (like
    /// Linux's netback) does not do.
    case receiveCopyRequired
    /// multi-queue-num-queues above 1: Kite advertises no multi-queue.
    case tooManyQueues(UInt32)

    public var description: String {
        switch self {
        case .missingKey(let key): "the frontend did not write \(key)"
        case .badValue(let key, let value): "the frontend's \(key) = \"\(value)\" is not a valid number"
        case .receiveCopyRequired: "the frontend did not set request-rx-copy = 1 (receive page flipping is not supported)"
        case .tooManyQueues(let n): "the frontend asked for \(n) queues; Kite offers 1 (no multi-queue-max-queues)"
        }
    }
}

/// What the frontend published for the backend to connect to: ring grants, event
/// channel(s) and features. Xen: what netback's connect_data_rings and
/// read_xenbus_vif_flags read from the frontend directory.
public struct NetFrontendConnection: Hashable, Sendable {
    /// Xen: tx-ring-ref
    public var transmitRing: GrantReference
    /// Xen: rx-ring-ref
    public var receiveRing: GrantReference
    /// Xen: event-channel-tx, or event-channel for both.
    public var transmitPort: EventChannelPort
    /// Xen: event-channel-rx, or event-channel for both.
    public var receivePort: EventChannelPort
    public var features: NetFrontendFeatures

    public init(transmitRing: GrantReference, receiveRing: GrantReference, transmitPort: EventChannelPort,
                receivePort: EventChannelPort? = nil, features: NetFrontendFeatures = NetFrontendFeatures()) {
        self.transmitRing = transmitRing
        self.receiveRing = receiveRing
        self.transmitPort = transmitPort
        self.receivePort = receivePort ?? transmitPort
        self.features = features
    }

    /// Split event channels (feature-split-event-channels).
    public var isSplit: Bool { transmitPort != receivePort }

    /// Reads the frontend's keys through `value(key)` (the key's value in the frontend
    /// directory, nil when absent), with xenbus_scanf's number parsing (decimal, leading
    /// whitespace ignored). Split event channels are tried first, as netback does.
    public static func read(_ value: (String) -> String?) throws(NetConnectError) -> NetFrontendConnection {
        func number(_ key: String) throws(NetConnectError) -> UInt32? {
            guard let text = value(key) else { return nil }
            let trimmed = text.drop { $0 == " " || $0 == "\t" || $0 == "\n" }
            guard let n = UInt32(trimmed) else { throw .badValue(key: key, value: text) }
            return n
        }
        func required(_ key: String) throws(NetConnectError) -> UInt32 {
            guard let n = try number(key) else { throw .missingKey(key) }
            return n
        }
        func flag(_ key: String, default fallback: Bool) -> Bool {
            // xenbus_read_unsigned: an unreadable value counts as the default.
            guard let text = value(key), let n = UInt32(text.drop { $0 == " " }) else { return fallback }
            return n != 0
        }
        if let queues = try number(NetInterfaceKeys.multiQueueNumQueues), queues > 1 { throw .tooManyQueues(queues) }
        let tx = try required(NetInterfaceKeys.transmitRingReference)
        let rx = try required(NetInterfaceKeys.receiveRingReference)
        let txPort: UInt32, rxPort: UInt32
        if let a = try number(NetInterfaceKeys.eventChannelTransmit), let b = try number(NetInterfaceKeys.eventChannelReceive) {
            // Port 0 is never a valid event channel.
            guard a != 0 else { throw .badValue(key: NetInterfaceKeys.eventChannelTransmit, value: "0") }
            guard b != 0 else { throw .badValue(key: NetInterfaceKeys.eventChannelReceive, value: "0") }
            txPort = a
            rxPort = b
        } else {
            txPort = try required(NetInterfaceKeys.eventChannel)
            guard txPort != 0 else { throw .badValue(key: NetInterfaceKeys.eventChannel, value: "0") }
            rxPort = txPort
        }
        guard flag(NetInterfaceKeys.requestRxCopy, default: false) else { throw .receiveCopyRequired }
        let features = NetFrontendFeatures(
            receiveNotify: flag(NetInterfaceKeys.featureRxNotify, default: false),
            scatterGather: flag(NetInterfaceKeys.featureSG, default: false),
            checksumOffload: !flag(NetInterfaceKeys.featureNoChecksumOffload, default: false),
            ipv6ChecksumOffload: flag(NetInterfaceKeys.featureIPv6ChecksumOffload, default: false),
            multicastControl: flag(NetInterfaceKeys.requestMulticastControl, default: false))
        return NetFrontendConnection(transmitRing: GrantReference(tx), receiveRing: GrantReference(rx),
                                     transmitPort: EventChannelPort(txPort), receivePort: EventChannelPort(rxPort),
                                     features: features)
    }

    /// Every key `read` looks at (for a caller that fetches them first).
    public static let keys: [String] = [
        NetInterfaceKeys.multiQueueNumQueues, NetInterfaceKeys.transmitRingReference,
        NetInterfaceKeys.receiveRingReference, NetInterfaceKeys.eventChannelTransmit,
        NetInterfaceKeys.eventChannelReceive, NetInterfaceKeys.eventChannel, NetInterfaceKeys.requestRxCopy,
        NetInterfaceKeys.featureRxNotify, NetInterfaceKeys.featureSG, NetInterfaceKeys.featureNoChecksumOffload,
        NetInterfaceKeys.featureIPv6ChecksumOffload, NetInterfaceKeys.requestMulticastControl,
    ]
}
