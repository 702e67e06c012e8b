/// A domain's identity. Xen: `domid_t` (public/xen.h), 16 bits.
public struct DomainID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// Xen: DOMID_SELF — "the calling domain" in hypercall arguments.
    public static let selfDomain = DomainID(0x7FF0)
    /// Xen: DOMID_IO.
    public static let io = DomainID(0x7FF1)
    /// Xen: DOMID_XEN — frames owned by the hypervisor (shared_info, the m2p).
    public static let xen = DomainID(0x7FF2)
    /// Xen: DOMID_INVALID.
    public static let invalid = DomainID(0x7FF4)
    /// Xen: DOMID_FIRST_RESERVED — ids at or above are never real domains.
    public static let firstReserved = DomainID(0x7FF0)
    /// Domain 0: the role Kite itself plays (backends, xenstore, toolstack).
    public static let controlDomain = DomainID(0)

    public static func < (a: DomainID, b: DomainID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "d\(rawValue)" }
}

/// A vCPU's index within its domain. Xen: `vcpuid` (unsigned int).
public struct VCPUID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: VCPUID, b: VCPUID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "v\(rawValue)" }
}

/// An event-channel port. Xen: `evtchn_port_t` (public/event_channel.h). Port 0 is never valid.
public struct EventChannelPort: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: EventChannelPort, b: EventChannelPort) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "port \(rawValue)" }
}

/// A grant-table entry index. Xen: `grant_ref_t` (public/grant_table.h).
public struct GrantReference: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: GrantReference, b: GrantReference) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "gref \(rawValue)" }
}
