/// A general-purpose register by its encoding number (ModRM/REX order).
public enum GPR: Int, CaseIterable, Sendable {
    case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15
}

/// The sixteen general-purpose registers as a value.
public struct GeneralRegisters: Equatable, Sendable {
    public var values: [UInt64] = Array(repeating: 0, count: 16)
    public init() {}
    public subscript(_ r: GPR) -> UInt64 {
        get { values[r.rawValue] }
        set { values[r.rawValue] = newValue }
    }
}

/// RFLAGS bits (Intel SDM vol. 1, 3.4.3).
public struct RFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let carry = RFlags(rawValue: 1 << 0)
    /// Bit 1 always reads as 1.
    public static let fixed = RFlags(rawValue: 1 << 1)
    public static let parity = RFlags(rawValue: 1 << 2)
    public static let auxCarry = RFlags(rawValue: 1 << 4)
    public static let zero = RFlags(rawValue: 1 << 6)
    public static let sign = RFlags(rawValue: 1 << 7)
    public static let trap = RFlags(rawValue: 1 << 8)
    public static let interrupt = RFlags(rawValue: 1 << 9)
    public static let direction = RFlags(rawValue: 1 << 10)
    public static let overflow = RFlags(rawValue: 1 << 11)
    public static let iopl = RFlags(rawValue: 3 << 12)
    public static let nestedTask = RFlags(rawValue: 1 << 14)
    public static let resume = RFlags(rawValue: 1 << 16)
    public static let virtual8086 = RFlags(rawValue: 1 << 17)
    public static let alignmentCheck = RFlags(rawValue: 1 << 18)
    public static let virtualInterrupt = RFlags(rawValue: 1 << 19)
    public static let virtualInterruptPending = RFlags(rawValue: 1 << 20)
    public static let id = RFlags(rawValue: 1 << 21)
    /// The arithmetic status flags.
    public static let status: RFlags = [.carry, .parity, .auxCarry, .zero, .sign, .overflow]
    /// Bits software can ever see set.
    public static let defined = RFlags(rawValue: 0x3F_7FD5)

    /// The I/O privilege level field.
    public var ioPrivilegeLevel: UInt8 { UInt8((rawValue >> 12) & 3) }
}

/// CR0 bits.
public struct CR0: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let protectionEnable = CR0(rawValue: 1 << 0)
    public static let monitorCoprocessor = CR0(rawValue: 1 << 1)
    public static let emulation = CR0(rawValue: 1 << 2)
    public static let taskSwitched = CR0(rawValue: 1 << 3)
    public static let extensionType = CR0(rawValue: 1 << 4)
    public static let numericError = CR0(rawValue: 1 << 5)
    public static let writeProtect = CR0(rawValue: 1 << 16)
    public static let alignmentMask = CR0(rawValue: 1 << 18)
    public static let notWriteThrough = CR0(rawValue: 1 << 29)
    public static let cacheDisable = CR0(rawValue: 1 << 30)
    public static let paging = CR0(rawValue: 1 << 31)
}

/// CR4 bits.
public struct CR4: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let vme = CR4(rawValue: 1 << 0)
    public static let pvi = CR4(rawValue: 1 << 1)
    public static let timeStampDisable = CR4(rawValue: 1 << 2)
    public static let debuggingExtensions = CR4(rawValue: 1 << 3)
    public static let pageSizeExtensions = CR4(rawValue: 1 << 4)
    public static let physicalAddressExtension = CR4(rawValue: 1 << 5)
    public static let machineCheck = CR4(rawValue: 1 << 6)
    public static let pageGlobalEnable = CR4(rawValue: 1 << 7)
    public static let performanceCounter = CR4(rawValue: 1 << 8)
    public static let osfxsr = CR4(rawValue: 1 << 9)
    public static let osxmmexcpt = CR4(rawValue: 1 << 10)
    public static let umip = CR4(rawValue: 1 << 11)
    public static let fsgsbase = CR4(rawValue: 1 << 16)
    public static let pcide = CR4(rawValue: 1 << 17)
    public static let osxsave = CR4(rawValue: 1 << 18)
    public static let smep = CR4(rawValue: 1 << 20)
    public static let smap = CR4(rawValue: 1 << 21)
}

/// IA32_EFER bits.
public struct EFER: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let syscallEnable = EFER(rawValue: 1 << 0)
    public static let longModeEnable = EFER(rawValue: 1 << 8)
    public static let longModeActive = EFER(rawValue: 1 << 10)
    public static let noExecuteEnable = EFER(rawValue: 1 << 11)
}

/// Model-specific register numbers the engine keeps itself.
public enum MSR {
    public static let tsc: UInt32 = 0x10
    public static let apicBase: UInt32 = 0x1B
    public static let sysenterCS: UInt32 = 0x174
    public static let sysenterESP: UInt32 = 0x175
    public static let sysenterEIP: UInt32 = 0x176
    public static let pat: UInt32 = 0x277
    public static let efer: UInt32 = 0xC000_0080
    public static let star: UInt32 = 0xC000_0081
    public static let lstar: UInt32 = 0xC000_0082
    public static let cstar: UInt32 = 0xC000_0083
    public static let sfmask: UInt32 = 0xC000_0084
    public static let fsBase: UInt32 = 0xC000_0100
    public static let gsBase: UInt32 = 0xC000_0101
    public static let kernelGSBase: UInt32 = 0xC000_0102
    public static let tscAux: UInt32 = 0xC000_0103
}

/// Whether a 64-bit value is a canonical 48-bit linear address.
@inlinable public func isCanonical(_ address: UInt64) -> Bool {
    let top = Int64(bitPattern: address) >> 47
    return top == 0 || top == -1
}
