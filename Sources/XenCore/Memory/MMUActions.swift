import GuestMemory
import X86
import XenABI

/// Which vCPUs of the calling domain an action concerns.
public enum MMUTarget: Equatable, Sendable {
    /// The vCPU that made the call.
    case currentVCPU
    /// Every vCPU of the calling domain. Xen: d->dirty_cpumask.
    case allVCPUs
    /// The vCPUs in a guest-supplied bitmap (bits at or above max_vcpus are ignored).
    case vcpus(VCPUBitmap)
}

/// Something the owner of the vCPUs must do after a page-table operation. The memory code
/// changes only memory; registers, TLBs and descriptor caches are the caller's.
public enum MMUAction: Equatable, Sendable {
    /// Invalidate cached translations.
    case flushTLB(MMUTarget, TLBFlush)
    /// The calling vCPU's kernel top-level table is now this frame: load it into CR3 when in
    /// kernel mode. Xen: MMUEXT_NEW_BASEPTR's write_ptbase.
    case setKernelBase(MachineFrame)
    /// The calling vCPU's user-mode top-level table (nil: none). Xen: guest_table_user.
    case setUserBase(MachineFrame?)
    /// Xen: MMUEXT_SET_LDT. When base or count differ from the current ones the caller drops
    /// its LDT shadow, flushes the local TLB and loads the new LDT (base 0 when entries is 0).
    case setLDT(base: UInt64, entries: UInt32)
    /// Drop the cached (shadow) LDT mappings and the descriptor-page references they hold.
    /// Xen: pv_destroy_ldt.
    case invalidateLDTShadow(MMUTarget)
}

/// The actions a batch of operations produced, in order, without duplicates, and with only
/// the latest of each state change (kernel base, user base, LDT): perform them in order
/// before the vCPU runs guest code again.
public struct MMUActions: Equatable, Sendable {
    public private(set) var list: [MMUAction] = []
    public init() {}
    public mutating func append(_ action: MMUAction) {
        switch action {
        case .setKernelBase:
            list.removeAll { if case .setKernelBase = $0 { true } else { false } }
        case .setUserBase:
            list.removeAll { if case .setUserBase = $0 { true } else { false } }
        case .setLDT:
            list.removeAll { if case .setLDT = $0 { true } else { false } }
        case .flushTLB, .invalidateLDTShadow:
            if list.contains(action) { return }
        }
        list.append(action)
    }
    public var isEmpty: Bool { list.isEmpty }
}

/// The calling vCPU as the page-table operations see it. Operations update it (a new base
/// pointer, for instance) so that the next request of the same batch sees the change; the
/// caller copies the result back into its vCPU and performs the actions.
public struct MMUContext: Equatable, Sendable {
    public var domain: DomainID
    public var vcpu: VCPUID
    /// Xen: v->arch.guest_table — holds an L4 type reference while set.
    public var kernelBase: MachineFrame?
    /// Xen: v->arch.guest_table_user — holds an L4 type reference while set.
    public var userBase: MachineFrame?
    /// Xen: VM_ASSIST(d, m2p_strict) — hide the M2P from user-mode tables.
    public var m2pStrict: Bool

    public init(domain: DomainID, vcpu: VCPUID, kernelBase: MachineFrame? = nil, userBase: MachineFrame? = nil,
                m2pStrict: Bool = false) {
        self.domain = domain
        self.vcpu = vcpu
        self.kernelBase = kernelBase
        self.userBase = userBase
        self.m2pStrict = m2pStrict
    }
}

/// The owners an mmu_update call works with, resolved once per call from `foreigndom`.
public struct MMUOwners: Equatable, Sendable {
    /// Xen: pt_owner — whose page tables the requests modify.
    public var pageTableOwner: DomainID
    /// Xen: pg_owner — whose frames new entries may name (DOMID_IO and DOMID_XEN included).
    public var pageOwner: DomainID
}
