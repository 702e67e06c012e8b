/// Xen's paravirtual network interface, `public/io/netif.h`: two one-page shared rings per
/// vif (transmit: guest → backend, receive: backend → guest) in the generic `io/ring.h`
/// layout, plus xenstore keys (`NetInterfaceKeys`). The C names are those of Xen's header
/// (`netif_tx_request`, `NETTXF_*`); Linux's copy spells them `xen_netif_*`, `XEN_NETTXF_*`.
public enum NetInterface {
    /// Slots every backend must accept for one packet (Linux's old MAX_SKB_FRAGS).
    /// Xen: XEN_NETIF_NR_SLOTS_MIN
    public static let minimumSlotsPerPacket = 18
    /// The most request slots a packet may use in Kite (data slots, extras not counted):
    /// what Linux's netback calls XEN_NETBK_LEGACY_SLOTS_MAX (= XEN_NETIF_NR_SLOTS_MIN).
    public static let legacySlotsMaximum = 18
    /// The largest packet a transmit request can describe (its `size` is a u16).
    /// Xen: XEN_NETIF_MAX_TX_SIZE
    public static let maximumTransmitSize = 0xFFFF
    /// Xen: XEN_NETIF_MAX_XDP_HEADROOM
    public static let maximumXDPHeadroom = 0x7FFF
    /// Multicast addresses a frontend may register (Linux netback's XEN_NETBK_MCAST_MAX).
    public static let maximumMulticastAddresses = 64
    /// Bytes of a ring page and of a data page a slot points into. Xen: XEN_PAGE_SIZE
    public static let pageSize = 4096
}

/// The generic shared-ring page of `io/ring.h` as netif uses it (one page per ring).
///
/// | off | field |
/// |-----|-------|
/// | 0   | u32 req_prod (frontend) |
/// | 4   | u32 req_event (backend: notify me when req_prod passes this) |
/// | 8   | u32 rsp_prod (backend) |
/// | 12  | u32 rsp_event (frontend: notify me when rsp_prod passes this) |
/// | 16  | u8 pvt[4], then padding to 64 |
/// | 64  | union { request, response } ring[RING_SIZE] |
public enum NetRingLayout {
    /// Xen: `struct netif_tx_sring.req_prod` (and rx)
    public static let requestProducerOffset = 0
    /// Xen: req_event
    public static let requestEventOffset = 4
    /// Xen: rsp_prod
    public static let responseProducerOffset = 8
    /// Xen: rsp_event
    public static let responseEventOffset = 12
    /// Xen: offsetof(struct netif_tx_sring, ring) — the same for every ring.h ring.
    public static let entriesOffset = 64

    /// Size of one transmit slot: union { netif_tx_request (12), netif_tx_response (4) }.
    /// Xen: sizeof(union netif_tx_sring_entry)
    public static let transmitEntrySize = 12
    /// Size of one receive slot: union { netif_rx_request (8), netif_rx_response (8) }.
    /// Xen: sizeof(union netif_rx_sring_entry)
    public static let receiveEntrySize = 8
    /// Entries of a one-page transmit ring: the largest power of two ≤ (4096 − 64) / 12.
    /// Xen: NET_TX_RING_SIZE / __CONST_RING_SIZE(netif_tx, 4096)
    public static let transmitRingSize = ringSize(entrySize: transmitEntrySize)
    /// Entries of a one-page receive ring (4032 / 8 = 504 → 256). Xen: NET_RX_RING_SIZE
    public static let receiveRingSize = ringSize(entrySize: receiveEntrySize)

    /// Xen: __RING_SIZE — the largest power of two of entries that fit after the header.
    public static func ringSize(entrySize: Int, pageBytes: Int = NetInterface.pageSize) -> Int {
        guard entrySize > 0, pageBytes > entriesOffset else { return 0 }
        let fit = (pageBytes - entriesOffset) / entrySize
        var size = 1
        while size * 2 <= fit { size *= 2 }
        return fit == 0 ? 0 : size
    }

    /// Byte offset of slot `index` (masked into the ring) on a transmit ring page.
    public static func transmitSlotOffset(_ index: UInt32) -> Int {
        entriesOffset + Int(index & UInt32(transmitRingSize - 1)) * transmitEntrySize
    }

