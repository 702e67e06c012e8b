import Foundation
import GuestMemory
import XenABI

/// One side of a grant copy once claimed: the bytes, the part of the page the grant allows,
/// and what must be given back. Xen: struct gnttab_copy_buf.
struct ClaimedCopyBuffer: @unchecked Sendable {
    enum Bytes {
        case frame(UInt64)
        /// Kite's own memory (a backend's buffer).
        case host(UnsafeMutableRawPointer, count: Int)
    }
    var bytes: Bytes
    let readOnly: Bool
    /// Xen: buf->ptr.offset and buf->len — always the whole page for version-1 grants.
    var start = 0
    var length = Int(pageSize)
    /// A general reference to drop. Xen: buf->page.
    var referencedFrame: UInt64?
    /// A writable type reference on `referencedFrame`. Xen: buf->have_type.
    var typed = false
    /// The acquired grant. Xen: buf->have_grant.
    var grant: (table: GrantTable, ref: UInt32)?
}

/// GNTTABOP_copy's mechanics, shared by guests and Kite's own copies.
/// Xen: gnttab_copy_claim_buf, gnttab_copy_buf, gnttab_copy_release_buf.
enum GrantCopyEngine {
    /// Acquires a grant for reading (source) or writing (destination); a destination also
    /// needs a writable type on the page.
    static func claimGrant(_ table: GrantTable, ref: UInt32, grantee: DomainID, readOnly: Bool) -> Result<ClaimedCopyBuffer, GrantStatus> {
        let acquired: AcquiredGrant
        switch table.acquireForCopy(ref, grantee: grantee, readOnly: readOnly) {
        case .failure(let status): return .failure(status)
        case .success(let a): acquired = a
        }
        var buffer = ClaimedCopyBuffer(bytes: .frame(acquired.frame), readOnly: readOnly)
        buffer.referencedFrame = acquired.referencedFrame
        buffer.grant = (table, ref)
        if !readOnly {
            var actions = MMUActions()
            let typed = table.memory.machine.grantOperation(&actions) { $0.getPageType(acquired.referencedFrame, .writable) == nil }
            // Xen: "Could not get writable frame".
            guard typed else {
                release(buffer, machine: table.memory.machine)
                return .failure(.generalError)
            }
            buffer.typed = true
        }
        return .success(buffer)
    }

    /// A frame of the calling guest itself (DOMID_SELF with a gmfn, which for PV is a
    /// machine frame). Xen: the get_paged_frame path of gnttab_copy_claim_buf.
    static func claimOwnFrame(_ frame: UInt64, owner: DomainID, readOnly: Bool, machine: MachineMemory) -> Result<ClaimedCopyBuffer, GrantStatus> {
        var actions = MMUActions()
        let status = machine.grantOperation(&actions) { s -> GrantStatus in
            guard s.getPage(frame, owner: owner.rawValue) else { return .badPage }
            if !readOnly && s.getPageType(frame, .writable) != nil {
                s.putPage(frame)
                return .generalError
            }
            return .okay
        }
        guard status == .okay else { return .failure(status) }
        var buffer = ClaimedCopyBuffer(bytes: .frame(frame), readOnly: readOnly)
        buffer.referencedFrame = frame
        buffer.typed = !readOnly
        return .success(buffer)
    }

    /// Kite's own memory as one side of a copy.
    static func host(_ pointer: UnsafeMutableRawPointer, count: Int, readOnly: Bool) -> ClaimedCopyBuffer {
        var buffer = ClaimedCopyBuffer(bytes: .host(pointer, count: count), readOnly: readOnly)
        buffer.length = count
        return buffer
    }

    /// Gives back what a claim took. Xen: gnttab_copy_release_buf.
    static func release(_ buffer: ClaimedCopyBuffer, machine: MachineMemory) {
        if let g = buffer.grant { g.table.releaseForCopy(g.ref, readOnly: buffer.readOnly) }
        guard let frame = buffer.referencedFrame else { return }
        var actions = MMUActions()
        machine.grantOperation(&actions) { s in
            if buffer.typed { s.putPageType(frame) }
            s.putPage(frame)
        }
    }

    /// Copies `length` bytes after Xen's checks: the range within a page
    /// (GNTST_bad_copy_arg), then within what each grant allows (GNTST_general_error).
    /// Xen: gnttab_copy_buf.
    static func copy(
        from source: ClaimedCopyBuffer, offset sourceOffset: Int, to destination: ClaimedCopyBuffer,
        offset destinationOffset: Int, length: Int, ram: PhysicalMemory
    ) -> GrantStatus {
        let page = Int(pageSize)
        guard sourceOffset + length <= page, destinationOffset + length <= page else { return .badCopyArgument }
        for (b, o) in [(source, sourceOffset), (destination, destinationOffset)] {
            if case .host(_, let count) = b.bytes, o + length > count { return .badCopyArgument }
            guard o >= b.start, o + length <= b.start + b.length else { return .generalError }
        }
        guard length > 0 else { return .okay }
        guard let from = pointer(source, sourceOffset, length, ram), let to = pointer(destination, destinationOffset, length, ram)
        else { return .generalError }
        memmove(to, from, length)
        if case .frame(let f) = destination.bytes {
            ram.noteWrite(MachineAddress((f << 12) + UInt64(destinationOffset)), length: UInt64(length))
        }
        return .okay
    }

    private static func pointer(_ b: ClaimedCopyBuffer, _ offset: Int, _ length: Int, _ ram: PhysicalMemory) -> UnsafeMutableRawPointer? {
        switch b.bytes {
        case .frame(let f):
            return ram.pointer(to: MachineAddress((f << 12) + UInt64(offset)), length: UInt64(length))
        case .host(let p, _):
            return p + offset
        }
    }
}
