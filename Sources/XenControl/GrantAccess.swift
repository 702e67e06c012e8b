import GuestMemory
import XenABI

/// Why a grant operation failed: the GNTST code Xen would have reported to a dom0 backend.
public struct GrantError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: GrantStatus
    public init(_ status: GrantStatus) { self.status = status }
    public var description: String { "grant operation failed: \(status) (GNTST \(status.rawValue))" }
}

/// A guest page a backend mapped through a grant: a host pointer to the 4 KiB frame, valid
/// until `unmap`. The granted frame holds a reference for as long as the mapping exists, so
/// it stays allocated (even if its domain dies) until the backend unmaps it.
/// Xen: what gntdev/xengnttab_map_grant_ref give dom0 user space.
public struct GrantMapping: @unchecked Sendable, Hashable {
    /// The granting domain and its reference.
    public let domain: DomainID
    public let ref: GrantReference
    /// Presented to `unmap`. Xen: the map op's handle.
    public let handle: GrantHandle
    public let isReadOnly: Bool
    /// The machine frame behind the page. Xen: dev_bus_addr >> 12.
    public let frame: MachineFrame
    /// The 4 KiB page in Kite's own address space.
    public let page: UnsafeMutableRawPointer
    private let memory: PhysicalMemory

    public init(domain: DomainID, ref: GrantReference, handle: GrantHandle, isReadOnly: Bool, frame: MachineFrame,
                page: UnsafeMutableRawPointer, memory: PhysicalMemory) {
        self.domain = domain
        self.ref = ref
        self.handle = handle
        self.isReadOnly = isReadOnly
        self.frame = frame
        self.page = page
        self.memory = memory
    }

    /// The page's bytes for reading.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: page, count: Int(pageSize)) }

    /// The page's bytes for writing; nil for a read-only mapping.
    public var mutableBytes: UnsafeMutableRawBufferPointer? {
        isReadOnly ? nil : UnsafeMutableRawBufferPointer(start: page, count: Int(pageSize))
    }

    /// Tell Kite a backend wrote `[offset, offset+length)` of the page: the dirty log (live
    /// migration) and the CPU's decoded-code cache learn of it. Call before notifying the
    /// guest when the mapping stays (persistent grants); `unmap` does it for the whole page.
    public func noteWrite(offset: Int = 0, length: Int = Int(pageSize)) {
        guard !isReadOnly, offset >= 0, length > 0, offset <= Int(pageSize) - length else { return }
        memory.noteWrite(MachineAddress(frame.address.rawValue + UInt64(offset)), length: UInt64(length))
    }

    public static func == (a: GrantMapping, b: GrantMapping) -> Bool {
        a.domain == b.domain && a.ref == b.ref && a.handle == b.handle && a.frame == b.frame
    }
    public func hash(into h: inout Hasher) {
        h.combine(handle)
        h.combine(frame)
    }
}

/// Where a grant copy reads from.
public enum GrantCopySource {
    /// `[offset, offset+length)` of the page `ref` of `domain` grants (read access suffices).
    case grant(DomainID, GrantReference, offset: UInt16)
    /// Kite's own memory (what DOMID_SELF + gmfn are to a dom0 in Xen).
    case buffer(UnsafeRawBufferPointer)
}

/// Where a grant copy writes to.
public enum GrantCopyDestination {
    /// `[offset, offset+length)` of the page `ref` of `domain` grants (write access needed).
    case grant(DomainID, GrantReference, offset: UInt16)
    /// Kite's own memory.
    case buffer(UnsafeMutableRawBufferPointer)
}

/// One GNTTABOP_copy operation as a backend issues it. Xen: struct gnttab_copy.
public struct GrantCopy {
    public var source: GrantCopySource
    public var destination: GrantCopyDestination
    public var length: UInt16
    public init(source: GrantCopySource, destination: GrantCopyDestination, length: UInt16) {
        self.source = source
        self.destination = destination
        self.length = length
    }
}

/// The grant half of dom0's interface: how backends reach guest memory, only through grants
/// the guest gave them. Xen: libxengnttab (xengnttab_map_grant_ref, _unmap, _grant_copy).
///
/// Every failure is the GNTST code Xen gives for the same request. A backend keeps its
/// mappings few and short-lived: each one counts against Kite's maptrack limit.
public protocol GrantMapper: Sendable {
    /// Maps the page `ref` of `domain` grants to Kite. Xen: GNTTABOP_map_grant_ref with
    /// GNTMAP_host_map (and GNTMAP_readonly) issued by domain 0.
    func map(domain: DomainID, ref: GrantReference, readOnly: Bool) throws(GrantError) -> GrantMapping

    /// Ends a mapping: the page pointer must not be used afterwards. Xen:
    /// GNTTABOP_unmap_grant_ref. A handle not (or no longer) mapped: GNTST_bad_handle.
    func unmap(_ mapping: GrantMapping) throws(GrantError)

    /// Runs copies in order, each independently; returns one status per operation.
    /// Xen: GNTTABOP_copy issued by domain 0.
    func copy(_ operations: [GrantCopy]) -> [GrantStatus]
}

extension GrantMapper {
    /// One copy; throws its status unless it is GNTST_okay.
    public func copy(_ operation: GrantCopy) throws(GrantError) {
        let status = copy([operation]).first ?? .generalError
        guard status == .okay else { throw GrantError(status) }
    }
}
