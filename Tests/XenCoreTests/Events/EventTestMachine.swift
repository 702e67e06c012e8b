import GuestMemory
import Synchronization
import X86
import X86Interpreter
import XenABI
import XenControl

@testable import XenCore

/// A PV domain of up to four vCPUs on hand-built, identity-mapped page tables (linear
/// address = machine address), for the event-channel, timer and vCPU tests.
///
/// Layout: code of vCPU i at 0x400000 + i·0x1000, event callback at 0x404000, stacks below
/// 0x510000 + i·0x10000, data 0x600000–0x607FFF, shared_info 0x700000 (every vcpu_info
/// starts masked, as Xen's builder leaves it).
final class EventTestMachine {
    static let code: UInt64 = 0x40_0000
    static let callback: UInt64 = 0x40_4000
    static let data: UInt64 = 0x60_0000
    static let sharedInfo: UInt64 = 0x70_0000
    static func stackTop(_ vcpu: Int) -> UInt64 { 0x51_0000 + UInt64(vcpu) * 0x1_0000 }
    /// Where a test guest stores hypercall results: slot i at data + 0x1000 + 8·i.
    static func result(_ i: Int) -> UInt64 { data + 0x1000 + UInt64(i) * 8 }

    let memory: PhysicalMemory
    let domain: Domain
    let pageTable: MachineFrame
    let console = ConsoleCapture()

    /// `code[i]` is vCPU i's program; vCPUs listed in `offline` are not given a boot state.
    init(code: [[UInt8]], callback: [UInt8] = [], offline: Set<Int> = [], id: DomainID = DomainID(1),
         memory shared: PhysicalMemory? = nil) throws {
        memory = try shared ?? PhysicalMemory(bytes: 32 << 20)
        let sharedFrame = MachineFrame(Self.sharedInfo >> 12)
        memory.zero(sharedFrame)
        for v in 0..<SharedInfoLayout.legacyMaxVCPUs {
            memory.store(UInt8(1), at: MachineAddress(Self.sharedInfo + UInt64(64 * v + VCPUInfoLayout.upcallMask)))
        }
        let sink = console
        domain = Domain(id: id, machine: memory, sharedInfoFrame: sharedFrame) { bytes in
            sink.bytes.withLock { $0 += bytes }
        }
        var frame: UInt64 = 0x100
        var tables = try PageTableBuilder(memory: memory) {
            defer { frame += 1 }
            return MachineFrame(frame)
        }
        let rw = PTE.writable | PTE.user
        try tables.mapRange(linear: Self.code, length: 0x5000, to: MachineFrame(Self.code >> 12), flags: PTE.user)
        try tables.mapRange(linear: 0x50_0000, length: 0x4_0000, to: MachineFrame(0x500), flags: rw)
        try tables.mapRange(linear: Self.data, length: 0x8000, to: MachineFrame(Self.data >> 12), flags: rw)
        try tables.map(linear: Self.sharedInfo, to: sharedFrame, flags: rw)
        pageTable = tables.root
        for (i, program) in code.enumerated() {
            memory.write(program, at: MachineAddress(Self.code + UInt64(i) * 0x1000))
        }
        memory.write(callback, at: MachineAddress(Self.callback))
        for i in 0..<code.count {
            let vcpu = domain.addVCPU(engine: InterpreterFactory().makeVirtualCPU(memory: memory, translation: IdentityTranslation(memory: memory)))
            if !offline.contains(i) {
                vcpu.setBootState(rip: Self.code + UInt64(i) * 0x1000, rsp: Self.stackTop(i), startInfo: 0, pageTable: tables.root)
                vcpu.publishTimeInfo()
            }
        }
    }

    var vcpu: PVVCPU { domain.vcpus[0] }

    /// Runs vCPU 0 on the calling thread (single-vCPU tests).
    @discardableResult
    func run(limit: UInt64 = 1_000_000) -> VCPUStop { vcpu.run(maxInstructions: limit) }

    /// Runs every vCPU on its own thread until the domain shuts down.
    func runAll(limit: UInt64 = 50_000_000) {
        let runner = DomainRunner(domain: domain)
        runner.start(maxInstructions: limit)
        runner.wait()
    }

    func load64(_ address: UInt64) -> UInt64 { memory.load(UInt64.self, at: MachineAddress(address)) ?? 0xDEAD }
    func load32(_ address: UInt64) -> UInt32 { memory.load(UInt32.self, at: MachineAddress(address)) ?? 0xDEAD }
    func load8(_ address: UInt64) -> UInt8 { memory.load(UInt8.self, at: MachineAddress(address)) ?? 0xDE }
    func store(_ value: some FixedWidthInteger, at address: UInt64) { memory.store(value, at: MachineAddress(address)) }
    func result(_ i: Int) -> UInt64 { load64(Self.result(i)) }

    /// vcpu_info field of vCPU `v` in shared_info.
    func vcpuInfo(_ v: Int, _ offset: Int) -> UInt64 { Self.sharedInfo + UInt64(64 * v + offset) }

    func isPending(_ port: UInt32) -> Bool {
        load64(Self.sharedInfo + UInt64(SharedInfoLayout.eventChannelPending) + UInt64(port / 64) * 8) & (1 << UInt64(port % 64)) != 0
    }

    func setMasked(_ port: UInt32, _ masked: Bool) {
        let a = Self.sharedInfo + UInt64(SharedInfoLayout.eventChannelMask) + UInt64(port / 64) * 8
        let w = load64(a)
        store(masked ? w | (1 << UInt64(port % 64)) : w & ~(1 << UInt64(port % 64)), at: a)
    }

    var consoleText: String { String(decoding: console.bytes.withLock { $0 }, as: UTF8.self) }
}

/// Builds test guest programs: hypercalls whose results go to numbered result slots.
struct EventProgram {
    var code = GuestCode()
    private var slot = 0

    /// Emits the hypercall and stores rax into the next result slot; returns the slot.
    @discardableResult
    mutating func call(_ number: Hypercall, _ args: UInt64...) -> Int {
        code.movImm(0, number.rawValue)
        for (i, a) in args.enumerated() where i < 5 { code.movImm([7, 6, 2, 10, 8][i], a) }
        code.raw([0x0F, 0x05])
        lastReturnOffset = code.here
        return storeResult()
    }

    /// event_channel_op(cmd, arg) with its result stored.
    @discardableResult
    mutating func evtchn(_ op: EventChannelOp, _ arg: UInt64) -> Int {
        call(.eventChannelOp, UInt64(op.rawValue), arg)
    }

    /// vcpu_op(cmd, vcpu, arg) with its result stored.
    @discardableResult
    mutating func vcpuOp(_ op: VCPUOp, _ vcpu: UInt64, _ arg: UInt64) -> Int {
        call(.vcpuOp, UInt64(op.rawValue), vcpu, arg)
    }

    /// Stores rax into the next result slot.
    @discardableResult
    mutating func storeResult() -> Int {
        code.storeRAX(at: EventTestMachine.result(slot))
        slot += 1
        return slot - 1
    }

    /// Stores the current system time (rdtsc) into the next slot.
    @discardableResult
    mutating func timestamp() -> Int {
        code.readTSC()
        return storeResult()
    }

    /// The offset just after the last hypercall's `syscall` (where its result is stored).
    private(set) var lastReturnOffset = 0

    mutating func shutdown() { code.shutdown(UInt64(ShutdownReason.poweroff.rawValue)) }

    var bytes: [UInt8] { code.bytes }
}

extension XenError {
    /// The value a guest finds in rax.
    var rax: UInt64 { returnValue }
}
