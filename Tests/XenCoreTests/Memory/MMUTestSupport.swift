import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

/// PTE flags for hand-built tables.
enum PTEBits {
    static let p: UInt64 = 0x1
    static let rw: UInt64 = 0x2
    static let us: UInt64 = 0x4
    static let pwt: UInt64 = 0x8
    static let pcd: UInt64 = 0x10
    static let a: UInt64 = 0x20
    static let d: UInt64 = 0x40
    static let pse: UInt64 = 0x80
    static let g: UInt64 = 0x100
    static let nx: UInt64 = 1 << 63
    static let guestKernel: UInt64 = 1 << 52
    static let prw: UInt64 = p | rw
    static let pro: UInt64 = p
}

func makePTE(_ mfn: UInt64, _ flags: UInt64) -> UInt64 { (mfn << 12) | flags }

/// A four-level tree mapping `data` at `va` (one L1's worth at most).
struct PageTree {
    var l4: UInt64, l3: UInt64, l2: UInt64, l1: UInt64
    var data: [UInt64]
    var va: UInt64
    var tables: [UInt64] { [l4, l3, l2, l1] }
    var all: [UInt64] { tables + data }
}

/// A machine with PV domains and helpers to build page tables the way a domain builder does:
/// by writing entries straight into the domain's frames, then pinning.
final class MMUFixture {
    let ram: PhysicalMemory
    let machine: MachineMemory
    let tables: PVPageTables
    let dom: DomainMemory
    var context: MMUContext
    var actions = MMUActions()
    private var nextGFN: UInt64 = 0

    init(megabytes: UInt64 = 16, domain: UInt16 = 1, maxPages: UInt64 = 512) throws {
        ram = try PhysicalMemory(bytes: megabytes << 20)
        machine = try MachineMemory(memory: ram)
        tables = PVPageTables(machine: machine)
        dom = try DomainMemory(machine: machine, domain: DomainID(domain), maximumPages: maxPages)
        context = MMUContext(domain: DomainID(domain), vcpu: VCPUID(0))
    }

    var id: DomainID { dom.domain }

    /// A fresh frame of the domain (populate_physmap at the next guest frame).
    func frame(_ d: DomainMemory? = nil) throws -> UInt64 {
        let target = d ?? dom
        defer { nextGFN += 1 }
        return try target.populatePhysmap(gfn: GuestFrame(nextGFN + (target === dom ? 0 : 0x10000)), order: 0).rawValue
    }

    func write(_ mfn: UInt64, _ slot: Int, _ value: UInt64) {
        ram.store(value, at: MachineAddress((mfn << 12) + UInt64(slot) * 8))
    }
    func read(_ mfn: UInt64, _ slot: Int) -> UInt64 {
        ram.load(UInt64.self, at: MachineAddress((mfn << 12) + UInt64(slot) * 8)) ?? 0
    }
    func entryAddress(_ mfn: UInt64, _ slot: Int) -> UInt64 { (mfn << 12) + UInt64(slot) * 8 }
    func state(_ mfn: UInt64) -> FrameState { machine.frameState(MachineFrame(mfn))! }

    /// L4 → L3 → L2 → L1 → `pages` data frames at `va` (table links writable, data writable
    /// unless `readOnlyData`). Nothing is pinned.
    func buildTree(pages: Int = 2, va: UInt64 = 0x40_0000, readOnlyData: Bool = false) throws -> PageTree {
        let l4 = try frame(), l3 = try frame(), l2 = try frame(), l1 = try frame()
        var data: [UInt64] = []
        for _ in 0..<pages { data.append(try frame()) }
        write(l4, Int((va >> 39) & 511), makePTE(l3, PTEBits.prw))
        write(l3, Int((va >> 30) & 511), makePTE(l2, PTEBits.prw))
        write(l2, Int((va >> 21) & 511), makePTE(l1, PTEBits.prw))
        for (i, d) in data.enumerated() {
            write(l1, Int((va >> 12) & 511) + i, makePTE(d, readOnlyData ? PTEBits.p : PTEBits.prw))
        }
        return PageTree(l4: l4, l3: l3, l2: l2, l1: l1, data: data, va: va)
    }

    // MARK: Hypercall shorthands

    func ext(_ command: MMUExtCommand, _ arg1: UInt64 = 0, _ arg2: UInt64 = 0, bitmap: VCPUBitmap? = nil) throws(XenError) {
        try tables.mmuextOp(MMUExtRequest(command, arg1: arg1, arg2: arg2), context: &context, vcpuBitmap: bitmap,
                            actions: &actions)
    }

