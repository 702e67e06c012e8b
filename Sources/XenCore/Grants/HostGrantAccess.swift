import GuestMemory
import Synchronization
import XenABI
import XenControl

/// Kite's own grant mappings and copies as domain 0: what backends use to reach guest pages.
/// A mapping is a host pointer into machine RAM; the granted frame holds a reference (and a
/// writable type reference unless read-only) until `unmap`, so a guest can neither free it
/// nor make it a page table meanwhile, and a guest that dies leaves it allocated until then.
/// Xen: dom0's grant operations through gntdev / libxengnttab.
///
/// Locking: the maptrack lock, then the granting table's locks (as for any mapper).
public final class HostGrantAccess: GrantMapper {
    private let lookup: @Sendable (DomainID) -> Domain?
    private let machine: MachineMemory
    /// Kite's maptrack: one slot per live mapping.
    let maptrack: Mutex<Maptrack>

    /// Backends' access to the guests of `hypervisor`, with at most `maximumMaptrackFrames`
    /// × 256 simultaneous mappings (Xen's dom0 default: 1024 frames).
    public convenience init(hypervisor: Hypervisor,
                            maximumMaptrackFrames: UInt32 = GrantTableLimits.defaultMaximumMaptrackFrames) {
        self.init(machine: hypervisor.machine, maximumMaptrackFrames: maximumMaptrackFrames) { [weak hypervisor] id in
            hypervisor?.domain(id)
        }
    }

    /// `lookup` finds live guest domains by id (the hypervisor's table, an event hub).
    init(machine: MachineMemory, maximumMaptrackFrames: UInt32, lookup: @escaping @Sendable (DomainID) -> Domain?) {
        self.machine = machine
        self.lookup = lookup
        maptrack = Mutex(Maptrack(maximumFrames: maximumMaptrackFrames))
    }

    /// Live mappings.
    public var mappingCount: Int { maptrack.withLock { $0.inUse } }

    /// The granting table of a guest, or the status Xen gives for the domain.
    private func table(_ domain: DomainID) -> Result<GrantTable, GrantStatus> {
        guard domain < .firstReserved, domain != .controlDomain, let d = lookup(domain) else { return .failure(.badDomain) }
        guard let t = d.grants else { return .failure(.badDomain) }
        return .success(t)
    }

    public func map(domain: DomainID, ref: GrantReference, readOnly: Bool) throws(GrantError) -> GrantMapping {
        let granter: GrantTable
        switch table(domain) {
        case .failure(let s): throw GrantError(s)
        case .success(let t): granter = t
        }
        var flags = GrantMapFlags.hostMap
        if readOnly { flags.insert(.readOnly) }
        var actions = MMUActions()
        let result = GrantMappings.map(
            into: maptrack, grantee: .controlDomain, granter: granter, ref: ref.rawValue, flags: flags, hostAddress: 0,
            pte: nil, actions: &actions)
        switch result {
        case .failure(let s): throw GrantError(s)
        case .success(let (handle, frame)):
            guard let page = machine.memory.pointer(to: MachineFrame(frame)) else {
                // Unreachable for a frame that took a reference; give it back all the same.
                unmapHandle(handle, expect: nil)
                throw GrantError(.generalError)
            }
            return GrantMapping(
                domain: domain, ref: ref, handle: GrantHandle(handle), isReadOnly: readOnly, frame: MachineFrame(frame),
                page: page, memory: machine.memory)
        }
    }

    public func unmap(_ mapping: GrantMapping) throws(GrantError) {
        let status = unmapHandle(mapping.handle.rawValue, expect: (mapping.domain, mapping.ref.rawValue))
        guard status == .okay else { throw GrantError(status) }
    }

    @discardableResult
    private func unmapHandle(_ handle: UInt32, expect: (DomainID, UInt32)?) -> GrantStatus {
        var actions = MMUActions()
        // Kite's mappings are pointers: no PTE to zap and no TLB to flush before the
        // references go.
        let (status, pending) = GrantMappings.beginUnmap(
            from: maptrack, handle: handle, hostAddress: 1, busAddress: 0, newAddress: 0, pte: nil, expect: expect,
            actions: &actions)
        if let pending { GrantMappings.completeUnmap(pending, actions: &actions) }
        return status
    }

    public func copy(_ operations: [GrantCopy]) -> [GrantStatus] {
        operations.map { copyOne($0) }
    }

    /// Xen: gnttab_copy_one for domain 0, with Kite's buffers where dom0 names its own frames.
    private func copyOne(_ op: GrantCopy) -> GrantStatus {
        var sourceTable: GrantTable?
        var destinationTable: GrantTable?
        // Xen: gnttab_copy_lock_domains — source first.
        if case .grant(let d, _, _) = op.source {
            switch table(d) {
            case .failure(let s): return s
            case .success(let t): sourceTable = t
            }
        }
        if case .grant(let d, _, _) = op.destination {
            switch table(d) {
            case .failure(let s): return s
            case .success(let t): destinationTable = t
            }
        }
        let src: ClaimedCopyBuffer
        let sourceOffset: Int
        switch op.source {
        case .grant(_, let ref, let offset):
            guard let sourceTable else { return .badDomain }
            switch GrantCopyEngine.claimGrant(sourceTable, ref: ref.rawValue, grantee: .controlDomain, readOnly: true) {
            case .failure(let s): return s
            case .success(let b): src = b
            }
            sourceOffset = Int(offset)
        case .buffer(let b):
            guard let base = b.baseAddress else { return .badCopyArgument }
            src = GrantCopyEngine.host(UnsafeMutableRawPointer(mutating: base), count: b.count, readOnly: true)
            sourceOffset = 0
        }
        let dst: ClaimedCopyBuffer
        let destinationOffset: Int
        switch op.destination {
        case .grant(_, let ref, let offset):
            guard let destinationTable else {
                GrantCopyEngine.release(src, machine: machine)
                return .badDomain
            }
            switch GrantCopyEngine.claimGrant(destinationTable, ref: ref.rawValue, grantee: .controlDomain, readOnly: false) {
            case .failure(let s):
                GrantCopyEngine.release(src, machine: machine)
                return s
            case .success(let b): dst = b
            }
            destinationOffset = Int(offset)
        case .buffer(let b):
            guard let base = b.baseAddress else {
                GrantCopyEngine.release(src, machine: machine)
                return .badCopyArgument
            }
            dst = GrantCopyEngine.host(base, count: b.count, readOnly: false)
            destinationOffset = 0
        }
        let status = GrantCopyEngine.copy(
            from: src, offset: sourceOffset, to: dst, offset: destinationOffset, length: Int(op.length), ram: machine.memory)
        GrantCopyEngine.release(src, machine: machine)
        GrantCopyEngine.release(dst, machine: machine)
        return status
    }
}

extension Hypervisor {
    /// The grant access Kite's backends use (one per hypervisor: it owns dom0's maptrack).
    public func makeGrantMapper(maximumMaptrackFrames: UInt32 = GrantTableLimits.defaultMaximumMaptrackFrames) -> HostGrantAccess {
        HostGrantAccess(hypervisor: self, maximumMaptrackFrames: maximumMaptrackFrames)
    }
}
