import XenABI

/// Why a vif stopped being serviced: something a correct frontend cannot do. Each is
/// netback's fatal-error path (`xenvif_fatal_tx_err`): the device is disabled, its rings
/// are no longer touched, and nothing else happens to the guest or the host.
///
/// Kite is stricter than Linux's netback in three places, on purpose (a frontend that does
/// these is broken, and a single rule is easier to trust): a packet shorter than an
/// Ethernet header, fragments larger than the declared packet, and a transmit grant that
/// cannot be copied are fatal here where netback answers XEN_NETIF_RSP_ERROR.
public enum NetDeviceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// req_prod is more than a ring ahead of the backend's consumer.
    case transmitIndex(consumer: UInt32, producer: UInt32)
    case receiveIndex(consumer: UInt32, producer: UInt32)
    /// A packet shorter than the 14-byte Ethernet header (zero-sized included).
    case runtPacket(id: UInt16, size: UInt16)
    /// More follow-on slots than XEN_NETBK_LEGACY_SLOTS_MAX.
    case tooManySlots(id: UInt16, slots: Int)
    /// NETTXF_more_data on the last request the frontend has produced.
    case unterminatedChain(id: UInt16)
    /// NETTXF_extra_info (or XEN_NETIF_EXTRA_FLAG_MORE) on the last request produced.
    case missingExtraInfo(id: UInt16)
    /// An extra-info type outside 1..<XEN_NETIF_EXTRA_TYPE_MAX.
    case badExtraInfoType(id: UInt16, type: UInt8)
    /// offset + size of a slot runs past its 4 KiB page.
    case crossesPage(id: UInt16, offset: UInt16, size: Int)
    /// The fragments add up to more than the first request's packet size.
    case oversized(id: UInt16, declared: UInt16, fragments: Int)
    /// A transmit grant could not be copied.
    case badGrant(GrantReference, GrantStatus)

    public var description: String {
        switch self {
        case .transmitIndex(let c, let p):
            "transmit ring req_prod \(p) is \(p &- c) ahead of req_cons \(c) (ring size 256): broken frontend"
        case .receiveIndex(let c, let p):
            "receive ring req_prod \(p) is \(p &- c) ahead of req_cons \(c) (ring size 256): broken frontend"
        case .runtPacket(let id, let size):
            "transmit request \(id): packet of \(size) bytes is shorter than an Ethernet header"
        case .tooManySlots(let id, let slots):
            "transmit request \(id): packet uses \(slots) follow-on slots, more than \(NetInterface.legacySlotsMaximum)"
        case .unterminatedChain(let id):
            "transmit request \(id): NETTXF_more_data but no further request was produced"
        case .missingExtraInfo(let id):
            "transmit request \(id): extra info announced but not produced"
        case .badExtraInfoType(let id, let type):
            "transmit request \(id): extra info of invalid type \(type)"
        case .crossesPage(let id, let offset, let size):
            "transmit request \(id): offset \(offset) + size \(size) crosses the page"
        case .oversized(let id, let declared, let fragments):
            "transmit request \(id): fragments hold \(fragments) bytes, more than the declared \(declared)"
        case .badGrant(let ref, let status):
            "transmit \(ref) could not be copied: \(status)"
        }
    }
}
