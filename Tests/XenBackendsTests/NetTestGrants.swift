import GuestMemory
import Synchronization
import XenABI
import XenControl

/// dom0's grant access for the net tests: like `FakeGrants`, but grant copy works the way
/// Xen's GNTTABOP_copy does for domain 0 (bounds: offset + length within the page; the
/// destination grant must be writable; an unknown ref is GNTST_bad_gntref), and refs can
/// be made to fail.
final class NetTestGrants: GrantMapper, @unchecked Sendable {
    struct Key: Hashable { var domain: DomainID; var ref: GrantReference }
    struct Grant { var frame: MachineFrame; var readOnly: Bool }
    struct State {
        var granted: [Key: Grant] = [:]
        var live: [UInt32: Key] = [:]
        var nextHandle: UInt32 = 1
        var nextFrame: UInt64 = 0
        var copies = 0
        var failing: Set<Key> = []
    }

    let memory: PhysicalMemory
    let frames: UInt64
    let state = Mutex(State())

    init(frames: UInt64 = 8192) {
        self.frames = frames
        memory = (try? PhysicalMemory(bytes: frames * 4096)) ?? { fatalError("no host memory for the net test grants") }()
    }

    /// Grants a fresh zeroed page as `ref` of `domain`; returns its host pointer.
    @discardableResult
    func grant(_ domain: DomainID, _ ref: GrantReference, readOnly: Bool = false) -> UnsafeMutableRawPointer {
        let frame = state.withLock { s -> MachineFrame in
            if let existing = s.granted[Key(domain: domain, ref: ref)] {
                s.granted[Key(domain: domain, ref: ref)]?.readOnly = readOnly
                return existing.frame
            }
            precondition(s.nextFrame < frames, "out of test frames")
            defer { s.nextFrame += 1 }
            let frame = MachineFrame(s.nextFrame)
            s.granted[Key(domain: domain, ref: ref)] = Grant(frame: frame, readOnly: readOnly)
            return frame
        }
        _ = memory.zero(frame)
        return page(frame)
    }

    func revoke(_ domain: DomainID, _ ref: GrantReference) {
        state.withLock { _ = $0.granted.removeValue(forKey: Key(domain: domain, ref: ref)) }
    }

    func failCopies(_ domain: DomainID, _ ref: GrantReference) {
        state.withLock { _ = $0.failing.insert(Key(domain: domain, ref: ref)) }
    }

    func page(_ frame: MachineFrame) -> UnsafeMutableRawPointer {
        memory.pointer(to: frame) ?? { fatalError("frame \(frame) outside the test memory") }()
    }

    func page(_ domain: DomainID, _ ref: GrantReference) -> UnsafeMutableRawPointer? {
        state.withLock { $0.granted[Key(domain: domain, ref: ref)] }.map { page($0.frame) }
    }

    var liveMappings: Int { state.withLock { $0.live.count } }
    var copyCount: Int { state.withLock { $0.copies } }

    func map(domain: DomainID, ref: GrantReference, readOnly: Bool) throws(GrantError) -> GrantMapping {
        let result = state.withLock { s -> Result<(UInt32, Grant), GrantError> in
            guard let grant = s.granted[Key(domain: domain, ref: ref)] else { return .failure(GrantError(.badGrantReference)) }
            if grant.readOnly && !readOnly { return .failure(GrantError(.permissionDenied)) }
            let handle = s.nextHandle
            s.nextHandle += 1
            s.live[handle] = Key(domain: domain, ref: ref)
            return .success((handle, grant))
        }
        switch result {
        case .failure(let error): throw error
        case .success(let (handle, grant)):
            return GrantMapping(domain: domain, ref: ref, handle: GrantHandle(handle), isReadOnly: readOnly,
                                frame: grant.frame, page: page(grant.frame), memory: memory)
        }
    }

    func unmap(_ mapping: GrantMapping) throws(GrantError) {
        let ok = state.withLock { $0.live.removeValue(forKey: mapping.handle.rawValue) != nil }
        guard ok else { throw GrantError(.badHandle) }
    }

    func copy(_ operations: [GrantCopy]) -> [GrantStatus] {
        operations.map { copyOne($0) }
    }

    private func resolve(_ domain: DomainID, _ ref: GrantReference, offset: UInt16, length: UInt16, write: Bool)
        -> Result<UnsafeMutableRawPointer, GrantStatus>
    {
        state.withLock { s in
            let key = Key(domain: domain, ref: ref)
            if s.failing.contains(key) { return .failure(.generalError) }
            guard let grant = s.granted[key] else { return .failure(.badGrantReference) }
            if write && grant.readOnly { return .failure(.permissionDenied) }
            guard Int(offset) + Int(length) <= 4096 else { return .failure(.badCopyArgument) }
            return .success(page(grant.frame) + Int(offset))
        }
    }

    private func copyOne(_ op: GrantCopy) -> GrantStatus {
        state.withLock { $0.copies += 1 }
        let source: UnsafeRawPointer
        switch op.source {
        case .grant(let d, let ref, let offset):
            switch resolve(d, ref, offset: offset, length: op.length, write: false) {
            case .failure(let s): return s
            case .success(let p): source = UnsafeRawPointer(p)
            }
        case .buffer(let b):
            guard let base = b.baseAddress, Int(op.length) <= b.count else { return .badCopyArgument }
            source = base
        }
        let destination: UnsafeMutableRawPointer
        switch op.destination {
        case .grant(let d, let ref, let offset):
            switch resolve(d, ref, offset: offset, length: op.length, write: true) {
            case .failure(let s): return s
            case .success(let p): destination = p
            }
        case .buffer(let b):
            guard let base = b.baseAddress, Int(op.length) <= b.count else { return .badCopyArgument }
            destination = base
        }
        destination.copyMemory(from: source, byteCount: Int(op.length))
        return .okay
    }
}