    func pin(_ mfn: UInt64, level: Int = 4) throws(XenError) {
        let cmd: [MMUExtCommand] = [.pinL1Table, .pinL2Table, .pinL3Table, .pinL4Table]
        try ext(cmd[level - 1], mfn)
    }

    func update(_ ptr: UInt64, _ val: UInt64, foreign: MMUForeignDomain = .selfDomain) throws(XenError) {
        let owners = try tables.resolveForeignDomain(foreign, caller: context.domain)
        try tables.mmuUpdate(MMUUpdateRequest(ptr: ptr, val: val), context: &context, owners: owners, actions: &actions)
    }

    /// MMU_NORMAL_PT_UPDATE of entry `slot` of table `mfn`.
    func set(_ mfn: UInt64, _ slot: Int, _ value: UInt64, preserveAD: Bool = false) throws(XenError) {
        try update(entryAddress(mfn, slot) | (preserveAD ? 2 : 0), value)
    }

    func uvm(_ va: UInt64, _ value: UInt64, flags: UInt64 = 0, bitmap: VCPUBitmap? = nil) throws(XenError) {
        try tables.updateVAMapping(va: va, value: value, flags: UpdateVAFlags(rawValue: flags), context: context,
                                   vcpuBitmap: bitmap, actions: &actions)
    }

    /// Pins `tree.l4` and makes it the vCPU's kernel base.
    func activate(_ tree: PageTree) throws {
        try pin(tree.l4)
        try ext(.newBaseptr, tree.l4)
    }

    // MARK: Checks

    /// Recomputes every reference of the domain's frames from the validated tables, the pins,
    /// the allocations, the vCPU bases and `extra` holders, and returns the differences.
    func referenceMismatches(extraGeneral: [UInt64: UInt32] = [:], extraType: [UInt64: UInt32] = [:]) -> [String] {
        var general: [UInt64: UInt32] = extraGeneral
        var typed: [UInt64: UInt32] = extraType
        var owned: [UInt64] = []
        for mfn in 0..<machine.frameCount {
            guard let s = machine.frameState(MachineFrame(mfn)), s.owner == id else { continue }
            owned.append(mfn)
            if s.isAllocated || s.isXenShared { general[mfn, default: 0] += 1 }
            if s.isXenShared { typed[mfn, default: 0] += 1 }
            if s.isPinned { general[mfn, default: 0] += 1; typed[mfn, default: 0] += 1 }
            guard s.isValidated, s.typeCount > 0 else { continue }
            for slot in 0..<512 {
                if s.type == .l4 && slot >= 256 && slot <= 271 { continue }
                let e = read(mfn, slot)
                guard e & PTEBits.p != 0, [PageType.l1, .l2, .l3, .l4].contains(s.type) else { continue }
                let target = (e & 0x000F_FFFF_FFFF_F000) >> 12
                if s.type != .l1 && target == mfn { continue }
                general[target, default: 0] += 1
                if s.type != .l1 || e & PTEBits.rw != 0 { typed[target, default: 0] += 1 }
            }
        }
        for b in [context.kernelBase, context.userBase].compactMap({ $0?.rawValue }) {
            general[b, default: 0] += 1
            typed[b, default: 0] += 1
        }
        var problems: [String] = []
        for mfn in owned {
            let s = state(mfn)
            if s.referenceCount != general[mfn, default: 0] || s.typeCount != typed[mfn, default: 0] {
                problems.append("mfn \(mfn): count \(s.referenceCount)/type \(s.typeCount), expected \(general[mfn, default: 0])/\(typed[mfn, default: 0]) [\(s)]")
            }
        }
        return problems
    }

    /// Both audits: the frame table's invariants and the exact reference counts.
    func expectConsistent(extraGeneral: [UInt64: UInt32] = [:], extraType: [UInt64: UInt32] = [:],
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let audit = machine.audit()
        #expect(audit.isEmpty, "\(audit)", sourceLocation: sourceLocation)
        let refs = referenceMismatches(extraGeneral: extraGeneral, extraType: extraType)
        #expect(refs.isEmpty, "\(refs)", sourceLocation: sourceLocation)
    }
}

/// Runs `body` and returns the Xen xenErrno it threw, or nil.
func xenErrno(_ body: () throws -> Void) -> XenError? {
    do {
        try body()
        return nil
    } catch let error as XenError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
