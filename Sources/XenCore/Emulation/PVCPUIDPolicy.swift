import X86
import XenABI

/// CPUID as a 64-bit PV guest sees it: Kite's CPU with Xen's PV masking, plus the Xen
/// hypervisor leaves at 0x40000000 that Linux and GRUB look for.
///
/// Xen: the PV policy (xen/arch/x86/cpu-policy.c) hides PSE, PGE, MTRR, PSE36, VME and
/// friends — the guest cannot use them under a PV MMU — and sets the HYPERVISOR bit.
public struct PVCPUIDPolicy: Sendable {
    /// Xen's version reported in leaf 0x40000001 and by xen_version(XENVER_version).
    public var xenMajor: UInt32 = 4
    public var xenMinor: UInt32 = 19
    public var base: CPUIDPolicy

    public init(base: CPUIDPolicy = .kite) { self.base = base }

    /// Xen: "XenVMMXenVMM" in EBX, ECX, EDX of leaf 0x40000000.
    static let signature = (ebx: UInt32(0x566E_6558), ecx: UInt32(0x6558_4D4D), edx: UInt32(0x4D4D_566E))
    /// Hidden from PV guests (leaf 1 EDX): PSE, PGE, MTRR, PSE36, VME.
    static let hiddenLeaf1EDX: UInt32 = (1 << 3) | (1 << 13) | (1 << 12) | (1 << 17) | (1 << 1)

    public func query(leaf: UInt32, subleaf: UInt32) -> CPUIDResult {
        switch leaf {
        case 0x4000_0000:
            return CPUIDResult(eax: 0x4000_0005, ebx: Self.signature.ebx, ecx: Self.signature.ecx, edx: Self.signature.edx)
        case 0x4000_0001:
            return CPUIDResult(eax: (xenMajor << 16) | xenMinor)
        case 0x4000_0002:
            // One hypercall page, MSR base 0x40000000, MMU_PT_UPDATE_PRESERVE_AD supported.
            return CPUIDResult(eax: 1, ebx: 0x4000_0000, ecx: 1)
        case 0x4000_0003:
            switch subleaf {
            case 0:
                // TSC reliable, RDTSCP available; tsc_mode 0; a 1 GHz virtual TSC.
                return CPUIDResult(eax: (1 << 1) | (1 << 2), ecx: UInt32(DomainClock.tscKHz))
            case 1:
                return CPUIDResult(ecx: DomainClock.tscToSystemMul, edx: UInt32(bitPattern: Int32(DomainClock.tscShift)))
            case 2:
                return CPUIDResult(ecx: UInt32(DomainClock.tscKHz))
            default:
                return CPUIDResult()
            }
        case 0x4000_0004:
            return CPUIDResult()
        case 0x4000_0005:
            // Machine addresses fit 44 bits: grant tables v1 suffice.
            return CPUIDResult(ebx: 44)
        case 0x0000_0001:
            var r = base.query(leaf: leaf, subleaf: subleaf)
            r.edx &= ~Self.hiddenLeaf1EDX
            r.ecx |= CPUIDPolicy.Leaf1ECX.hypervisor
            return r
        default:
            return base.query(leaf: leaf, subleaf: subleaf)
        }
    }
}
