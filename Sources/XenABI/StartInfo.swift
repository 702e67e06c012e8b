/// Flags in `start_info.flags`. Xen: `SIF_*` (public/xen.h).
public struct StartInfoFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The domain is privileged. Xen: SIF_PRIVILEGED
    public static let privileged = StartInfoFlags(rawValue: 1 << 0)
    /// The domain is the initial control domain. Xen: SIF_INITDOMAIN
    public static let initialDomain = StartInfoFlags(rawValue: 1 << 1)
    /// `mod_start` points at a `xen_multiboot_mod_list` array. Xen: SIF_MULTIBOOT_MOD
    public static let multibootModules = StartInfoFlags(rawValue: 1 << 2)
    /// `mod_start` is a pseudo-physical frame number, the ramdisk is not mapped.
    /// Xen: SIF_MOD_START_PFN
    public static let modStartPFN = StartInfoFlags(rawValue: 1 << 3)
    /// The toolstack may use the virtually mapped p2m list. Xen: SIF_VIRT_P2M_4TOOLS
    public static let virtualP2MForTools = StartInfoFlags(rawValue: 1 << 4)
    /// Dom0 power-management bits. Xen: SIF_PM_MASK
    public static let powerManagementMask = StartInfoFlags(rawValue: 0xFF << 8)
}

/// The start-of-day page of a 64-bit PV guest. Xen: `start_info_t` (public/xen.h), the
/// 64-bit layout (Appendix A of the ABI fact sheet). The builder places it in one guest
/// page; the guest finds it through rsi.
public struct StartInfo64: Equatable, Sendable {
    /// Xen: start_info.magic — NUL-terminated guest type.
    public var magic: String = StartInfo64.magicPV64
    /// Xen: start_info.nr_pages
    public var pageCount: UInt64 = 0
    /// Machine address of the shared_info page. Xen: start_info.shared_info
    public var sharedInfo: UInt64 = 0
    /// Xen: start_info.flags
    public var flags: StartInfoFlags = []
    /// Machine frame of the xenstore ring. Xen: start_info.store_mfn
    public var storeMFN: UInt64 = 0
    /// Xen: start_info.store_evtchn
    public var storeEventChannel: UInt32 = 0
    /// Machine frame of the console ring. Xen: start_info.console.domU.mfn
    public var consoleMFN: UInt64 = 0
    /// Xen: start_info.console.domU.evtchn
    public var consoleEventChannel: UInt32 = 0
    /// Virtual address of the top-level page table. Xen: start_info.pt_base
    public var pageTableBase: UInt64 = 0
    /// Page-table frames of the initial mapping. Xen: start_info.nr_pt_frames
    public var pageTableFrameCount: UInt64 = 0
    /// Virtual address of the p2m list. Xen: start_info.mfn_list
    public var mfnList: UInt64 = 0
    /// Ramdisk virtual address, or its first pfn with SIF_MOD_START_PFN. Xen: start_info.mod_start
    public var moduleStart: UInt64 = 0
    /// Ramdisk length in bytes. Xen: start_info.mod_len
    public var moduleLength: UInt64 = 0
    /// Command-line bytes without the terminating NUL (at most 1023). Xen: start_info.cmd_line
    public var commandLine: [UInt8] = []
    /// First pfn of the separately mapped p2m (with its page tables). Xen: start_info.first_p2m_pfn
    public var firstP2MPFN: UInt64 = 0
    /// Frames of that area. Xen: start_info.nr_p2m_frames
    public var p2mFrameCount: UInt64 = 0

    public init() {}

    /// Guest type of a 64-bit PV guest (a `XENVER_capabilities` token).
    public static let magicPV64 = "xen-3.0-x86_64"
    /// Size of the command-line field including its NUL. Xen: MAX_GUEST_CMDLINE
    public static let maxCommandLine = 1024
    /// sizeof(start_info_t) for a 64-bit guest.
    public static let size = 1168

    /// Byte offsets of the 64-bit layout.
    public enum Offset {
        /// Xen: start_info.magic (32 bytes)
        public static let magic = 0
        /// Xen: start_info.nr_pages
        public static let pageCount = 32
        /// Xen: start_info.shared_info
        public static let sharedInfo = 40
        /// Xen: start_info.flags (u32)
        public static let flags = 48
        /// Xen: start_info.store_mfn
        public static let storeMFN = 56
        /// Xen: start_info.store_evtchn (u32)
        public static let storeEventChannel = 64
        /// Xen: start_info.console.domU.mfn
        public static let consoleMFN = 72
        /// Xen: start_info.console.domU.evtchn (u32)
        public static let consoleEventChannel = 80
        /// Xen: start_info.pt_base
        public static let pageTableBase = 88
        /// Xen: start_info.nr_pt_frames
        public static let pageTableFrameCount = 96
        /// Xen: start_info.mfn_list
        public static let mfnList = 104
        /// Xen: start_info.mod_start
        public static let moduleStart = 112
        /// Xen: start_info.mod_len
        public static let moduleLength = 120
        /// Xen: start_info.cmd_line (1024 bytes)
        public static let commandLine = 128
        /// Xen: start_info.first_p2m_pfn
        public static let firstP2MPFN = 1152
        /// Xen: start_info.nr_p2m_frames
        public static let p2mFrameCount = 1160
    }

    /// The structure as the guest sees it: `size` bytes, little-endian. Magic and command
    /// line are truncated to leave room for their NUL, as Xen's builder does with strncpy.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: StartInfo64.size)
        func put64(_ value: UInt64, at offset: Int) {
            for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        func put32(_ value: UInt32, at offset: Int) {
            for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        }
        for (i, byte) in magic.utf8.prefix(31).enumerated() where byte != 0 { bytes[Offset.magic + i] = byte }
        put64(pageCount, at: Offset.pageCount)
        put64(sharedInfo, at: Offset.sharedInfo)
        put32(flags.rawValue, at: Offset.flags)
        put64(storeMFN, at: Offset.storeMFN)
        put32(storeEventChannel, at: Offset.storeEventChannel)
        put64(consoleMFN, at: Offset.consoleMFN)
        put32(consoleEventChannel, at: Offset.consoleEventChannel)
        put64(pageTableBase, at: Offset.pageTableBase)
        put64(pageTableFrameCount, at: Offset.pageTableFrameCount)
        put64(mfnList, at: Offset.mfnList)
        put64(moduleStart, at: Offset.moduleStart)
        put64(moduleLength, at: Offset.moduleLength)
        // strncpy semantics: stop at the first NUL, keep the last byte for the terminator.
        let line = commandLine.prefix { $0 != 0 }.prefix(StartInfo64.maxCommandLine - 1)
        for (i, byte) in line.enumerated() { bytes[Offset.commandLine + i] = byte }
        put64(firstP2MPFN, at: Offset.firstP2MPFN)
        put64(p2mFrameCount, at: Offset.p2mFrameCount)
        return bytes
    }
}
