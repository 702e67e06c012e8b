import GuestMemory
import Synchronization
import X86
import XenABI

/// Host-side failures setting up machine memory or a domain's memory.
public enum MachineMemoryError: Error, Equatable, CustomStringConvertible {
    case tooSmall(frames: UInt64, needed: UInt64)
    case domainExists(DomainID)
    case invalidDomain(DomainID)
    case outOfFrames

    public var description: String {
        switch self {
        case .tooSmall(let f, let n):
            "machine memory of \(f) frames is too small: Kite's M2P alone needs \(n); give it more memory"
        case .domainExists(let d): "domain \(d) already has memory; release it before creating it again"
        case .invalidDomain(let d): "\(d) is a reserved domain id and cannot own memory"
        case .outOfFrames: "no free machine frames left for Kite's own tables; give the machine more memory"
        }
    }
}

/// All machine RAM with Xen's frame table: owner, type, type count, general count, pinned
/// and validated state per frame (Xen: `struct page_info`), the frame allocator, the
/// per-domain page accounts and the global machine-to-phys table (M2P).
///
/// The M2P lives in machine memory, in frames owned by DOMID_XEN, and is mapped read-only
/// and user-readable at 0xFFFF800000000000 (L4 slot 256) in every validated PV L4 through
/// Kite's own L3/L2/L1 tables, so guests read `machine_to_phys_mapping[mfn]` directly.
/// Frame 0 is reserved for Kite as well, so that MFN 0 can mean "no table".
///
/// Locking: one `Mutex` guards the whole frame table, allocator, accounts and M2P writes;
/// every page-table operation (validation included) runs under it, so two vCPUs pinning or
/// updating at once never see half-validated state. Lock order: `DomainMemory`'s physmap
/// lock, then this lock. Nothing is called out to while it is held except the descriptor
/// check a caller passes in. The CPU engine reads page tables and the M2P without the lock;
/// entries are replaced with 8-byte compare-exchanges so its atomic A/D updates are not lost.
public final class MachineMemory: Sendable {
    public let memory: PhysicalMemory
    public let frameCount: UInt64
    let state: Mutex<MemoryState>

    /// Takes over `memory` (which must be otherwise unused): reserves frame 0 and the M2P
    /// frames and tables for Kite and makes every other frame available.
    public init(memory: PhysicalMemory) throws(MachineMemoryError) {
        let n = memory.frameCount
        let m2pFrames = (n + 511) / 512
        let l1Count = (m2pFrames + 511) / 512
        let l2Count = (l1Count + 511) / 512
        let reserved = 1 + m2pFrames + l1Count + l2Count + 1
        guard l2Count <= 256, n >= reserved + 64 else { throw .tooSmall(frames: n, needed: reserved + 64) }
        self.memory = memory
        frameCount = n
        var s = MemoryState(
            ram: memory, frames: Array(repeating: FrameInfo(), count: Int(n)),
            allocator: FrameAllocator(frameCount: n), m2pBase: 1, m2pFrameCount: m2pFrames,
            m2pL3: reserved - 1)
        let kite = DomainID.xen.rawValue
        for f in 0..<reserved {
            s.frames[Int(f)] = FrameInfo(count: 1, typeCount: 0, owner: kite, type: .none, flags: .allocated)
        }
        // The M2P starts all invalid (0xFF bytes).
        for f in 1...m2pFrames {
            memory.pointer(to: MachineFrame(f))?.initializeMemory(as: UInt8.self, repeating: 0xFF, count: Int(pageSize))
        }
        // Kite's read-only, user-readable mapping of the M2P: L1s map the M2P frames, L2s the
        // L1s, one L3 the L2s. Leaves are NX; nothing is writable.
        let readOnly = PVEntry.present | PVEntry.user | PVEntry.accessed
        let firstL1 = 1 + m2pFrames
        let firstL2 = firstL1 + l1Count
        for i in 0..<m2pFrames {
            let slot = ((firstL1 + i / 512) << 12) + (i % 512) * 8
            memory.store(((1 + i) << 12) | readOnly | PVEntry.noExecute, at: MachineAddress(slot))
        }
        for i in 0..<l1Count {
            memory.store(((firstL1 + i) << 12) | readOnly, at: MachineAddress(((firstL2 + i / 512) << 12) + (i % 512) * 8))
        }
        for i in 0..<l2Count {
            memory.store(((firstL2 + i) << 12) | readOnly, at: MachineAddress(((reserved - 1) << 12) + i * 8))
        }
        for f in reserved..<n { s.allocator.release(f) }
        state = Mutex(s)
    }

