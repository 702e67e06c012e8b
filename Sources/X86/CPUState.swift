/// The operating mode the CPU is in, derived from CR0, EFER and CS.
public enum CPUMode: Sendable, Equatable {
    case real
    case protected16
    case protected32
    /// IA-32e compatibility mode (32-bit code under a 64-bit OS).
    case compatibility
    /// 64-bit mode.
    case long64
}

/// Architectural state of one vCPU, as the hypervisor reads and writes it between runs.
/// (What the VMCS guest-state area is to VT-x.)
public struct CPUState: Equatable, Sendable {
    public var gprs = GeneralRegisters()
    public var rip: UInt64 = 0
    /// Always holds the architectural value (bit 1 set).
    public var rflags: RFlags = .fixed
    /// ES, CS, SS, DS, FS, GS in `SegmentRegister` order.
    public var segments: [Segment] = Array(repeating: Segment(), count: 6)
    public var gdtr = DescriptorTableRegister()
    public var idtr = DescriptorTableRegister()
    public var ldtr = Segment.null()
    public var tr = Segment(selector: 0, base: 0, limit: 0xFFFF, attributes: 0x8B)
    public var cr0: CR0 = [.protectionEnable, .extensionType, .paging, .writeProtect]
    public var cr2: UInt64 = 0
    public var cr3: UInt64 = 0
    public var cr4: CR4 = [.physicalAddressExtension]
    public var cr8: UInt64 = 0
    public var efer: EFER = [.longModeEnable, .longModeActive, .syscallEnable, .noExecuteEnable]
    public var xcr0: UInt64 = 1
    /// DR0-DR7 (DR4/DR5 alias DR6/DR7 and are not stored separately).
    public var debugRegisters: [UInt64] = [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0x400]
    public var star: UInt64 = 0
    public var lstar: UInt64 = 0
    public var cstar: UInt64 = 0
    public var sfmask: UInt64 = 0
    public var kernelGSBase: UInt64 = 0
    public var tscAux: UInt64 = 0
    public var pat: UInt64 = 0x0007_0406_0007_0406
    public var sysenterCS: UInt64 = 0
    public var sysenterESP: UInt64 = 0
    public var sysenterEIP: UInt64 = 0
    /// Added to the host's time-stamp counter to give the guest's (VT-x TSC offsetting).
    public var tscOffset: UInt64 = 0
    /// Interrupt shadow after STI or MOV SS: the next instruction runs before any interrupt.
    public var interruptShadow = false
    /// x87 and SSE registers (the FXSAVE state).
    public var fpu = FPUState()

    public init() {}

    public subscript(_ r: GPR) -> UInt64 {
        get { gprs[r] }
        set { gprs[r] = newValue }
    }

    public subscript(_ s: SegmentRegister) -> Segment {
        get { segments[s.rawValue] }
        set { segments[s.rawValue] = newValue }
    }

    /// Current privilege level (the RPL of CS, as the CPU tracks it in long mode).
    public var cpl: UInt8 { UInt8(segments[SegmentRegister.cs.rawValue].selector & 3) }

    public var mode: CPUMode {
        if !cr0.contains(.protectionEnable) { return .real }
        let cs = segments[SegmentRegister.cs.rawValue]
        if efer.contains(.longModeActive) { return cs.longMode ? .long64 : .compatibility }
        return cs.defaultBig ? .protected32 : .protected16
    }

    /// A 64-bit flat state at the given privilege level: long mode with paging, flat
    /// selectors (CS 0x08/DS 0x10 at CPL 0, CS 0x33/DS 0x2B at CPL 3 — Linux's layout), the
    /// given page-table root, and interrupts disabled.
    public static func flatLongMode(cpl: UInt8, cr3: UInt64, rip: UInt64, rsp: UInt64) -> CPUState {
        var s = CPUState()
        let code: UInt16 = cpl == 0 ? 0x08 : 0x33
        let data: UInt16 = cpl == 0 ? 0x10 : 0x2B
        s[.cs] = .longCode(selector: code, dpl: cpl)
        for r in [SegmentRegister.ds, .es, .ss] { s[r] = .flatData(selector: data, dpl: cpl) }
        s[.fs] = .null()
        s[.gs] = .null()
        s.cr3 = cr3
        s.rip = rip
        s[.rsp] = rsp
        return s
    }
}
