/// Counters of one virtual disk (blkback's st_* counters, and a few more).
public struct BlockStatistics: Hashable, Sendable {
    /// Requests answered, whatever their status.
    public var requests: UInt64 = 0
    /// Xen: st_rd_req, st_wr_req, st_f_req, st_ds_req (indirect requests count as their
    /// read or write as well as in `indirectRequests`).
    public var readRequests: UInt64 = 0
    public var writeRequests: UInt64 = 0
    public var flushRequests: UInt64 = 0
    public var barrierRequests: UInt64 = 0
    public var discardRequests: UInt64 = 0
    public var indirectRequests: UInt64 = 0
    /// Xen: st_rd_sect, st_wr_sect — 512-byte sectors moved by successful requests.
    public var sectorsRead: UInt64 = 0
    public var sectorsWritten: UInt64 = 0
    /// Responses with BLKIF_RSP_ERROR / BLKIF_RSP_EOPNOTSUPP. Xen: st_oo_req is not kept
    /// (Kite never runs out of request slots).
    public var errorResponses: UInt64 = 0
    public var notSupportedResponses: UInt64 = 0
    /// Service passes run and events sent to the guest.
    public var passes: UInt64 = 0
    public var notifications: UInt64 = 0

    public init() {}

    public var bytesRead: UInt64 { sectorsRead &* 512 }
    public var bytesWritten: UInt64 { sectorsWritten &* 512 }
}
