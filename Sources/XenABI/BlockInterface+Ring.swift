/// The blkif shared ring (`DEFINE_RING_TYPES(blkif, ...)` of public/io/ring.h, x86_64
/// ABI): a 64-byte header, then `ringSize` slots, each a union of request and response
/// (112 bytes). A ring of 2^order pages is one array across pages that the backend maps
/// one by one, so a slot may straddle two pages.
///
/// | off | field |
/// |-----|-------|
/// | 0   | RING_IDX req_prod — next slot the frontend fills (free-running u32) |
/// | 4   | RING_IDX req_event — the backend wants an event when req_prod passes it |
/// | 8   | RING_IDX rsp_prod — next slot the backend fills |
/// | 12  | RING_IDX rsp_event — the frontend wants an event when rsp_prod passes it |
/// | 16  | u8 pvt[4], u8 __pad[44] |
/// | 64  | union blkif_sring_entry ring[RING_SIZE] |
public enum BlockRingLayout {
    /// Xen: sring->req_prod
    public static let requestProducer = 0
    /// Xen: sring->req_event
    public static let requestEvent = 4
    /// Xen: sring->rsp_prod
    public static let responseProducer = 8
    /// Xen: sring->rsp_event
    public static let responseEvent = 12
    /// Xen: offsetof(struct blkif_sring, ring)
    public static let entries = 64
    /// Xen: sizeof(union blkif_sring_entry) — the request is the larger member.
    public static let entrySize = BlockRequestLayout.size
    public static let pageSize = 4096

    /// Slots in a ring of `pages` pages: the largest power of two not above
    /// (bytes − 64) / 112. Xen: __RING_SIZE / __CONST_RING_SIZE. 32 for one page.
    public static func ringSize(pages: Int) -> Int {
        guard pages > 0, pages <= Int.max / pageSize else { return 0 }
        let fit = (pages * pageSize - entries) / entrySize
        guard fit > 0 else { return 0 }
        var size = 1
        while size * 2 <= fit { size *= 2 }
        return size
    }

    /// Byte offset in the ring of the slot holding index `index`. Xen: RING_GET_REQUEST /
    /// RING_GET_RESPONSE (`idx & (RING_SIZE - 1)`). `ringSize` must be a power of two.
    public static func slotOffset(_ index: UInt32, ringSize: Int) -> Int {
        entries + Int(index & UInt32(truncatingIfNeeded: ringSize &- 1)) * entrySize
    }

    /// Whether the producer, having moved from `old` to `new`, must notify the other end
    /// whose event index is `event`. Xen: RING_PUSH_{REQUESTS,RESPONSES}_AND_CHECK_NOTIFY
    /// — `(RING_IDX)(new - event) < (RING_IDX)(new - old)`.
    public static func needsNotification(old: UInt32, new: UInt32, event: UInt32) -> Bool {
        (new &- event) < (new &- old)
    }
}