    // MARK: Queries

    /// Xen: XENMEM_maximum_ram_page — max_page, one past the highest machine frame.
    public var maximumRAMPage: UInt64 { frameCount }

    /// The frame table entry of `frame`, or nil beyond RAM.
    public func frameState(_ frame: MachineFrame) -> FrameState? {
        state.withLock { s in
            frame.rawValue < s.frameCount ? FrameState(s.frames[Int(frame.rawValue)]) : nil
        }
    }

    /// `machine_to_phys_mapping[frame]` (INVALID_M2P_ENTRY for free frames and beyond RAM).
    public func machineToPhys(_ frame: MachineFrame) -> UInt64 {
        state.withLock { s in s.machineToPhys(frame.rawValue) }
    }

    /// The frames holding the M2P. Xen: XENMEM_machphys_mfn_list (privileged).
    public var machineToPhysFrames: [MachineFrame] {
        state.withLock { s in (0..<s.m2pFrameCount).map { MachineFrame(s.m2pBase + $0) } }
    }

    /// The L4 entry Kite installs in slot 256 of every validated L4 (read-only M2P).
    public var machineToPhysL4Entry: UInt64 { state.withLock { s in s.machineToPhysL4Entry } }

    public var freeFrameCount: UInt64 { state.withLock { s in s.allocator.freeCount } }

    /// True while `domain` has memory and is not being destroyed.
    public func domainExists(_ domain: DomainID) -> Bool {
        state.withLock { s in s.domainExists(domain) }
    }

    /// Installs the synchronous TLB shootdown Xen performs with IPIs: called with the machine
    /// lock held when a frame of a domain changes type (before the frame is validated) and
    /// when frames of a domain were freed (before anyone can allocate them), it must return
    /// only once no vCPU of that domain can use a translation it cached before the call.
    /// It must not call into `MachineMemory`, `DomainMemory` or `PVPageTables`, and must only
    /// wait for vCPUs inside the engine's run loop: a vCPU blocked in a hypercall is outside
    /// it and must drop its cached translations before it runs guest code again.
    /// Without a hook the same events produce `.flushTLB(.allVCPUs, .all)` actions, which are
    /// not enough against a guest racing its own vCPUs (tests only).
    public func setTLBShootdown(_ hook: TLBShootdown?) {
        state.withLock { s in s.shootdown = hook }
    }

    // MARK: Kite's own frames

    /// A zeroed frame owned by DOMID_XEN for Kite's own use; guests can never map it.
    public func allocateKiteFrame() throws(XenError) -> MachineFrame {
        let f: UInt64? = state.withLock { s in
            s.allocate(order: 0, below: s.frameCount, owner: DomainID.xen.rawValue, counted: false)
        }
        guard let f else { throw .ENOMEM }
        return MachineFrame(f)
    }

    /// Returns a frame from `allocateKiteFrame`; anything else is ignored.
    public func freeKiteFrame(_ frame: MachineFrame) {
        state.withLock { s in
            guard frame.rawValue < s.frameCount, frame.rawValue >= s.m2pL3 + 1 else { return }
            let f = s.frames[Int(frame.rawValue)]
            guard f.owner == DomainID.xen.rawValue, f.count == 1 else { return }
            s.putPage(frame.rawValue)
        }
    }

    /// Runs `body` under the lock with fresh effects, then turns the effects into actions.
    func operate<R: Sendable>(
        _ actions: inout MMUActions, _ body: (inout MemoryState) throws(XenError) -> R
    ) throws(XenError) -> R {
        let result: Result<R, XenError>
        let effects: OperationEffects
        (result, effects) = state.withLock { s in
            s.effects = OperationEffects()
            let r: Result<R, XenError>
            do throws(XenError) { r = .success(try body(&s)) } catch { r = .failure(error) }
            s.finishOperation()
            let e = s.effects
            s.effects = OperationEffects()
            return (r, e)
        }
        if effects.flushDomainTLBs { actions.append(.flushTLB(.allVCPUs, .all)) }
        if effects.invalidateLDTShadows { actions.append(.invalidateLDTShadow(.allVCPUs)) }
        return try result.get()
    }
}
