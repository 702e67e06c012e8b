import GuestMemory
import Synchronization
import Testing
import X86
import X86Interpreter
import XenABI
import XenControl

@testable import XenCore

/// A Hypervisor with PV guests built the way the domain builder builds them: page tables in
/// the guest's own frames, validated and pinned by `Domain.boot`, so that grant mappings go
/// through the real PV MMU.
///
/// Guest layout (linear → guest frame): code 0x400000 (gfn 0-1), stack 0x500000-0x503FFF
/// (gfn 2-5), data 0x600000-0x607FFF (gfn 6-13; results at 0x607000), a window 0x800000
/// whose first page maps gfn 14 and whose other slots are free for grant mappings, the
/// grant table's frame 0 at 0x900000. Page tables from gfn 32.
final class GrantTestMachine: @unchecked Sendable {
    let hypervisor: Hypervisor

    init(megabytes: UInt64 = 24) throws {
        hypervisor = try Hypervisor(machineBytes: megabytes << 20, engines: InterpreterFactory())
    }

    var machine: MachineMemory { hypervisor.machine }
    var ram: PhysicalMemory { hypervisor.machine.memory }

    func guest(_ id: UInt16, pages: UInt64 = 64, code: [UInt8] = GuestCode.halt) throws -> GrantGuest {
        try GrantGuest(machine: self, id: DomainID(id), pages: pages, code: code)
    }

    /// Xen's domain destruction order: the domain's own mappings first, then its memory.
    @discardableResult
    func destroy(_ guest: GrantGuest) -> ReleaseReport? {
        guest.domain.releaseGrantMappings()
        return hypervisor.destroy(guest.id)
    }

    /// (general, type) reference counts of a frame.
    func references(_ frame: UInt64) -> (UInt32, UInt32) {
        let s = machine.frameState(MachineFrame(frame))
        return (s?.referenceCount ?? 0, s?.typeCount ?? 0)
    }

    func expectConsistent(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = machine.audit()
        #expect(problems.isEmpty, "\(comment?.rawValue ?? "audit"): \(problems)", sourceLocation: sourceLocation)
    }
}

final class GrantGuest: @unchecked Sendable {
    static let code: UInt64 = 0x40_0000
    static let stackTop: UInt64 = 0x50_4000
    static let data: UInt64 = 0x60_0000
    static let results: UInt64 = 0x60_7000
    static let window: UInt64 = 0x80_0000
    static let grantTable: UInt64 = 0x90_0000

    let owner: GrantTestMachine
    let domain: Domain
    let id: DomainID

    init(machine: GrantTestMachine, id: DomainID, pages: UInt64, code: [UInt8]) throws {
        owner = machine
        self.id = id
        domain = try machine.hypervisor.createDomain(DomainConfiguration(id: id, memoryPages: pages), console: { _ in })
        guard let memory = domain.memory, let grants = domain.grants else { throw GrantTestError.noMemory }
        let ram = machine.ram
        var next: UInt64 = 32
        var tables = try PageTableBuilder(memory: ram) {
            defer { next += 1 }
            return memory.machineFrame(for: GuestFrame(next))
        }
        func frame(_ gfn: UInt64) throws -> MachineFrame {
            guard let f = memory.machineFrame(for: GuestFrame(gfn)) else { throw GrantTestError.noMemory }
            return f
        }
        let rw = PTE.writable
        for i in 0..<UInt64(2) { try tables.map(linear: Self.code + i * 0x1000, to: frame(i), flags: 0) }
        for i in 0..<UInt64(4) { try tables.map(linear: Self.stackTop - 0x4000 + i * 0x1000, to: frame(2 + i), flags: rw) }
        for i in 0..<UInt64(8) { try tables.map(linear: Self.data + i * 0x1000, to: frame(6 + i), flags: rw) }
        try tables.map(linear: Self.window, to: frame(14), flags: rw)
        try tables.map(linear: Self.grantTable, to: grants.frames[0], flags: rw)
        ram.write(code, at: try frame(0).address)
        try domain.boot(rip: Self.code, rsp: Self.stackTop, startInfo: 0, topLevelTable: tables.root,
                        using: machine.hypervisor.pageTables)
    }