    /// Byte offset of slot `index` (masked into the ring) on a receive ring page.
    public static func receiveSlotOffset(_ index: UInt32) -> Int {
        entriesOffset + Int(index & UInt32(receiveRingSize - 1)) * receiveEntrySize
    }
}

/// Flags of a transmit request. Xen: `NETTXF_*` (io/netif.h).
public struct NetTransmitFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The protocol checksum is blank (partial: the pseudo-header sum only) and must be
    /// filled by whoever cannot pass the offload on. Xen: NETTXF_csum_blank
    public static let checksumBlank = NetTransmitFlags(rawValue: 1 << 0)
    /// Xen: NETTXF_data_validated
    public static let dataValidated = NetTransmitFlags(rawValue: 1 << 1)
    /// The packet continues in the next request. Xen: NETTXF_more_data
    public static let moreData = NetTransmitFlags(rawValue: 1 << 2)
    /// Extra-info slots follow this request. Xen: NETTXF_extra_info
    public static let extraInfo = NetTransmitFlags(rawValue: 1 << 3)
}

/// Flags of a receive response. Xen: `NETRXF_*` (io/netif.h).
public struct NetReceiveFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Xen: NETRXF_data_validated
    public static let dataValidated = NetReceiveFlags(rawValue: 1 << 0)
    /// Xen: NETRXF_csum_blank
    public static let checksumBlank = NetReceiveFlags(rawValue: 1 << 1)
    /// Xen: NETRXF_more_data
    public static let moreData = NetReceiveFlags(rawValue: 1 << 2)
    /// Xen: NETRXF_extra_info
    public static let extraInfo = NetReceiveFlags(rawValue: 1 << 3)
    /// Deprecated. Xen: NETRXF_gso_prefix
    public static let gsoPrefix = NetReceiveFlags(rawValue: 1 << 4)
}

/// Status of a transmit response; a receive response's status is this when negative,
/// else the byte count of its slot. Xen: `XEN_NETIF_RSP_*` (older: `NETIF_RSP_*`).
public enum NetResponseStatus: Int16, Sendable, CaseIterable {
    /// Xen: XEN_NETIF_RSP_DROPPED
    case dropped = -2
    /// Xen: XEN_NETIF_RSP_ERROR
    case error = -1
    /// Xen: XEN_NETIF_RSP_OKAY
    case okay = 0
    /// The slot held an extra-info request: no response. Xen: XEN_NETIF_RSP_NULL
    case null = 1
}

/// Kinds of `netif_extra_info` slots. Xen: `XEN_NETIF_EXTRA_TYPE_*`.
public enum NetExtraInfoType: UInt8, Sendable, CaseIterable {
    /// Never valid. Xen: XEN_NETIF_EXTRA_TYPE_NONE
    case none = 0
    /// Xen: XEN_NETIF_EXTRA_TYPE_GSO
    case gso = 1
    /// Xen: XEN_NETIF_EXTRA_TYPE_MCAST_ADD
    case multicastAdd = 2
    /// Xen: XEN_NETIF_EXTRA_TYPE_MCAST_DEL
    case multicastDelete = 3
    /// Xen: XEN_NETIF_EXTRA_TYPE_HASH
    case hash = 4
    /// Xen: XEN_NETIF_EXTRA_TYPE_XDP
    case xdp = 5

    /// One past the last valid type. Xen: XEN_NETIF_EXTRA_TYPE_MAX
    public static let limit: UInt8 = 6
}

/// Flags of an extra-info slot. Xen: `XEN_NETIF_EXTRA_FLAG_*`.
public enum NetExtraInfoFlag {
    /// Another extra-info slot follows. Xen: XEN_NETIF_EXTRA_FLAG_MORE
    public static let more: UInt8 = 1 << 0
}

/// Segmentation offload kinds. Xen: `XEN_NETIF_GSO_TYPE_*`.
public enum NetGSOType: UInt8, Sendable, CaseIterable {
    /// Xen: XEN_NETIF_GSO_TYPE_NONE
    case none = 0
    /// Xen: XEN_NETIF_GSO_TYPE_TCPV4
    case tcpv4 = 1
    /// Xen: XEN_NETIF_GSO_TYPE_TCPV6
    case tcpv6 = 2
}
