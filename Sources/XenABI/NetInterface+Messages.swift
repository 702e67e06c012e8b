/// One transmit request as the guest wrote it (12 bytes, copied out of the ring once).
/// Xen: `struct netif_tx_request` — u32 gref @0, u16 offset @4, u16 flags @6, u16 id @8,
/// u16 size @10. The first request of a packet carries the whole packet's size.
public struct NetTransmitRequest: Hashable, Sendable {
    public static let size = 12
    public static let grantOffset = 0, offsetOffset = 4, flagsOffset = 6, idOffset = 8, sizeOffset = 10

    /// Xen: gref
    public var grant: GrantReference
    /// Xen: offset — where the data starts in the granted page.
    public var offset: UInt16
    /// Xen: flags (NETTXF_*)
    public var flags: NetTransmitFlags
    /// Xen: id — echoed in the response.
    public var id: UInt16
    /// Xen: size
    public var size: UInt16

    public init(grant: GrantReference, offset: UInt16, flags: NetTransmitFlags, id: UInt16, size: UInt16) {
        self.grant = grant
        self.offset = offset
        self.flags = flags
        self.id = id
        self.size = size
    }

    /// Decodes 12 little-endian bytes at `base`.
    public init(loadingFrom base: UnsafeRawPointer) {
        grant = GrantReference(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: Self.grantOffset, as: UInt32.self)))
        offset = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.offsetOffset, as: UInt16.self))
        flags = NetTransmitFlags(rawValue: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.flagsOffset, as: UInt16.self)))
        id = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.idOffset, as: UInt16.self))
        size = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.sizeOffset, as: UInt16.self))
    }

    public func store(to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: grant.rawValue.littleEndian, toByteOffset: Self.grantOffset, as: UInt32.self)
        base.storeBytes(of: offset.littleEndian, toByteOffset: Self.offsetOffset, as: UInt16.self)
        base.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: Self.flagsOffset, as: UInt16.self)
        base.storeBytes(of: id.littleEndian, toByteOffset: Self.idOffset, as: UInt16.self)
        base.storeBytes(of: size.littleEndian, toByteOffset: Self.sizeOffset, as: UInt16.self)
    }
}

/// Xen: `struct netif_tx_response` — u16 id @0, i16 status @2 (4 bytes in a 12-byte slot).
public struct NetTransmitResponse: Hashable, Sendable {
    public static let size = 4
    public static let idOffset = 0, statusOffset = 2

    public var id: UInt16
    /// Xen: status (XEN_NETIF_RSP_*)
    public var status: Int16

    public init(id: UInt16, status: NetResponseStatus) {
        self.id = id
        self.status = status.rawValue
    }

    public init(loadingFrom base: UnsafeRawPointer) {
        id = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.idOffset, as: UInt16.self))
        status = Int16(littleEndian: base.loadUnaligned(fromByteOffset: Self.statusOffset, as: Int16.self))
    }

    public func store(to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: id.littleEndian, toByteOffset: Self.idOffset, as: UInt16.self)
        base.storeBytes(of: status.littleEndian, toByteOffset: Self.statusOffset, as: Int16.self)
    }
}

/// Xen: `struct netif_rx_request` — u16 id @0, u16 pad @2, u32 gref @4: an empty page the
/// guest granted (writable) for the backend to fill.
public struct NetReceiveRequest: Hashable, Sendable {
    public static let size = 8
    public static let idOffset = 0, grantOffset = 4

    public var id: UInt16
    /// Xen: gref
    public var grant: GrantReference

    public init(id: UInt16, grant: GrantReference) {
        self.id = id
        self.grant = grant
    }

    public init(loadingFrom base: UnsafeRawPointer) {
        id = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.idOffset, as: UInt16.self))
        grant = GrantReference(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: Self.grantOffset, as: UInt32.self)))
    }

    public func store(to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: id.littleEndian, toByteOffset: Self.idOffset, as: UInt16.self)
        base.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
        base.storeBytes(of: grant.rawValue.littleEndian, toByteOffset: Self.grantOffset, as: UInt32.self)
    }
}

/// Xen: `struct netif_rx_response` — u16 id @0, u16 offset @2, u16 flags @4, i16 status @6
/// (> 0: bytes in this slot; < 0: XEN_NETIF_RSP_* or a GNTST code).
public struct NetReceiveResponse: Hashable, Sendable {
    public static let size = 8
    public static let idOffset = 0, offsetOffset = 2, flagsOffset = 4, statusOffset = 6

    public var id: UInt16
    public var offset: UInt16
    public var flags: NetReceiveFlags
    public var status: Int16

    public init(id: UInt16, offset: UInt16, flags: NetReceiveFlags, status: Int16) {
        self.id = id
        self.offset = offset
        self.flags = flags
        self.status = status
    }