    var vcpu: PVVCPU { domain.vcpus[0] }
    var memory: DomainMemory { domain.memory! }
    var grants: GrantTable { domain.grants! }

    /// The machine frame behind guest frame `gfn`.
    func frame(_ gfn: UInt64) -> UInt64 { memory.machineFrame(for: GuestFrame(gfn))?.rawValue ?? 0 }
    /// The machine frame behind a data-area linear address.
    func dataFrame(_ linear: UInt64) -> UInt64 { frame(6 + (linear - Self.data) / 0x1000) }

    private func address(_ linear: UInt64) -> MachineAddress {
        MachineAddress((dataFrame(linear) << 12) + (linear & 0xFFF))
    }
    func store<T: FixedWidthInteger>(_ value: T, at linear: UInt64) { owner.ram.store(value, at: address(linear)) }
    func load<T: FixedWidthInteger>(_: T.Type, at linear: UInt64) -> T { owner.ram.load(T.self, at: address(linear)) ?? 0 }
    func result(_ i: Int) -> UInt64 { load(UInt64.self, at: Self.results + UInt64(i) * 8) }
    func bytes(_ linear: UInt64, _ count: Int) -> [UInt8] { owner.ram.read(at: address(linear), count: count) ?? [] }
    func write(_ bytes: [UInt8], at linear: UInt64) { owner.ram.write(bytes, at: address(linear)) }

    /// Writes grant entry `ref` as a guest does: frame and domid, then the flags.
    func grant(_ ref: UInt32, to domid: UInt16, frame: UInt64, flags: GrantEntryFlags = .permitAccess) {
        let base = MachineAddress(grants.frames[Int(ref) / 512].address.rawValue + UInt64(ref % 512) * 8)
        owner.ram.store(UInt32(truncatingIfNeeded: frame), at: MachineAddress(base.rawValue + 4))
        owner.ram.store(domid, at: MachineAddress(base.rawValue + 2))
        owner.ram.store(flags.rawValue, at: base)
    }

    func entryFlags(_ ref: UInt32) -> GrantEntryFlags {
        grants.entry(GrantReference(ref))?.flags ?? []
    }

    /// The L1 entry mapping `va` in the guest's tables.
    func pte(_ va: UInt64) -> UInt64 {
        guard let base = vcpu.pv.kernelBase, let a = owner.hypervisor.pageTables.l1EntryAddress(for: va, base: base) else {
            return 0
        }
        return owner.ram.load(UInt64.self, at: a) ?? 0
    }

    /// Runs the guest until it shuts down.
    @discardableResult
    func run(limit: UInt64 = 5_000_000) -> VCPUStop { vcpu.run(maxInstructions: limit) }

    /// grant_table_op(cmd, uop, count) through the hypercall table, as if the guest kernel
    /// issued it (arguments in guest memory, translated through its tables).
    func op(_ cmd: GrantTableOp, _ uop: UInt64, count: UInt32 = 1, raw: UInt32? = nil) -> HypercallOutcome {
        vcpu.call(Hypercall.grantTableOp.rawValue, HypercallArguments([UInt64(raw ?? cmd.rawValue), uop, UInt64(count)]))
    }

    /// `op` run to completion through its continuations; returns rax and the number of
    /// invocations.
    func opToCompletion(_ cmd: GrantTableOp, _ uop: UInt64, count: UInt32) -> (UInt64, Int) {
        var args = HypercallArguments([UInt64(cmd.rawValue), uop, UInt64(count)])
        var invocations = 0
        while true {
            invocations += 1
            switch vcpu.call(Hypercall.grantTableOp.rawValue, args) {
            case .value(let v): return (v, invocations)
            case .preempted(let next): args = next
            case .registersLoaded: return (.max, invocations)
            }
        }
    }

