/// Flat selectors Xen provides to 64-bit PV guests from its reserved GDT entries.
/// Xen: FLAT_KERNEL_CS64 etc. (public/arch-x86/xen-x86_64.h)
public enum FlatSelector {
    /// Xen: FLAT_RING3_CS64 = FLAT_KERNEL_CS64 = FLAT_USER_CS64
    public static let code64: UInt16 = 0xE033
    /// Xen: FLAT_RING3_CS32 = FLAT_USER_CS32
    public static let code32: UInt16 = 0xE023
    /// Xen: FLAT_RING3_DS32 = FLAT_KERNEL_SS64 = FLAT_USER_SS64
    public static let data: UInt16 = 0xE02B
    /// Xen: FIRST_RESERVED_GDT_ENTRY — guest GDT entries stop below this index.
    public static let firstReservedGDTEntry = 7168
    /// Xen: FIRST_RESERVED_GDT_PAGE
    public static let firstReservedGDTPage = 14
}

/// One entry of a PV trap table. Xen: `struct trap_info` (public/arch-x86/xen.h), 16 bytes.
public struct TrapInfo: Equatable, Sendable {
    public var vector: UInt8
    /// Xen: trap_info.flags — bits 1:0 DPL, bit 2 mask events on entry (TI_GET_IF).
    public var flags: UInt8
    public var codeSelector: UInt16
    public var address: UInt64
    public static let size = 16

    public init(vector: UInt8, flags: UInt8, codeSelector: UInt16, address: UInt64) {
        self.vector = vector
        self.flags = flags
        self.codeSelector = codeSelector
        self.address = address
    }
    /// Xen: TI_GET_DPL
    public var dpl: UInt8 { flags & 3 }
    /// Xen: TI_GET_IF — events masked on entry, like an interrupt gate.
    public var masksEvents: Bool { flags & 4 != 0 }
}

/// Xen: CALLBACKTYPE_* (public/callback.h)
public enum CallbackType: UInt16, Sendable {
    /// Xen: CALLBACKTYPE_event
    case event = 0
    /// Xen: CALLBACKTYPE_failsafe
    case failsafe = 1
    /// Xen: CALLBACKTYPE_syscall
    case syscall = 2
    /// Xen: CALLBACKTYPE_syscall32
    case syscall32 = 7
    /// Xen: CALLBACKTYPE_sysenter
    case sysenter = 5
    /// Xen: CALLBACKTYPE_nmi
    case nmi = 4
}

/// Xen: CALLBACKOP_register / CALLBACKOP_unregister, CALLBACKF_mask_events.
public enum CallbackOp {
    public static let register: UInt64 = 0
    public static let unregister: UInt64 = 1
    public static let maskEventsFlag: UInt16 = 1 << 0
}

/// Offsets of the frame the guest leaves for the iret hypercall.
/// Xen: `struct iret_context` (public/arch-x86/xen-x86_64.h), 72 bytes.
public enum IretContextLayout {
    public static let rax = 0, r11 = 8, rcx = 16, flags = 24, rip = 32, cs = 40, rflags = 48,
        rsp = 56, ss = 64
    public static let size = 72
    /// Xen: VGCF_in_syscall — return like SYSRET (rcx/r11 not restored).
    public static let inSyscallFlag: UInt64 = 1 << 8
}

/// Xen: VMASST_CMD_* and VMASST_TYPE_* (public/xen.h).
public enum VMAssist {
    public static let enable: UInt64 = 0
    public static let disable: UInt64 = 1
    /// Xen: VMASST_TYPE_writable_pagetables
    public static let writablePagetables: UInt64 = 2
    /// Xen: VMASST_TYPE_architectural_iopl
    public static let architecturalIOPL: UInt64 = 4
    /// Xen: VMASST_TYPE_runstate_update_flag
    public static let runstateUpdateFlag: UInt64 = 5
    /// Xen: VMASST_TYPE_m2p_strict
    public static let m2pStrict: UInt64 = 32
    /// Xen: arch_vm_assist_valid_mask for 64-bit PV: types 0–5 and 32.
    public static let validTypesPV64: UInt64 = 0x3F | (1 << 32)
}

/// Xen: SEGBASE_* for set_segment_base (public/arch-x86/xen-x86_64.h).
public enum SegmentBaseWhich: UInt64 {
    case fs = 0
    case gsUser = 1
    case gsKernel = 2
    case gsUserSelector = 3
}
