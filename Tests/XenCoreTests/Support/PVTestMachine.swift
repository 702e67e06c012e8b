import GuestMemory
import Synchronization
import X86
import X86Interpreter
import XenABI
import XenControl

@testable import XenCore

/// A one-vCPU PV domain on hand-built page tables (no PV MMU validation), for testing the
/// hypercall, trap and emulation paths in isolation.
///
/// Linear layout (all user-accessible, as Xen forces for 64-bit PV kernels):
///   0x400000 kernel code · 0x500000–0x50FFFF kernel stack · 0x600000 data page
///   0x700000 shared_info · 0x800000 user code (user table only) · 0x900000 user stack
final class PVTestMachine {
    static let code: UInt64 = 0x40_0000
    static let stackTop: UInt64 = 0x51_0000
    static let data: UInt64 = 0x60_0000
    static let sharedInfo: UInt64 = 0x70_0000
    static let userCode: UInt64 = 0x80_0000
    static let userStackTop: UInt64 = 0x91_0000

    let memory: PhysicalMemory
    let domain: Domain
    let vcpu: PVVCPU
    let console = ConsoleCapture()
    private var nextFrame: UInt64 = 0x100
    let kernelTables: PageTableBuilder
    let userTables: PageTableBuilder

    init(code: [UInt8], userCode: [UInt8] = []) throws {
        memory = try PhysicalMemory(bytes: 16 << 20)
        let sharedFrame = MachineFrame(0x700)
        memory.zero(sharedFrame)
        let sink = console
        domain = Domain(id: DomainID(1), machine: memory, sharedInfoFrame: sharedFrame) { bytes in
            sink.bytes.withLock { $0 += bytes }
        }
        var frame: UInt64 = 0x100
        let allocate: () -> MachineFrame? = {
            defer { frame += 1 }
            return MachineFrame(frame)
        }
        var kernel = try PageTableBuilder(memory: memory, allocateFrame: allocate)
        var user = try PageTableBuilder(memory: memory, allocateFrame: allocate)
        let rw = PTE.writable | PTE.user
        try kernel.mapRange(linear: Self.code, length: 0x1000, to: MachineFrame(0x400), flags: PTE.user)
        try kernel.mapRange(linear: Self.stackTop - 0x10000, length: 0x10000, to: MachineFrame(0x500), flags: rw)
        try kernel.mapRange(linear: Self.data, length: 0x1000, to: MachineFrame(0x600), flags: rw)
        try kernel.map(linear: Self.sharedInfo, to: sharedFrame, flags: rw)
        try user.mapRange(linear: Self.userCode, length: 0x1000, to: MachineFrame(0x800), flags: PTE.user)
        try user.mapRange(linear: Self.userStackTop - 0x10000, length: 0x10000, to: MachineFrame(0x900), flags: rw)
        nextFrame = frame
        kernelTables = kernel
        userTables = user
        memory.write(code, at: MachineFrame(0x400).address)
        memory.write(userCode, at: MachineFrame(0x800).address)
        vcpu = domain.addVCPU(engine: InterpreterFactory().makeVirtualCPU(memory: memory, translation: IdentityTranslation(memory: memory)))
        vcpu.setBootState(rip: Self.code, rsp: Self.stackTop, startInfo: 0, pageTable: kernel.root)
        vcpu.pv.userBase = user.root
        vcpu.publishTimeInfo()
    }

    /// Runs until shutdown or `limit` instructions.
    @discardableResult
    func run(limit: UInt64 = 100_000) -> VCPUStop { vcpu.run(maxInstructions: limit) }

    var consoleText: String { String(decoding: console.bytes.withLock { $0 }, as: UTF8.self) }
    var state: CPUState { vcpu.engine.state }

    func load64(linear: UInt64) -> UInt64? {
        guard case .success(let a) = vcpu.engine.translate(linear, for: .read, asUser: true) else { return nil }
        return memory.load(UInt64.self, at: a)
    }

    func write(_ bytes: [UInt8], linear: UInt64) {
        guard case .success(let a) = vcpu.engine.translate(linear, for: .read, asUser: true) else { return }
        memory.write(bytes, at: a)
    }

    var vcpuInfoUpcallMask: UInt8 { memory.load(UInt8.self, at: MachineAddress(0x70_0000 + 1)) ?? 0xFF }
}

/// Console output captured across the vCPU thread and the test.
final class ConsoleCapture: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

/// Instruction bytes with the assembly they encode, for hand-written PV test programs.
enum Asm {
    /// mov rax, imm32 (sign-extended)
    static func movRAX(_ v: UInt32) -> [UInt8] { [0x48, 0xC7, 0xC0] + le(UInt64(v), 4) }
    /// movabs rdi/rsi/rdx/r10/r8, imm64
    static func movRDI(_ v: UInt64) -> [UInt8] { [0x48, 0xBF] + le(v, 8) }
    static func movRSI(_ v: UInt64) -> [UInt8] { [0x48, 0xBE] + le(v, 8) }
    static func movRDX(_ v: UInt64) -> [UInt8] { [0x48, 0xBA] + le(v, 8) }
    static func movR10(_ v: UInt64) -> [UInt8] { [0x49, 0xBA] + le(v, 8) }
    static func movR8(_ v: UInt64) -> [UInt8] { [0x49, 0xB8] + le(v, 8) }
    /// syscall
    static let syscall: [UInt8] = [0x0F, 0x05]
    /// mov rbx, rax
    static let movRBXRAX: [UInt8] = [0x48, 0x89, 0xC3]
    /// mov r12, rax
    static let movR12RAX: [UInt8] = [0x49, 0x89, 0xC4]
    /// ud2
    static let ud2: [UInt8] = [0x0F, 0x0B]
    /// jmp $ (spin)
    static let spin: [UInt8] = [0xEB, 0xFE]

    /// A hypercall through `syscall` with up to five arguments.
    static func hypercall(_ number: Hypercall, _ args: UInt64...) -> [UInt8] {
        var b = movRAX(UInt32(number.rawValue))
        let movers: [(UInt64) -> [UInt8]] = [movRDI, movRSI, movRDX, movR10, movR8]
        for (i, a) in args.enumerated() where i < movers.count { b += movers[i](a) }
        return b + syscall
    }

    /// sched_op_compat(SCHEDOP_shutdown, reason).
    static func shutdown(_ reason: UInt64 = 0) -> [UInt8] { hypercall(.schedOpCompat, 2, reason) }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}