    func status(at linear: UInt64) -> GrantStatus? { GrantStatus(rawValue: load(Int16.self, at: linear)) }
}

enum GrantTestError: Error { case noMemory }

extension HypercallOutcome {
    /// The errno a failed call returned, nil for success.
    var errno: XenError? {
        guard case .value(let v) = self, v != 0 else { return nil }
        return XenError(rawValue: -Int64(bitPattern: v))
    }
    var isSuccess: Bool { self == .success }
}

extension GuestCode {
    /// A program that shuts down at once.
    static var halt: [UInt8] {
        var c = GuestCode()
        c.shutdown()
        return c.bytes
    }

    /// mov rax, [abs64]
    mutating func grantLoadRAX(_ address: UInt64) { raw([0x48, 0xA1] + Self.le(address, 8)) }

    /// grant_table_op(cmd, uop, count), rax stored in result slot `slot`.
    mutating func grantOp(_ cmd: GrantTableOp, _ uop: UInt64, count: UInt64 = 1, slot: Int) {
        hypercall(.grantTableOp, UInt64(cmd.rawValue), uop, count)
        storeRAX(at: GrantGuest.results + UInt64(slot) * 8)
    }
}

/// Builders of GNTTABOP argument structures in a guest's data area.
extension GrantGuest {
    func writeMap(at a: UInt64, hostAddress: UInt64, flags: GrantMapFlags, ref: UInt32, dom: UInt16) {
        typealias M = GrantTableArgs.Map
        write([UInt8](repeating: 0, count: M.size), at: a)
        store(hostAddress, at: a + UInt64(M.hostAddress))
        store(flags.rawValue, at: a + UInt64(M.flags))
        store(ref, at: a + UInt64(M.ref))
        store(dom, at: a + UInt64(M.dom))
        store(UInt16(0x7777), at: a + UInt64(M.status))
    }

    func writeUnmap(at a: UInt64, hostAddress: UInt64, busAddress: UInt64 = 0, handle: UInt32) {
        typealias U = GrantTableArgs.Unmap
        store(hostAddress, at: a + UInt64(U.hostAddress))
        store(busAddress, at: a + UInt64(U.deviceBusAddress))
        store(handle, at: a + UInt64(U.handle))
        store(UInt16(0x7777), at: a + UInt64(U.status))
    }

    func writeCopy(at a: UInt64, source: (UInt64, UInt16, UInt16), destination: (UInt64, UInt16, UInt16),
                   length: UInt16, flags: GrantCopyFlags) {
        typealias C = GrantTableArgs.Copy
        write([UInt8](repeating: 0, count: C.size), at: a)
        for (base, p) in [(C.source, source), (C.destination, destination)] {
            store(p.0, at: a + UInt64(base + C.pointerRefOrFrame))
            store(p.1, at: a + UInt64(base + C.pointerDomain))
            store(p.2, at: a + UInt64(base + C.pointerOffset))
        }
        store(length, at: a + UInt64(C.length))
        store(flags.rawValue, at: a + UInt64(C.flags))
        store(UInt16(0x7777), at: a + UInt64(C.status))
    }

    func mapStatus(_ a: UInt64) -> GrantStatus? { status(at: a + UInt64(GrantTableArgs.Map.status)) }
    func mapHandle(_ a: UInt64) -> UInt32 { load(UInt32.self, at: a + UInt64(GrantTableArgs.Map.handle)) }
    func unmapStatus(_ a: UInt64) -> GrantStatus? { status(at: a + UInt64(GrantTableArgs.Unmap.status)) }
    func copyStatus(_ a: UInt64) -> GrantStatus? { status(at: a + UInt64(GrantTableArgs.Copy.status)) }
}
