import X86
import XenABI

/// The six argument registers of a hypercall (64-bit PV: rdi, rsi, rdx, r10, r8, r9).
struct HypercallArguments: Equatable {
    var values: [UInt64]
    init(_ values: [UInt64]) { self.values = values + Array(repeating: 0, count: max(0, 6 - values.count)) }
    subscript(_ i: Int) -> UInt64 {
        get { i >= 0 && i < values.count ? values[i] : 0 }
        set { if i >= 0 && i < values.count { values[i] = newValue } }
    }
}

/// How a hypercall handler finished.
enum HypercallOutcome: Equatable {
    /// The value for rax.
    case value(UInt64)
    /// The handler loaded the registers itself (iret): rax is not written.
    case registersLoaded
    /// Xen: hypercall_create_continuation — the call gave up the CPU part-way; it is
    /// re-issued with these arguments (RIP rewound onto the `syscall`).
    case preempted(HypercallArguments)

    static let success = HypercallOutcome.value(0)
}

typealias HypercallHandler = @Sendable (PVVCPU, HypercallArguments) throws(XenError) -> HypercallOutcome

/// Xen's hypercall table, as data: one row per hypercall, one column per guest kind.
/// Only 64-bit PV exists today; the pv32, pvh and hvm columns arrive with those guests.
/// A number with no handler returns -ENOSYS. Xen: hypercall-defs.c.
enum HypercallTable {
    struct Row: Sendable {
        let hypercall: Hypercall
        let pv64: HypercallHandler?
    }

    static let rows: [Row] = [
        Row(hypercall: .setTrapTable, pv64: PVHypercalls.setTrapTable),
        Row(hypercall: .mmuUpdate, pv64: PVHypercalls.mmuUpdate),
        Row(hypercall: .setGDT, pv64: PVHypercalls.setGDT),
        Row(hypercall: .stackSwitch, pv64: PVHypercalls.stackSwitch),
        Row(hypercall: .setCallbacks, pv64: PVHypercalls.setCallbacks),
        Row(hypercall: .fpuTaskswitch, pv64: PVHypercalls.fpuTaskswitch),
        Row(hypercall: .schedOpCompat, pv64: PVHypercalls.schedOpCompat),
        Row(hypercall: .platformOp, pv64: PVHypercalls.privileged),
        Row(hypercall: .setDebugreg, pv64: PVHypercalls.setDebugreg),
        Row(hypercall: .getDebugreg, pv64: PVHypercalls.getDebugreg),
        Row(hypercall: .updateDescriptor, pv64: PVHypercalls.updateDescriptor),
        Row(hypercall: .memoryOp, pv64: PVHypercalls.memoryOp),
        Row(hypercall: .multicall, pv64: PVHypercalls.multicall),
        Row(hypercall: .updateVAMapping, pv64: PVHypercalls.updateVAMapping),
        Row(hypercall: .xenVersion, pv64: PVHypercalls.xenVersion),
        Row(hypercall: .consoleIO, pv64: PVHypercalls.consoleIO),
        Row(hypercall: .physdevOpCompat, pv64: PVHypercalls.physdevOpCompat),
        Row(hypercall: .grantTableOp, pv64: PVHypercalls.grantTableOp),
        Row(hypercall: .vmAssist, pv64: PVHypercalls.vmAssist),
        Row(hypercall: .updateVAMappingOtherDomain, pv64: PVHypercalls.updateVAMappingOtherDomain),
        Row(hypercall: .iret, pv64: PVHypercalls.iret),
        Row(hypercall: .setSegmentBase, pv64: PVHypercalls.setSegmentBase),
        Row(hypercall: .mmuextOp, pv64: PVHypercalls.mmuextOp),
        Row(hypercall: .schedOp, pv64: PVHypercalls.schedOp),
        Row(hypercall: .callbackOp, pv64: PVHypercalls.callbackOp),
        Row(hypercall: .physdevOp, pv64: PVHypercalls.physdevOp),
        Row(hypercall: .sysctl, pv64: PVHypercalls.privileged),
        Row(hypercall: .domctl, pv64: PVHypercalls.privileged),
        Row(hypercall: .eventChannelOp, pv64: PVHypercalls.eventChannelOp),
        Row(hypercall: .eventChannelOpCompat, pv64: PVHypercalls.eventChannelOpCompat),
        Row(hypercall: .vcpuOp, pv64: PVHypercalls.vcpuOp),
        Row(hypercall: .setTimerOp, pv64: PVHypercalls.setTimerOp),
    ]

    /// Indexed by hypercall number for the dispatch.
    static let pv64: [HypercallHandler?] = {
        var table = [HypercallHandler?](repeating: nil, count: 64)
        for row in rows where Int(row.hypercall.rawValue) < table.count {
            table[Int(row.hypercall.rawValue)] = row.pv64
        }
        return table
    }()

    static func handler(pv64 number: UInt64) -> HypercallHandler? {
        number < UInt64(pv64.count) ? pv64[Int(number)] : nil
    }
}

/// The 64-bit PV hypercall handlers; each file `PVHypercalls+Family.swift` holds one family.
enum PVHypercalls {
    /// Xen: XSM_PRIV operations (platform_op, sysctl, domctl) refused to unprivileged domains.
    static func privileged(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        throw .EPERM
    }
}

extension PVVCPU {
    /// Xen: the 64-bit PV hypercall entry (`syscall` from guest kernel mode): number in rax,
    /// arguments in rdi, rsi, rdx, r10, r8, r9, result in rax.
    func performHypercall(instructionLength: UInt8) {
        // Register by register: the whole CPUState is not needed on this hot path.
        let e = engine
        let number = e.register(.rax)
        let args = HypercallArguments([e.register(.rdi), e.register(.rsi), e.register(.rdx), e.register(.r10), e.register(.r8), e.register(.r9)])
        let next = e.instructionPointer &+ UInt64(instructionLength)
        e.instructionPointer = next
        // The SYSCALL instruction itself clobbers RCX and R11 (return RIP and RFLAGS); the
        // guest sees that after every hypercall, as on Xen (the hypercall page saves them).
        e.setRegister(.rcx, next)
        e.setRegister(.r11, e.flagsRegister)
        let outcome = call(number, args)
        exitStatistics.countHypercall(number, unimplemented: outcome == .value(XenError.ENOSYS.returnValue))
        switch outcome {
        case .value(let v):
            e.setRegister(.rax, v)
        case .registersLoaded:
            break
        case .preempted(let more):
            e.instructionPointer = e.instructionPointer &- UInt64(instructionLength)
            for (i, r) in [GPR.rdi, .rsi, .rdx, .r10, .r8, .r9].enumerated() { e.setRegister(r, more[i]) }
        }
    }

    /// Runs one hypercall; errors become their negated errno.
    func call(_ number: UInt64, _ args: HypercallArguments) -> HypercallOutcome {
        guard let handler = HypercallTable.handler(pv64: number) else {
            return .value(XenError.ENOSYS.returnValue)
        }
        do {
            return try handler(self, args)
        } catch {
            return .value(error.returnValue)
        }
    }
}
