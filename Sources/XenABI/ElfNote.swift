/// The note types a Xen guest kernel carries in ELF notes whose owner name is `"Xen"`.
/// Xen: `XEN_ELFNOTE_*` (public/elfnote.h). Numeric notes hold a little-endian unsigned
/// value of 1, 2, 4 or 8 bytes; string notes a NUL-terminated string.
public enum XenElfNote: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// Legacy free-form note, equivalent to the `__xen_guest` section; ignored.
    /// Xen: XEN_ELFNOTE_INFO
    case info = 0
    /// Virtual address of the PV entry point; overrides `e_entry`.
    /// Xen: XEN_ELFNOTE_ENTRY
    case entry = 1
    /// Virtual address of the page the builder fills with hypercall stubs.
    /// Xen: XEN_ELFNOTE_HYPERCALL_PAGE
    case hypercallPage = 2
    /// Virtual address at which pseudo-physical frame 0 is mapped.
    /// Xen: XEN_ELFNOTE_VIRT_BASE
    case virtBase = 3
    /// Subtracted from `p_paddr` to get the offset from VIRT_BASE.
    /// Xen: XEN_ELFNOTE_PADDR_OFFSET
    case paddrOffset = 4
    /// ABI version the kernel was built for; must start with `"xen-3.0"`.
    /// Xen: XEN_ELFNOTE_XEN_VERSION
    case xenVersion = 5
    /// Guest operating system name, e.g. `"linux"`.
    /// Xen: XEN_ELFNOTE_GUEST_OS
    case guestOS = 6
    /// Guest operating system version, e.g. `"2.6"`.
    /// Xen: XEN_ELFNOTE_GUEST_VERSION
    case guestVersion = 7
    /// Loader the image is built for; `"generic"` unless GUEST_OS is Linux.
    /// Xen: XEN_ELFNOTE_LOADER
    case loader = 8
    /// `"yes"`, `"no"`, `"bimodal"` or `"yes[extended-cr3]"`; matters for 32-bit only.
    /// Xen: XEN_ELFNOTE_PAE_MODE
    case paeMode = 9
    /// `|`-separated XENFEAT names; a leading `!` marks a required feature.
    /// Xen: XEN_ELFNOTE_FEATURES
    case features = 10
    /// `"yes"` asks the loader to append the symbol table (NetBSD).
    /// Xen: XEN_ELFNOTE_BSD_SYMTAB
    case bsdSymtab = 11
    /// Lowest virtual address the hypervisor may occupy (32-bit guests).
    /// Xen: XEN_ELFNOTE_HV_START_LOW
    case hvStartLow = 12
    /// Mask/value pair telling which L1 entries hold valid machine frames.
    /// Xen: XEN_ELFNOTE_L1_MFN_VALID
    case l1MFNValid = 13
    /// The guest supports suspend cancellation.
    /// Xen: XEN_ELFNOTE_SUSPEND_CANCEL
    case suspendCancel = 14
    /// Virtual address at which the builder places the initial p2m list, outside the
    /// kernel's mapping. Xen: XEN_ELFNOTE_INIT_P2M
    case initP2M = 15
    /// Non-zero: the guest understands SIF_MOD_START_PFN (the ramdisk is not mapped).
    /// Xen: XEN_ELFNOTE_MOD_START_PFN
    case modStartPFN = 16
    /// Bitmap of XENFEAT_* the kernel supports.
    /// Xen: XEN_ELFNOTE_SUPPORTED_FEATURES
    case supportedFeatures = 17
    /// Physical address of the 32-bit PVH entry point.
    /// Xen: XEN_ELFNOTE_PHYS32_ENTRY
    case phys32Entry = 18
    /// PVH relocation constraints: align, min, max (u32 each).
    /// Xen: XEN_ELFNOTE_PHYS32_RELOC
    case phys32Reloc = 19

    /// The owner name of every Xen note (namesz 4, including the NUL).
    public static let owner = "Xen"

    /// Whether the note's descriptor is a NUL-terminated string (else a number).
    public var isString: Bool {
        switch self {
        case .xenVersion, .guestOS, .guestVersion, .loader, .paeMode, .features, .bsdSymtab,
             .info:
            return true
        default:
            return false
        }
    }

    /// The name Xen's `xl` and libelf print for the note.
    public var description: String {
        switch self {
        case .info: return "INFO"
        case .entry: return "ENTRY"
        case .hypercallPage: return "HYPERCALL_PAGE"
        case .virtBase: return "VIRT_BASE"
        case .paddrOffset: return "PADDR_OFFSET"
        case .xenVersion: return "XEN_VERSION"
        case .guestOS: return "GUEST_OS"
        case .guestVersion: return "GUEST_VERSION"
        case .loader: return "LOADER"
        case .paeMode: return "PAE_MODE"
        case .features: return "FEATURES"
        case .bsdSymtab: return "BSD_SYMTAB"
        case .hvStartLow: return "HV_START_LOW"
        case .l1MFNValid: return "L1_MFN_VALID"
        case .suspendCancel: return "SUSPEND_CANCEL"
        case .initP2M: return "INIT_P2M"
        case .modStartPFN: return "MOD_START_PFN"
        case .supportedFeatures: return "SUPPORTED_FEATURES"
        case .phys32Entry: return "PHYS32_ENTRY"
        case .phys32Reloc: return "PHYS32_RELOC"
        }
    }
}
