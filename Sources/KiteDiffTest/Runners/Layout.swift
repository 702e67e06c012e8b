/// Where a test's pages live. The native side maps them once at `region`; the engine maps the
/// same linear addresses to frames holding the same bytes, so addresses computed by the test
/// (LEA, pushed return addresses, RIP-relative operands) agree on both sides.
///
/// ```
/// +0x0000  slots page       register/flag slots, the crash record, the bail-out stub and
///                           FXSAVE areas of the native harness; not mapped in the engine
/// +0x1000  code, 2 pages    prologue, test, epilogue (native) / test, CPUID stop (engine)
/// +0x3000  data buffer, 2 pages; the base register points at its middle
/// +0x5000  test stack, 8 pages; RSP starts 0x6000 into it
/// ```
struct Layout {
    let region: UInt64

    static let preferredRegion: UInt64 = 0x3A00_0000
    static let slotsOffset: UInt64 = 0
    static let codeOffset: UInt64 = 0x1000
    static let codeSize: UInt64 = 0x2000
    static let bufferOffset: UInt64 = 0x3000
    static let bufferSize: UInt64 = 0x2000
    static let stackOffset: UInt64 = 0x5000
    static let stackSize: UInt64 = 0x8000
    static let totalSize: UInt64 = 0xD000

    var slots: UInt64 { region + Self.slotsOffset }
    var code: UInt64 { region + Self.codeOffset }
    var buffer: UInt64 { region + Self.bufferOffset }
    var stack: UInt64 { region + Self.stackOffset }
    /// The value of the base register: the middle of the data buffer.
    var baseValue: UInt64 { buffer + Self.bufferSize / 2 }
    var initialRSP: UInt64 { stack + 0x6000 }
    /// The whole region is reachable by a sign-extended disp32 and by 32-bit addresses, so
    /// absolute [disp32], moffs32 and 0x67 forms can address the buffer.
    var isLow: Bool { region + Self.totalSize < 0x8000_0000 }

    // Slot addresses of the native harness.
    func inSlot(_ r: Int) -> UInt64 { slots + UInt64(8 * r) }
    func outSlot(_ r: Int) -> UInt64 { slots + 0x80 + UInt64(8 * r) }
    var flagsInSlot: UInt64 { slots + 0x100 }
    var flagsOutSlot: UInt64 { slots + 0x108 }
    var hostRSPSlot: UInt64 { slots + 0x110 }
    func savedSlot(_ i: Int) -> UInt64 { slots + 0x118 + UInt64(8 * i) }
    /// What stopped a native run that faulted: signal number, si_code and RIP (zero: none).
    var crashSignalSlot: UInt64 { slots + 0x180 }
    var crashCodeSlot: UInt64 { slots + 0x188 }
    var crashRIPSlot: UInt64 { slots + 0x190 }
    /// Non-zero while test code runs natively: a fault then is the test's, not kite-difftest's.
    var inNativeRunSlot: UInt64 { slots + 0x198 }
    /// Code the crash handler resumes at: it returns to the caller of the native run as the
    /// epilogue would, without storing the test's registers.
    var bailOut: UInt64 { slots + 0x200 }
    static let bailOutSize: UInt64 = 0x100
    /// FXSAVE areas (512 bytes, 16-byte aligned): the host's own x87/SSE state, the test's
    /// initial state and its final state.
    var hostFPUSlot: UInt64 { slots + 0x400 }
    var fpuInSlot: UInt64 { slots + 0x600 }
    var fpuOutSlot: UInt64 { slots + 0x800 }
}
