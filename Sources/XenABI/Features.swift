/// A Xen feature bit. Xen: `XENFEAT_*` (public/features.h); submap 0 of
/// `XENVER_get_features`, and the names a kernel lists in its FEATURES note.
public enum XenFeature: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// Xen: XENFEAT_writable_page_tables
    case writablePageTables = 0
    /// Xen: XENFEAT_writable_descriptor_tables
    case writableDescriptorTables = 1
    /// Xen: XENFEAT_auto_translated_physmap
    case autoTranslatedPhysmap = 2
    /// Xen: XENFEAT_supervisor_mode_kernel
    case supervisorModeKernel = 3
    /// Xen: XENFEAT_pae_pgdir_above_4gb
    case paePgdirAbove4GB = 4
    /// Xen: XENFEAT_mmu_pt_update_preserve_ad
    case mmuPTUpdatePreserveAD = 5
    /// Xen: XENFEAT_highmem_assist
    case highmemAssist = 6
    /// Xen: XENFEAT_gnttab_map_avail_bits
    case gnttabMapAvailBits = 7
    /// Xen: XENFEAT_hvm_callback_vector
    case hvmCallbackVector = 8
    /// Xen: XENFEAT_hvm_safe_pvclock
    case hvmSafePVClock = 9
    /// Xen: XENFEAT_hvm_pirqs
    case hvmPIRQs = 10
    /// Xen: XENFEAT_dom0
    case dom0 = 11
    /// Deprecated. Xen: XENFEAT_grant_map_identity
    case grantMapIdentity = 12
    /// Xen: XENFEAT_memory_op_vnode_supported
    case memoryOpVnodeSupported = 13
    /// Xen: XENFEAT_ARM_SMCCC_supported
    case armSMCCCSupported = 14
    /// Xen: XENFEAT_linux_rsdp_unrestricted
    case linuxRSDPUnrestricted = 15
    /// Xen: XENFEAT_not_direct_mapped
    case notDirectMapped = 16
    /// Xen: XENFEAT_direct_mapped
    case directMapped = 17
    /// Xen: XENFEAT_runstate_phys_area
    case runstatePhysArea = 18
    /// Xen: XENFEAT_vcpu_time_phys_area
    case vcpuTimePhysArea = 19
    /// Xen: XENFEAT_dm_msix_all_writes
    case dmMSIXAllWrites = 20

    /// The spelling in a FEATURES note, for the names libelf recognises there
    /// (libelf-dominfo.c `elf_xen_feature_names`); nil for the others, which the loader
    /// ignores when listed and rejects when marked required.
    public var elfNoteName: String? {
        switch self {
        case .writablePageTables: return "writable_page_tables"
        case .writableDescriptorTables: return "writable_descriptor_tables"
        case .autoTranslatedPhysmap: return "auto_translated_physmap"
        case .supervisorModeKernel: return "supervisor_mode_kernel"
        case .paePgdirAbove4GB: return "pae_pgdir_above_4gb"
        case .hvmCallbackVector: return "hvm_callback_vector"
        case .dom0: return "dom0"
        default: return nil
        }
    }

    /// The feature a FEATURES-note name stands for, if libelf recognises it.
    public init?(elfNoteName name: String) {
        guard let match = XenFeature.allCases.first(where: { $0.elfNoteName == name }) else {
            return nil
        }
        self = match
    }

    public var description: String { elfNoteName ?? "XENFEAT bit \(rawValue)" }
}

/// A set of Xen feature bits (submap 0, 32 bits). Xen: `uint32_t f_supported[1]`.
public struct XenFeatureSet: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ features: [XenFeature]) {
        self.init(rawValue: features.reduce(0) { $0 | (1 << $1.rawValue) })
    }

    public func contains(_ feature: XenFeature) -> Bool { rawValue & (1 << feature.rawValue) != 0 }
    public mutating func insert(_ feature: XenFeature) { rawValue |= 1 << feature.rawValue }

    /// The named features in the set, lowest bit first (bits without a name are skipped).
    public var features: [XenFeature] { XenFeature.allCases.filter { contains($0) } }

    public var description: String {
        let names = features.map(\.description)
        return names.isEmpty ? "[]" : "[" + names.joined(separator: ", ") + "]"
    }
}
