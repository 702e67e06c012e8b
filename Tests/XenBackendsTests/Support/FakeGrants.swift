import GuestMemory
import Synchronization
import XenABI
import XenControl

/// A mock of dom0's grant access: every (domain, ref) the test grants is a frame of a small
/// host `PhysicalMemory`; maps and unmaps are counted so tests see what a backend holds.
final class FakeGrants: GrantMapper, @unchecked Sendable {
    struct Key: Hashable { var domain: DomainID; var ref: GrantReference }
    struct State {
        var granted: [Key: MachineFrame] = [:]
        var live: [UInt32: Key] = [:]
        var nextHandle: UInt32 = 1
        var maps = 0
        var unmaps = 0
        var failMaps: GrantStatus?
    }

    let memory: PhysicalMemory
    let state = Mutex(State())
    private let nextFrame = Mutex<UInt64>(0)

    init(frames: UInt64 = 16) {
        // A test that cannot get 64 KiB of host memory cannot run anyway.
        memory = (try? PhysicalMemory(bytes: frames * 4096)) ?? { fatalError("no host memory for the fake grants") }()
    }

    /// Grants a fresh zeroed page as `ref` of `domain`; returns its host pointer.
    @discardableResult
    func grant(_ domain: DomainID, _ ref: GrantReference) -> UnsafeMutableRawPointer {
        let frame = nextFrame.withLock { n -> MachineFrame in
            defer { n += 1 }
            return MachineFrame(n)
        }
        _ = memory.zero(frame)
        state.withLock { $0.granted[Key(domain: domain, ref: ref)] = frame }
        return page(frame)
    }

    func page(_ frame: MachineFrame) -> UnsafeMutableRawPointer {
        memory.pointer(to: frame) ?? { fatalError("frame \(frame) outside the fake memory") }()
    }

    var liveMappings: Int { state.withLock { $0.live.count } }
    var mapCount: Int { state.withLock { $0.maps } }
    var unmapCount: Int { state.withLock { $0.unmaps } }

    func map(domain: DomainID, ref: GrantReference, readOnly: Bool) throws(GrantError) -> GrantMapping {
        let result = state.withLock { s -> Result<(UInt32, MachineFrame), GrantError> in
            if let failure = s.failMaps { return .failure(GrantError(failure)) }
            guard let frame = s.granted[Key(domain: domain, ref: ref)] else { return .failure(GrantError(.badGrantReference)) }
            let handle = s.nextHandle
            s.nextHandle += 1
            s.live[handle] = Key(domain: domain, ref: ref)
            s.maps += 1
            return .success((handle, frame))
        }
        switch result {
        case .failure(let error): throw error
        case .success(let (handle, frame)):
            return GrantMapping(domain: domain, ref: ref, handle: GrantHandle(handle), isReadOnly: readOnly, frame: frame,
                                page: page(frame), memory: memory)
        }
    }

    func unmap(_ mapping: GrantMapping) throws(GrantError) {
        let ok = state.withLock { s -> Bool in
            guard s.live.removeValue(forKey: mapping.handle.rawValue) != nil else { return false }
            s.unmaps += 1
            return true
        }
        guard ok else { throw GrantError(.badHandle) }
    }

    func copy(_ operations: [GrantCopy]) -> [GrantStatus] {
        operations.map { _ in .generalError }
    }
}
