import GuestMemory
import X86
import XenABI

/// The vCPU side of the PV MMU: the context page-table operations see, and the actions they
/// return (new CR3, TLB flushes) performed on the engines.
extension PVVCPU {
    var pageTables: PVPageTables? { domain.memory.map { PVPageTables(machine: $0.machine) } }

    var mmuContext: MMUContext {
        MMUContext(
            domain: domain.id, vcpu: id, kernelBase: pv.kernelBase, userBase: pv.userBase,
            m2pStrict: domain.isAssistEnabled(VMAssist.m2pStrict))
    }

    /// Copies a context the operations changed back and performs their actions.
    func apply(_ context: MMUContext, _ actions: MMUActions) {
        for action in actions.list {
            switch action {
            case .flushTLB(let target, let scope):
                for vcpu in domain.vcpus(in: target, caller: self) { vcpu.flushTLB(scope, from: self) }
            case .setKernelBase(let frame):
                pv.kernelBase = frame
                if pv.kernelMode { engine.state.cr3 = frame.address.rawValue }
            case .setUserBase(let frame):
                pv.userBase = frame
                if !pv.kernelMode, let frame { engine.state.cr3 = frame.address.rawValue }
            case .setLDT(let base, let entries):
                pv.ldtBase = entries == 0 ? 0 : base
                pv.ldtEntries = entries
                loadLDT()
            case .invalidateLDTShadow(let target):
                // Only this vCPU's thread may touch its shadow; others drop theirs when they
                // next reload the LDT.
                if domain.vcpus(in: target, caller: self).contains(where: { $0 === self }) { dropLDTShadow() }
            }
        }
        pv.kernelBase = context.kernelBase
        pv.userBase = context.userBase
    }

    /// Invalidates this vCPU's cached translations: directly on its own thread, through a
    /// shootdown (a full flush, waited for) from another vCPU's.
    func flushTLB(_ scope: TLBFlush, from caller: PVVCPU) {
        if caller === self { engine.flushTLB(scope) } else { shootdownTLB() }
    }

    /// Reads the vCPU bitmap a MULTI flush names (nil when unreadable, as Xen's -EFAULT path).
    func readVCPUBitmap(at pointer: UInt64) -> VCPUBitmap? {
        let words = VCPUBitmap.wordCount(maxVCPUs: UInt32(domain.vcpus.count))
        guard let bytes = try? copyFromGuest(pointer, count: words * 8) else { return nil }
        let s = GuestStruct(bytes: bytes)
        return VCPUBitmap(words: (0..<words).map { s.u64($0 * 8) })
    }
}

extension Domain {
    func vcpus(in target: MMUTarget, caller: PVVCPU) -> [PVVCPU] {
        switch target {
        case .currentVCPU: return [caller]
        case .allVCPUs: return vcpus
        case .vcpus(let bitmap):
            return vcpus.filter { v in
                let word = Int(v.id.rawValue / 64)
                return word < bitmap.words.count && bitmap.words[word] & (1 << UInt64(v.id.rawValue % 64)) != 0
            }
        }
    }
}
