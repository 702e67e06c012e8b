/// One Ethernet frame travelling between vifs, switches and the user-mode network: the
/// bytes from the destination MAC on (no preamble, no FCS) and what is known about its
/// transport checksum.
public struct NetFrame: Sendable, Equatable {
    /// What the sender said about the TCP/UDP checksum.
    public enum Checksum: Sendable, Equatable {
        /// Nothing: the checksum in the bytes is whatever the sender wrote (complete).
        case none
        /// Blank: the checksum field holds only the pseudo-header sum, to be completed by
        /// whoever cannot pass the offload on (Xen: NETTXF_csum_blank; Linux
        /// CHECKSUM_PARTIAL).
        case partial
        /// The sender vouches for the data (Xen: NETTXF_data_validated alone).
        case validated
    }

    public var bytes: [UInt8]
    public var checksum: Checksum

    public init(bytes: [UInt8], checksum: Checksum = .none) {
        self.bytes = bytes
        self.checksum = checksum
    }

    /// Destination and source addresses, EtherType: 14 bytes. Shorter frames are runts.
    public static let headerSize = 14
    /// Ethernet's payload limit without jumbo frames (the default vif MTU).
    public static let standardMTU = 1500

    public var count: Int { bytes.count }
    public var destination: MACAddress? { bytes.withUnsafeBytes { MACAddress($0, at: 0) } }
    public var source: MACAddress? { bytes.withUnsafeBytes { MACAddress($0, at: 6) } }
    /// The EtherType (0x0800 IPv4, 0x0806 ARP, 0x86DD IPv6, 0x8100 a VLAN tag).
    public var etherType: UInt16? {
        guard bytes.count >= Self.headerSize else { return nil }
        return UInt16(bytes[12]) << 8 | UInt16(bytes[13])
    }

    /// Completes a partial checksum in place (see `NetChecksum.completePartial`); afterwards
    /// the frame is an ordinary one. Frames whose protocol Kite cannot parse stay as they
    /// are and lose the flag (what a NIC without offload would have sent).
    public mutating func completeChecksum() {
        guard checksum == .partial else { return }
        NetChecksum.completePartial(&bytes)
        checksum = .none
    }
}

/// Something that takes Ethernet frames: a vif's receive side, a virtual switch port's
/// ingress, the user-mode network, a test's capture. `deliver` never blocks and may be
/// called from any thread; it returns false when the frame was dropped (a full queue, a
/// closed port) — the sender counts it and moves on, as an Ethernet would.
public protocol NetFrameSink: AnyObject, Sendable {
    @discardableResult
    func deliver(_ frame: NetFrame) -> Bool
}