    public init(loadingFrom base: UnsafeRawPointer) {
        id = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.idOffset, as: UInt16.self))
        offset = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.offsetOffset, as: UInt16.self))
        flags = NetReceiveFlags(rawValue: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: Self.flagsOffset, as: UInt16.self)))
        status = Int16(littleEndian: base.loadUnaligned(fromByteOffset: Self.statusOffset, as: Int16.self))
    }

    public func store(to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: id.littleEndian, toByteOffset: Self.idOffset, as: UInt16.self)
        base.storeBytes(of: offset.littleEndian, toByteOffset: Self.offsetOffset, as: UInt16.self)
        base.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: Self.flagsOffset, as: UInt16.self)
        base.storeBytes(of: status.littleEndian, toByteOffset: Self.statusOffset, as: Int16.self)
    }
}

/// An extra-info slot (8 bytes; in a transmit slot followed by 4 bytes of padding).
/// Xen: `struct netif_extra_info` — u8 type @0, u8 flags @1, union u @2: gso {u16 size @2,
/// u8 type @4, u8 pad @5, u16 features @6}, mcast {u8 addr[6] @2}, hash {u8 type @2,
/// u8 algorithm @3, u8 value[4] @4}, xdp {u16 headroom @2}.
public struct NetExtraInfo: Hashable, Sendable {
    public static let size = 8
    public static let typeOffset = 0, flagsOffset = 1, unionOffset = 2
    public static let gsoSizeOffset = 2, gsoTypeOffset = 4, gsoFeaturesOffset = 6
    public static let multicastAddressOffset = 2
    public static let xdpHeadroomOffset = 2

    /// Xen: type — raw, since a hostile frontend can write anything (`NetExtraInfoType`).
    public var type: UInt8
    /// Xen: flags (XEN_NETIF_EXTRA_FLAG_*)
    public var flags: UInt8
    /// Xen: u — the six bytes of the union, in ring order.
    public var payload: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(type: UInt8, flags: UInt8, payload: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)) {
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    public init(loadingFrom base: UnsafeRawPointer) {
        type = base.load(fromByteOffset: Self.typeOffset, as: UInt8.self)
        flags = base.load(fromByteOffset: Self.flagsOffset, as: UInt8.self)
        let p = base + Self.unionOffset
        payload = (p.load(as: UInt8.self), p.load(fromByteOffset: 1, as: UInt8.self), p.load(fromByteOffset: 2, as: UInt8.self),
                   p.load(fromByteOffset: 3, as: UInt8.self), p.load(fromByteOffset: 4, as: UInt8.self),
                   p.load(fromByteOffset: 5, as: UInt8.self))
    }

    public func store(to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: type, toByteOffset: Self.typeOffset, as: UInt8.self)
        base.storeBytes(of: flags, toByteOffset: Self.flagsOffset, as: UInt8.self)
        let bytes = payloadBytes
        for (i, b) in bytes.enumerated() { base.storeBytes(of: b, toByteOffset: Self.unionOffset + i, as: UInt8.self) }
    }

    public var payloadBytes: [UInt8] { [payload.0, payload.1, payload.2, payload.3, payload.4, payload.5] }
    public var hasMore: Bool { flags & NetExtraInfoFlag.more != 0 }
    public var knownType: NetExtraInfoType? { NetExtraInfoType(rawValue: type) }

    /// Xen: u.gso.size — the segment size (MSS).
    public var gsoSize: UInt16 { UInt16(payload.0) | UInt16(payload.1) << 8 }
    /// Xen: u.gso.type
    public var gsoType: UInt8 { payload.2 }
    /// Xen: u.gso.features
    public var gsoFeatures: UInt16 { UInt16(payload.4) | UInt16(payload.5) << 8 }
    /// Xen: u.mcast.addr
    public var multicastAddress: [UInt8] { payloadBytes }

    /// A GSO extra (`XEN_NETIF_EXTRA_TYPE_GSO`).
    public static func gso(size: UInt16, type: NetGSOType, features: UInt16 = 0, more: Bool = false) -> NetExtraInfo {
        NetExtraInfo(type: NetExtraInfoType.gso.rawValue, flags: more ? NetExtraInfoFlag.more : 0,
                     payload: (UInt8(truncatingIfNeeded: size), UInt8(truncatingIfNeeded: size >> 8), type.rawValue, 0,
                               UInt8(truncatingIfNeeded: features), UInt8(truncatingIfNeeded: features >> 8)))
    }

    /// A multicast filter change (`XEN_NETIF_EXTRA_TYPE_MCAST_ADD`/`_DEL`); `address` must hold 6 bytes.
    public static func multicast(_ add: Bool, address: [UInt8], more: Bool = false) -> NetExtraInfo {
        let a = address + [UInt8](repeating: 0, count: max(0, 6 - address.count))
        return NetExtraInfo(type: (add ? NetExtraInfoType.multicastAdd : .multicastDelete).rawValue,
                            flags: more ? NetExtraInfoFlag.more : 0, payload: (a[0], a[1], a[2], a[3], a[4], a[5]))
    }

    public static func == (l: NetExtraInfo, r: NetExtraInfo) -> Bool {
        l.type == r.type && l.flags == r.flags && l.payloadBytes == r.payloadBytes
    }
    public func hash(into h: inout Hasher) {
        h.combine(type)
        h.combine(flags)
        h.combine(payloadBytes)
    }
}
